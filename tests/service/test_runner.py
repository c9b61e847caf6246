"""The chunked runner: chunked == one-piece bit for bit, and a run survives a killed worker or process.

The reference is always the one-piece in-memory run (``solver.simulate``): every variable of the
chunked store (samples, camera frames, analysis maps), its coordinates and attributes must equal it
bit for bit, and every stored chunk must match the CRC32C its chunk's record holds. Two chunked
stores of the same plan must be equal file for file.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import solver
from clients.cli import main as cli_main
from service.runner import RunnerError, dask_client, final_state, open_job, run_job, runner_dir_for
from solver.spec import SpecError
from tests.specs import small_hek_spec

ROOT = Path(__file__).resolve().parents[2]


def wave_spec(duration_ms: float = 12.0, n: int = 20, **over) -> dict:
    """Aliev-Panfilov sheet, a current pulse on the left edge: a wave crosses the sheet."""
    strip = {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 1.5, "y": n * 0.5}}}
    spec = {
        "name": "runner-test", "grid": {"nx": n, "ny": n, "dx_um": 0.5},
        "tissue": {"model": {"preset": "aliev_panfilov"}}, "coupling": {"diffusivity_um2_per_ms": 1.0},
        "current": [{"pattern": strip, "waveform": {"pulse": {"start_ms": 1.03, "width_ms": 1.0}},
                     "amplitude_a_per_f": -0.5}],
        "numerics": {"dt_ms": 0.02, "duration_ms": duration_ms},
        "output": {"sample_interval_ms": 0.5, "variables": ["v", "w"]},
    }
    spec.update(over)
    return spec


def hek_spec() -> dict:
    """The HEK sheet with a light pulse that switches on and off inside chunks (irradiance, opsin stored)."""
    return small_hek_spec(
        light=[{"pattern": {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 30, "y": 100}}},
                "waveform": {"pulse": {"start_ms": 0.33, "width_ms": 1.27}}, "irradiance_mw_per_mm2": 5.0}],
        numerics={"dt_ms": 0.02, "duration_ms": 3.0},
        output={"sample_interval_ms": 0.2, "variables": ["v", "irradiance", "opsin_o"]})


def store_files(root: Path) -> dict[str, bytes]:
    """Every file of a store, by relative path (Zarr metadata and encoded chunks)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def one_piece(spec: dict, *_ignored) -> xr.Dataset:
    """The uncut in-process run, in memory."""
    return solver.simulate(spec)


def assert_same_store(a, b: Path) -> None:
    """``b`` (a chunked run's store) equals ``a``: a store of the same plan file for file, or the one-piece
    Dataset variable for variable, bit for bit; and ``b``'s chunks match their recorded CRC32C."""
    if isinstance(a, xr.Dataset):
        got = xr.open_zarr(b).load()
        assert sorted(got.variables) == sorted(a.variables)
        for name in a.variables:
            assert got[name].dims == a[name].dims, name
            assert got[name].dtype == a[name].dtype, name
            np.testing.assert_array_equal(got[name].values, a[name].values, err_msg=name)
            assert got[name].attrs == a[name].attrs, name
        assert got.attrs == a.attrs
    else:
        fa, fb = store_files(a), store_files(b)
        assert sorted(fa) == sorted(fb)
        different = [k for k in fa if fa[k] != fb[k]]
        assert not different, f"files differ: {different}"
    assert_chunks_match_records(b)


def assert_chunks_match_records(store: Path) -> None:
    """Every chunk file of ``store`` is in a record, with the CRC32C of its bytes."""
    import google_crc32c

    recorded = {}
    for rec in sorted((runner_dir_for(store) / "records").glob("*.json")):
        recorded.update(json.loads(rec.read_text())["written"])
    chunks = {k: v for k, v in store_files(store).items() if "/c/" in k or k.endswith("/c")}
    assert sorted(chunks) == sorted(recorded)
    assert all(google_crc32c.value(chunks[k]) == recorded[k] for k in chunks)


@pytest.fixture(scope="module", autouse=True)
def one_numba_thread():
    """Tiny sheets: one numba thread is fastest, and steadier on a shared 2-core machine."""
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2, numba_threads=1) as c:
        yield c


# ---------------------------------------------------------------- chunked == one piece


@pytest.mark.parametrize("chunk_ms", [0.5, 1.5, 2.5, 12.0])
def test_chunked_run_equals_one_piece_bit_for_bit(tmp_path, chunk_ms):
    spec = wave_spec()
    ref = one_piece(spec, tmp_path / "ref.zarr", chunk_ms)
    job = open_job(spec, tmp_path / "run.zarr", chunk_ms=chunk_ms)
    events = list(job.events())
    assert job.n_chunks == int(np.ceil(12.0 / chunk_ms)) == len(events)
    assert_same_store(ref, tmp_path / "run.zarr")
    # the comparison is not between two resting sheets: the wave crossed it
    v = xr.open_zarr(tmp_path / "run.zarr").v.values
    assert v[:, :, -1].max() > 0.9 and v[0].max() < 0.01
    # Zarr chunk k along time is time chunk k
    enc = xr.open_zarr(tmp_path / "run.zarr").v.encoding
    assert enc["chunks"][0] == min(round(chunk_ms / 0.5), 25)


def test_chunked_hek_light_run_equals_one_piece(tmp_path):
    """HEK state with the opsin, light switching inside chunks, three stored variables.

    In process: the worker path is the same chunk function (tested on Dask below with a generic
    medium, whose kernel each worker loads from numba's cache instead of compiling)."""
    for chunk_ms in (0.4, 1.2):
        ref = one_piece(hek_spec(), tmp_path / f"ref{chunk_ms}.zarr", chunk_ms)
        result = run_job(hek_spec(), tmp_path / f"run{chunk_ms}.zarr", chunk_ms=chunk_ms)
        assert result.chunks_run == result.n_chunks == int(np.ceil(3.0 / chunk_ms))
        assert_same_store(ref, tmp_path / f"run{chunk_ms}.zarr")
    irr = xr.open_zarr(tmp_path / "run0.4.zarr").irradiance.values
    assert irr.max() == 5.0 and irr[0].max() == 0.0   # the light did switch on


def test_dask_and_in_process_stores_are_identical(tmp_path, client):
    """The same store from this process, from the API on Dask, and from `optowave run --scheduler`."""
    run_job(wave_spec(), tmp_path / "local.zarr", chunk_ms=2.0)
    run_job(wave_spec(), tmp_path / "dask.zarr", chunk_ms=2.0, client=client)
    assert_same_store(tmp_path / "local.zarr", tmp_path / "dask.zarr")
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(wave_spec()))
    assert cli_main(["run", str(spec_file), "-o", str(tmp_path / "cli.zarr"), "--chunk-ms", "2",
                     "--scheduler", client.scheduler.address, "--quiet"]) == 0
    assert_same_store(tmp_path / "local.zarr", tmp_path / "cli.zarr")


def test_progress_events_report_time_rate_and_eta(tmp_path):
    events = []
    result = run_job(wave_spec(), tmp_path / "p.zarr", chunk_ms=3.0, on_progress=events.append)
    assert [e.chunk for e in events] == [0, 1, 2, 3]
    assert [e.t_ms for e in events] == pytest.approx([3.0, 6.0, 9.0, 12.0])
    assert all(e.cell_steps_per_s > 0 for e in events)
    assert events[-1].eta_s == 0.0 and events[-1].fraction == 1.0
    # the rate is tissue cells × steps over wall time
    assert events[-1].cell_steps_per_s == pytest.approx(400 * 600 / events[-1].elapsed_s)
    assert result.resumed_from == 0 and result.chunks_run == 4


# ---------------------------------------------------------------- a killed worker


class KillWorkerOnce:
    """Chunk hook: SIGKILL the worker process running chunk ``chunk`` after its samples are written
    (before the checkpoint and the commit), the first time only (a marker file remembers)."""

    def __init__(self, marker: Path, chunk: int):
        self.marker, self.chunk = str(marker), chunk

    def __call__(self, k: int, stage: str) -> None:
        if k == self.chunk and stage == "written" and not os.path.exists(self.marker):
            Path(self.marker).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)


def test_worker_killed_during_a_chunk_the_job_completes_identical(tmp_path, client):
    spec = wave_spec()
    ref = one_piece(spec, tmp_path / "ref.zarr", 1.5)
    pids_before = set(client.run(os.getpid).values())
    marker = tmp_path / "killed"
    job = open_job(spec, tmp_path / "run.zarr", chunk_ms=1.5)
    events = list(job.events(client, hook=KillWorkerOnce(marker, chunk=3)))
    assert marker.exists(), "the hook never killed a worker"
    assert int(marker.read_text()) in pids_before          # a real worker process died ...
    assert [e.chunk for e in events] == list(range(8))     # ... and every chunk still committed once, in order
    assert job.done
    assert_same_store(ref, tmp_path / "run.zarr")


# ---------------------------------------------------------------- the running process killed


def _cli(*args: str) -> subprocess.Popen:
    path = os.pathsep.join([str(ROOT / "protos"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "NUMBA_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "clients.cli", "run", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_once_committed(proc: subprocess.Popen, commit: Path, chunk: int, *, timeout: float) -> int:
    """SIGKILL ``proc`` once its commit record names chunk ``chunk`` or later; return the last committed chunk."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads(commit.read_text())["chunk"] >= chunk:
                break
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            pass
        time.sleep(0.002)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.communicate()}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return json.loads(commit.read_text())["chunk"]


def test_killed_process_resumes_from_last_committed_chunk(tmp_path):
    spec = wave_spec(duration_ms=30.0, n=24)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    store = tmp_path / "run.zarr"
    commit = runner_dir_for(store) / "commit.json"
    chunk_ms, n_chunks = 0.5, 60

    proc = _cli(str(spec_file), "-o", str(store), "--chunk-ms", str(chunk_ms), "--quiet")
    last = kill_once_committed(proc, commit, 3, timeout=60)
    assert 3 <= last < n_chunks - 1, "killed mid-run, after some chunks committed"
    assert open_job(spec, store, chunk_ms=chunk_ms).next_chunk == last + 1

    out, err = _cli(str(spec_file), "-o", str(store), "--chunk-ms", str(chunk_ms), "--quiet").communicate(timeout=120)
    assert f"resuming from chunk {last + 1} of {n_chunks}" in out, (out, err)
    assert_same_store(one_piece(spec, tmp_path / "ref.zarr", chunk_ms), store)

    # a finished job is not run again
    out, _ = _cli(str(spec_file), "-o", str(store), "--chunk-ms", str(chunk_ms), "--quiet").communicate(timeout=60)
    assert "already complete" in out


# ---------------------------------------------------------------- continuing from another run


def test_run_continues_from_another_runs_final_state(tmp_path):
    """Pre-pace, then continue: the second run is the second half of the uncut run, bit for bit."""
    first = wave_spec(duration_ms=6.0)
    whole = wave_spec(duration_ms=12.0)
    then = wave_spec(duration_ms=6.0, current=[])  # the pulse ended at 2.03 ms: no stimulus in the second half
    run_job(first, tmp_path / "first.zarr", chunk_ms=3.0)
    run_job(then, tmp_path / "then.zarr", chunk_ms=2.0, initial_state=tmp_path / "first.zarr")
    a = xr.open_zarr(tmp_path / "then.zarr")
    b = solver.simulate(whole)
    for name in ("v", "w"):
        np.testing.assert_array_equal(a[name].values, b[name].sel(time=slice(6.0, None)).values)
    assert a.attrs["initial_state_from"] == str(tmp_path / "first.zarr")
    assert final_state(tmp_path / "then.zarr").step == 300


def test_continue_rejects_a_state_of_another_shape_or_an_unfinished_run(tmp_path):
    run_job(wave_spec(n=20), tmp_path / "a.zarr", chunk_ms=3.0)
    with pytest.raises(RunnerError, match=r"has shape \(2, 20, 20\).*needs \(2, 16, 16\)"):
        open_job(wave_spec(n=16), tmp_path / "b.zarr", initial_state=tmp_path / "a.zarr")
    open_job(wave_spec(), tmp_path / "c.zarr", chunk_ms=3.0)  # created, nothing run
    with pytest.raises(RunnerError, match=r"not finished \(0 of 4 chunks committed\)"):
        open_job(wave_spec(), tmp_path / "d.zarr", initial_state=tmp_path / "c.zarr")


# ---------------------------------------------------------------- what the runner refuses


def test_chunk_that_is_not_whole_samples_is_rejected_naming_the_field(tmp_path):
    with pytest.raises(SpecError) as info:
        open_job(wave_spec(), tmp_path / "r.zarr", chunk_ms=0.7)
    [v] = info.value.violations
    assert v.field == "numerics.chunk_ms"
    assert "0.7 ms is not a whole number of output samples (output.sample_interval_ms = 0.5 ms)" in v.description
    with pytest.raises(SpecError, match=r"numerics.chunk_ms: 0.013 ms is not a whole number of steps"):
        open_job(wave_spec(), tmp_path / "r.zarr", chunk_ms=0.013)


def test_store_of_another_job_is_not_overwritten_silently(tmp_path):
    run_job(wave_spec(), tmp_path / "s.zarr", chunk_ms=3.0)
    with pytest.raises(RunnerError, match="holds a different job"):
        open_job(wave_spec(duration_ms=6.0), tmp_path / "s.zarr")
    job = open_job(wave_spec(duration_ms=6.0), tmp_path / "s.zarr", chunk_ms=3.0, overwrite=True)
    assert job.next_chunk == 0 and job.n_chunks == 2


def test_blow_up_stops_the_job_at_the_failing_chunk(tmp_path):
    """A run that blows up raises SimulationError; the chunks before it stay committed."""
    spec = wave_spec(current=[{**wave_spec()["current"][0], "amplitude_a_per_f": -240.0}])
    job = open_job(spec, tmp_path / "b.zarr", chunk_ms=0.5)
    with pytest.raises(solver.SimulationError, match=r"blew up at t = 1\.\d+ ms"):
        job.run()
    assert job.next_chunk == 2   # chunks 0 and 1 (0-1 ms) committed; the pulse starts at 1.03 ms


def test_chunk_of_a_superseded_attempt_does_not_write(tmp_path):
    """A chunk task left running by a dead driver stops once a new attempt owns the job."""
    job = open_job(wave_spec(), tmp_path / "o.zarr", chunk_ms=3.0)
    stale = job.events()
    assert next(stale).chunk == 0         # the first attempt commits chunk 0 ...
    fresh = job.events()
    assert next(fresh).chunk == 1         # ... a new attempt takes the job over and commits chunk 1
    with pytest.raises(RunnerError, match="taken over by another attempt"):
        next(stale)
    assert [e.chunk for e in fresh] == [2, 3]
    assert_same_store(one_piece(wave_spec(), tmp_path / "ref.zarr", 3.0), tmp_path / "o.zarr")


# ---------------------------------------------------------------- the camera and the analysis, chunked


def camera_spec(duration_ms: float = 30.0) -> dict:
    """A HEK strip lit at its left end: a wave crosses it and the camera films it (noise, bleaching,
    binning, a PSF and an exposure shorter than the frame), and the analysis measures V and dF/F."""
    return small_hek_spec(
        grid={"nx": 40, "ny": 8, "dx_um": 10.0},
        light=[{"pattern": {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 40, "y": 80}}},
                "waveform": {"pulse": {"start_ms": 6.0, "width_ms": 3.0}}, "irradiance_mw_per_mm2": 5.0}],
        numerics={"dt_ms": 0.02, "duration_ms": duration_ms},
        output={"sample_interval_ms": 0.2, "variables": ["v"]},
        readout={"enabled": True, "dye": {"bleach_tau_ms": 400.0},
                 "camera": {"frame_rate_hz": 1000.0, "exposure_ms": 0.8, "binning": 2, "psf_sigma_um": 8.0}},
        seed=7)


@pytest.mark.parametrize("chunk_ms", [1.0, 2.4, 7.0])
def test_camera_and_maps_of_a_chunked_run_equal_the_uncut_run(tmp_path, chunk_ms):
    """Chunks that end inside exposures, and store chunks of frames that straddle them (7 ms: 7 frames)."""
    spec = camera_spec()
    ref = one_piece(spec)
    result = run_job(spec, tmp_path / "run.zarr", chunk_ms=chunk_ms)
    assert result.n_chunks == int(np.ceil(30.0 / chunk_ms)) > 1
    assert_same_store(ref, tmp_path / "run.zarr")
    got = xr.open_zarr(tmp_path / "run.zarr")
    # what is compared is a filmed wave and measured maps, not empty arrays
    assert got.sizes["frame"] == 30 and np.isfinite(got.dff.values).all()
    assert float(got.dff.max()) > 0.15                  # the 24 %/100 mV dye saw ~110 mV upstrokes
    act = got.activation_time.values
    assert np.isfinite(act).all() and np.all(np.diff(act.mean(axis=0)) > 0)   # the wave travelled left to right
    assert np.isfinite(got.dff_activation_time.values).all()
    assert got.attrs["optowave_complete"] is True


def test_camera_run_on_dask_with_a_worker_killed_equals_the_uncut_run(tmp_path, client):
    spec = camera_spec()
    marker = tmp_path / "killed"
    job = open_job(spec, tmp_path / "run.zarr", chunk_ms=3.0)
    events = list(job.events(client, hook=KillWorkerOnce(marker, chunk=4)))
    assert marker.exists() and [e.chunk for e in events] == list(range(10))
    assert_same_store(one_piece(spec), tmp_path / "run.zarr")


def test_camera_run_killed_and_resumed_equals_the_uncut_run(tmp_path):
    spec = camera_spec(duration_ms=40.0)
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    store = tmp_path / "run.zarr"
    commit = runner_dir_for(store) / "commit.json"
    proc = _cli(str(spec_file), "-o", str(store), "--chunk-ms", "0.4", "--quiet")
    last = kill_once_committed(proc, commit, 20, timeout=90)
    assert 20 <= last < 99
    assert xr.open_zarr(store).attrs["optowave_complete"] is False       # a partial store says so
    out, err = _cli(str(spec_file), "-o", str(store), "--chunk-ms", "0.4", "--quiet").communicate(timeout=180)
    assert f"resuming from chunk {last + 1} of 100" in out, (out, err)
    assert_same_store(one_piece(spec), store)


def test_a_rewritten_checkpoint_is_never_continued_from(tmp_path):
    """V + 5 mV in the checkpoint: resuming fails naming the file; nothing is written from it."""
    from service.runner import RunnerError
    from solver.engine.job import decode_checkpoint, encode_checkpoint

    spec = camera_spec(duration_ms=6.0)
    job = open_job(spec, tmp_path / "t.zarr", chunk_ms=2.0)
    events = job.events()
    next(events)
    events.close()
    rdir = runner_dir_for(tmp_path / "t.zarr")
    name = json.loads((rdir / "commit.json").read_text())["checkpoint"]
    state, trackers = decode_checkpoint((rdir / name).read_bytes())
    state.y[0] += 5.0
    (rdir / name).write_bytes(encode_checkpoint(state, trackers))
    with pytest.raises(RunnerError, match=rf"checkpoint .*{name} does not match the SHA-256 recorded"):
        list(open_job(spec, tmp_path / "t.zarr", chunk_ms=2.0).events())
    assert json.loads((rdir / "commit.json").read_text())["chunk"] == 0
