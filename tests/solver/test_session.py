"""The closed loop in process: a session's record replays bit for bit, commands land on frame boundaries."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import xarray as xr

import solver
from solver.session import SessionError

from tests.specs import small_hek_spec

FRAME_RATE_HZ = 200.0           # a 5 ms frame: 250 steps of 0.02 ms, not a multiple of the camera's 12-step look
FRAME_STEPS = 250


def _spec(**over) -> dict:
    base = {"grid": {"nx": 32, "ny": 32, "dx_um": 10.0},
            "numerics": {"dt_ms": 0.02, "duration_ms": 60.0},
            "readout": {"enabled": True, "camera": {"frame_rate_hz": FRAME_RATE_HZ, "binning": 2}},
            "output": {"variables": ["v", "irradiance", "opsin_o"], "sample_interval_ms": 1.0}}
    return small_hek_spec(**{**base, **over})


DISK = {"disk": {"center_um": {"x": 160, "y": 160}, "radius_um": 60}}
BAR = {"rectangle": {"min_um": {"x": 200, "y": 0}, "max_um": {"x": 320, "y": 320}}}


def _assert_same(live, replay):
    assert set(live.variables) == set(replay.variables)
    for name in live.variables:
        a, b = live[name].values, replay[name].values
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), f"{name} differs from the replay"
    assert live.attrs == replay.attrs


def test_a_session_replayed_from_its_record_is_bit_identical_and_its_live_frames_are_the_stored_ones():
    spec = _spec()
    spec["light"] = []          # no light of its own: the ΔF/F baseline is the frames before the first command
    with solver.Session(spec, include_v=True) as s:
        assert s.shape == (16, 16) and s.frame_period_ms == 5.0
        assert FRAME_STEPS % s._camera_every != 0, "the frames must end between the camera's looks (look-ahead)"
        frames = []
        for k in range(9):
            frames.append(s.next_frame())
            if k == 3:
                s.set_light(DISK, 1.0)                        # a shape
            elif k == 4:
                pixels = np.zeros(s.shape)
                pixels[2:6, 9:14] = 0.75
                s.set_light(pixels, 2.0, name="array")        # a 2-D array on the camera's pixels
            elif k == 6:
                s.clear_light()
            elif k == 7:
                s.set_light(BAR, 0.5)                         # a second shape, replaced before it takes effect
                s.set_light(BAR, 0.8)
        assert [c["frame"] for c in s.commands] == [4, 5, 7, 8]
        record = s.recorded_spec()
        live = s.finish()
    assert record["numerics"]["duration_ms"] == 45.0
    assert [(w["waveform"]["pulse"]["start_ms"], w["waveform"]["pulse"]["width_ms"]) for w in record["light"]] == \
        [(20.0, 5.0), (25.0, 10.0), (40.0, 5.0)]
    replay = solver.simulate(record)
    _assert_same(live, replay)

    # what the controller saw is what was stored: counts always, ΔF/F once the baseline is known (frames 0-3, before
    # the first command)
    assert [f.attrs["f0_method"] for f in frames] == ["provisional"] * 4 + ["first_frames"] * 5
    assert live.sizes["frame"] == 8           # frame 8 ends at step 2250, between the camera's looks at 2244 and 2256
    for f in frames[: live.sizes["frame"]]:
        k = f.attrs["frame"]
        assert np.array_equal(f.fluorescence.values, live.fluorescence.values[k])
        if f.attrs["f0_method"] != "provisional":
            assert np.array_equal(f.dff.values, live.dff.values[k], equal_nan=True)
    assert np.array_equal(frames[-1].v.values, live.v.sel(time=45.0).values)
    # the array pattern lit the grid cells under its camera pixels (binning 2), at its irradiance
    irr = live.irradiance.sel(time=26.0).values
    assert np.array_equal(irr[4:12, 18:28], np.full((8, 10), 1.5, np.float32))
    assert irr.sum() == pytest.approx(1.5 * 80)


def test_a_command_takes_effect_exactly_at_the_next_frame_start():
    spec = _spec(numerics={"dt_ms": 0.02, "duration_ms": 20.0},
                 output={"variables": ["irradiance", "opsin_o"], "sample_interval_ms": 0.02})
    spec["light"] = []
    with solver.Session(spec) as s:
        for _ in range(2):
            s.next_frame()                           # frames 0 and 1
        s.set_light(DISK, 1.0)                       # after frame k = 1
        assert s.commands == [{"frame": 2, "time_ms": 10.0, "pattern": DISK, "irradiance": 1.0}]
        s.next_frame()
        ds = s.finish()
    on_step = 2 * FRAME_STEPS
    centre = ds.isel(y=16, x=16)
    irr = centre.irradiance.values
    assert irr[on_step - 1] == 0.0 and irr[on_step] == 1.0
    # on until the run's end (the last sample holds the light of the step after the run: the record ends there)
    assert np.all(irr[:on_step] == 0.0) and np.all(irr[on_step:-1] == 1.0) and irr[-1] == 0.0
    # the opsin sees it from that step: dark-adapted until then, opening after
    o = centre.opsin_o.values
    assert np.all(o[: on_step + 1] == o[0])
    assert o[on_step + 1] > o[0]


def test_live_frames_have_the_job_s_baseline_when_the_spec_lights_first(tmp_path):
    with solver.Session(_spec(numerics={"dt_ms": 0.02, "duration_ms": 15.0})) as s:   # own light at 1 ms
        frames = [s.next_frame() for _ in range(2)]
        s.set_light(BAR, 0.5)                                    # commands after the spec's own light
        frames.append(s.next_frame())
        record = s.recorded_spec()
        ds = s.finish(tmp_path / "live.zarr")
    assert {f.attrs["f0_method"] for f in frames} == {"reference"}
    for f in frames[: ds.sizes["frame"]]:
        assert np.array_equal(f.dff.values, ds.dff.values[f.attrs["frame"]], equal_nan=True)
    # the store on disk is the job's too, the spec's light and the command in one program
    assert [x.get("name") for x in record["light"]] == [None, "command 0 at frame 2"]
    _assert_same(xr.open_zarr(tmp_path / "live.zarr", consolidated=False).load(), solver.simulate(record))


def test_a_command_from_another_thread_waits_for_the_frame_in_flight():
    spec = _spec(numerics={"dt_ms": 0.02, "duration_ms": 15.0})
    with solver.Session(spec) as s:
        s.next_frame()
        inside = threading.Event()
        film = s._frame

        def frame(k):          # frame 1 is being computed: the other thread sends its command now
            inside.set()
            return film(k)

        s._frame = frame
        sender = threading.Thread(target=lambda: (inside.wait(10), s.set_light(DISK, 1.0)))
        sender.start()
        s.next_frame()
        sender.join(10)
        assert s.commands == [{"frame": 2, "time_ms": 10.0, "pattern": DISK, "irradiance": 1.0}]


def test_a_session_needs_the_camera_and_a_frame_period_of_whole_steps():
    spec = _spec()
    spec["readout"]["enabled"] = False
    with pytest.raises(solver.SpecError, match="readout.enabled: false is not allowed"):
        solver.Session(spec)
    spec = _spec(readout={"enabled": True, "camera": {"frame_rate_hz": 300.0}})
    with pytest.raises(solver.SpecError, match=r"readout.camera.frame_rate_hz: 300 Hz .* 3.33333 ms, must be a whole "
                                               r"number of steps of numerics.dt_ms = 0.02 ms"):
        solver.Session(spec)


def test_bad_commands_are_refused_naming_the_field_and_the_run_ends_at_its_duration():
    with solver.Session(_spec(numerics={"dt_ms": 0.02, "duration_ms": 10.0})) as s:
        with pytest.raises(solver.SpecError, match=r"pattern: an array of shape \[32, 32\] is not allowed; .* "
                                                   r"shape \[16, 16\]"):
            s.set_light(np.ones((32, 32)), 1.0)
        with pytest.raises(solver.SpecError, match=r"pattern: weight 1.5 at camera pixel \(row 0, column 0\)"):
            s.set_light(np.full((16, 16), 1.5), 1.0)
        with pytest.raises(solver.SpecError, match=r"irradiance_mw_per_mm2: -1.0 mW/mm² is not allowed"):
            s.set_light(DISK, -1.0)
        with pytest.raises(solver.SpecError, match=r"pattern.disk.radius_um"):
            s.set_light({"disk": {"center_um": {"x": 1, "y": 1}, "radius_um": -3}}, 1.0)
        with pytest.raises(SessionError, match="no frame has run yet"):
            s.recorded_spec()
        s.next_frame(), s.next_frame()
        with pytest.raises(SessionError, match="numerics.duration_ms = 10 ms holds 2 frames"):
            s.next_frame()
        assert s.commands == []
    with pytest.raises(SessionError, match="closed"):
        s.next_frame()
