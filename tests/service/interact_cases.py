"""What the tests of ``Interact`` share: a real server on loopback with two clients' tokens and a short grace
period, a small filmed sheet, a TCP forwarder that can cut the link, a command script, and comparisons."""
from __future__ import annotations


import numpy as np
import pytest
import xarray as xr

from clients import Client
from service.interact import InteractLimits
from service.server._app import ServerConfig, _ThreadedServer
from solver.stimulus import light
from tests.specs import small_hek_spec

TOKENS = {"token-of-lab-a-0123456789": "lab-a", "token-of-lab-b-0123456789": "lab-b"}
TOKEN_A, TOKEN_B = list(TOKENS)


GRACE_S = 3.0


QUEUE_FRAMES = 4


PERIOD_MS = 1.0                   # 1000 frames/s: 50 steps of 0.02 ms


DISK = {"disk": {"center_um": {"x": 80, "y": 80}, "radius_um": 30}}


SPOT = {"disk": {"center_um": {"x": 40, "y": 120}, "radius_um": 20}}


def live_spec(duration_ms: float = 14.0, **over) -> dict:
    """A 16×16 sheet filmed at 1000 frames/s, no light of its own, sampled every step (v and irradiance)."""
    return small_hek_spec(**{"grid": {"nx": 16, "ny": 16, "dx_um": 10.0}, "light": [],
                             "numerics": {"dt_ms": 0.02, "duration_ms": duration_ms},
                             "readout": {"enabled": True, "camera": {"frame_rate_hz": 1000.0}},
                             "output": {"variables": ["v", "irradiance"], "sample_interval_ms": 0.02}, **over})


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    config = ServerConfig(listen="127.0.0.1:0", data_dir=tmp_path_factory.mktemp("interact-server"), workers=0,
                          tokens=TOKENS, interact=InteractLimits(grace_s=GRACE_S, queue_frames=QUEUE_FRAMES))
    threaded = _ThreadedServer(config)
    threaded.start()
    yield threaded
    threaded.stop()


@pytest.fixture
def client(server):
    with Client(server.server.address, token=TOKEN_A) as c:
        yield c


def drive(session, script: dict, n_frames: int) -> list[xr.Dataset]:
    """Film ``n_frames`` frames; after frame k, the commands ``script[k]`` (the same on either kind of session)."""
    frames = []
    for k in range(n_frames):
        frames.append(session.next_frame())
        for command in script.get(k, ()):
            if command is None:
                session.clear_light()
            else:
                session.set_light(*command)
    return frames


#: Commands at irregular frames: a disk, a raster on the camera's pixels, a clear, two commands in one frame
#: (the second replaces the first), the same light again (changes nothing), a shape made in Python.
RASTER = np.zeros((16, 16))
RASTER[2:6, 3:9] = 0.75


SCRIPT = {1: [(DISK, 0.8)], 4: [(RASTER, 1.5)], 5: [None], 7: [(SPOT, 2.0), (DISK, 0.5)], 8: [(DISK, 0.5)],
          10: [(light.disk((40.0, 120.0), 20.0), 1.0)]}     # a shape of solver.stimulus.light


def assert_same_frames(a: list[xr.Dataset], b: list[xr.Dataset]) -> None:
    assert len(a) == len(b)
    for fa, fb in zip(a, b):
        assert fa.attrs["frame"] == fb.attrs["frame"] and fa.attrs["time_ms"] == fb.attrs["time_ms"]
        assert set(fa.data_vars) == set(fb.data_vars)
        for name in fa.data_vars:
            np.testing.assert_array_equal(fa[name].values, fb[name].values, err_msg=f"frame {fa.attrs['frame']} {name}")
        for name in ("cam_y", "cam_x"):
            np.testing.assert_array_equal(fa[name].values, fb[name].values)


def assert_same_result(a: xr.Dataset, b: xr.Dataset) -> None:
    for name in ("v", "irradiance", "dff", "fluorescence", "activation_time"):
        np.testing.assert_array_equal(np.asarray(a[name].values), np.asarray(b[name].values), err_msg=name)
