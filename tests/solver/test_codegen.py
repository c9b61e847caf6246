"""Kernels generated from a model description: against the tree-walking NumPy reference, against an
independent ODE solver of the same model written by hand, a conducting wave, and the disk cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from solver.models.codegen import model_from_dict
from tests.solver.hh_definition import HH_DEFINITION, hh_rhs
from tests.solver.test_cuda import MODES as CUDA_MODES
from tests.solver.test_kernel_vs_reference import CHERIFF_LIKE, face_weights, tissue_mask

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _kernel_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("OPTOWAVE_KERNEL_CACHE", str(tmp_path_factory.getbasetemp() / "kernels"))


def _sheet(model, ny=12, nx=10, seed=3):
    rng = np.random.default_rng(seed)
    active = tissue_mask(ny, nx)
    wx, wy = face_weights(1000.0 * rng.uniform(0.5, 2.0, (ny, nx)), active, 10.0)
    y = np.zeros((model.n_state + 2, ny, nx))
    for k, s in enumerate(model.state_names):
        y[k] = model.rest_state()[s]
    y[0] += rng.uniform(-3.0, 3.0, (ny, nx))
    y[-2:] = rng.uniform(0.0, 0.2, (2, ny, nx))
    params = model.params_array()
    pidx = np.full(params.size, -1, np.int64)
    k = model.param_names.index("g_K")
    pidx[k] = 0
    pmaps = (params[k] * rng.uniform(0.8, 1.2, (ny, nx)))[None].copy()
    iext = np.zeros((ny, nx))
    iext[:4, nx // 2:] = -40.0
    flux = np.zeros((ny, nx))
    flux[:, : nx // 2] = 2.37e16
    args = (wx, wy, active, params, pidx, pmaps, iext, True, CHERIFF_LIKE.copy(), rng.uniform(0, 1, (ny, nx)), flux)
    return y, args


@pytest.mark.parametrize("order", [1, 2])
def test_generated_kernel_matches_the_tree_walking_reference(order):
    """Two calls of the generated numba kernel against the reference evaluated from the trees:
    gates of both forms, a derivative state, a parameter map, a mask, light on the opsin."""
    model = model_from_dict(HH_DEFINITION)
    y0, args = _sheet(model)
    dt = 0.01
    ya, yb = y0.copy(), y0.copy()
    for n in (30, 25):
        if model.kernel(ya, yb, n, dt, *args, order=order):
            ya, yb = yb, ya
    ref = y0.copy()
    for _ in range(55):
        ref = model.reference_step(ref, dt, *args, order=order)
    active = args[2] != 0
    assert np.abs(ref[0] - y0[0]).max() > 5.0  # the sheet moved
    rel = np.abs(ya - ref)[:, active].max() / np.abs(ref[:, active]).max()
    assert rel < 1e-12
    assert np.array_equal(ya[:, ~active], y0[:, ~active])  # cells outside the tissue never written


def test_single_cell_action_potential_against_an_independent_ode_solver():
    """A 1x1 sheet stimulated for 0.5 ms: V(t) of the exact kernel (second order, dt 2.5 µs) against
    solve_ivp on the hand-written 1952 equations."""
    model = model_from_dict(HH_DEFINITION)
    one = np.zeros((1, 1))
    base = (one, one, np.ones((1, 1), np.uint8), model.params_array(), np.full(7, -1, np.int64),
            np.zeros((0, 1, 1)))  # fmt: skip
    rest = model.rest_state()
    y0 = np.array([rest[s] for s in model.state_names])
    ya = y0.reshape(5, 1, 1).copy()
    yb = ya.copy()
    dt, stim_ms, total_ms = 0.0025, 0.5, 12.0
    trace = []
    t = 0.0
    while t < total_ms - 1e-9:
        iext = np.full((1, 1), -20.0 if t < stim_ms - 1e-9 else 0.0)
        model.kernel(ya, yb, 20, dt, *base, iext, False, np.zeros(10), one, one, order=2)
        t += 20 * dt
        trace.append((t, ya[0, 0, 0]))
    times, v = np.array(trace).T

    first = solve_ivp(lambda _t, y: hh_rhs(y, -20.0), (0, stim_ms), y0, rtol=1e-10, atol=1e-12)
    rest_run = solve_ivp(lambda _t, y: hh_rhs(y), (stim_ms, total_ms), first.y[:, -1], rtol=1e-10, atol=1e-12,
                         dense_output=True)  # fmt: skip
    keep = times > stim_ms
    v_ref = rest_run.sol(times[keep])[0]
    assert v_ref.max() > 30.0  # an action potential
    assert abs(v[keep].max() - v_ref.max()) < 0.5  # mV
    assert abs(times[keep][np.argmax(v[keep])] - times[keep][np.argmax(v_ref)]) <= 0.05  # ms
    assert np.abs(v[keep] - v_ref).max() < 3.0  # mV, on the steep upstroke a shift of a few µs


def test_a_wave_conducts_on_a_64_sheet():
    """A plane wave started at the left edge reaches the right edge, at a steady speed."""
    model = model_from_dict(HH_DEFINITION)
    ny = nx = 64
    dx, diff = 20.0, 1000.0  # µm, µm²/ms
    wx = np.full((ny, nx), diff / dx**2)
    wx[:, -1] = 0.0
    wy = np.full((ny, nx), diff / dx**2)
    wy[-1, :] = 0.0
    rest = model.rest_state()
    y = np.zeros((model.n_state, ny, nx))
    for k, s in enumerate(model.state_names):
        y[k] = rest[s]
    ya, yb = y, y.copy()
    zero = np.zeros((ny, nx))
    stim = zero.copy()
    stim[:, :3] = -50.0
    args = (wx, wy, np.ones((ny, nx), np.uint8), model.params_array(), np.full(7, -1, np.int64),
            np.zeros((0, ny, nx)))  # fmt: skip
    dt = 0.01
    arrival = np.full(nx, np.nan)
    for chunk in range(400):
        iext = stim if chunk < 10 else zero
        if model.kernel(ya, yb, 10, dt, *args, iext, False, np.zeros(10), zero, zero, order=2):
            ya, yb = yb, ya
        up = (ya[0].mean(axis=0) > 0.0) & np.isnan(arrival)
        arrival[up] = (chunk + 1) * 10 * dt
        if not np.isnan(arrival[-1]):
            break
    assert not np.isnan(arrival[-1]), "the wave did not reach the far edge"
    speeds = dx / np.diff(arrival[16:48])
    cv = np.polyfit(arrival[16:48], dx * np.arange(16, 48), 1)[0]  # µm/ms
    assert cv > 50.0 and np.all(np.isfinite(speeds))
    assert np.allclose(np.diff(arrival[16:48]).mean() * cv, dx, rtol=0.05)  # steady propagation


_SECOND_RUN = textwrap.dedent(
    """
    import json, sys, time, numpy as np
    sys.path.insert(0, ".")
    t0 = time.perf_counter()
    from tests.solver.hh_definition import HH_DEFINITION
    from solver.models.codegen import model_from_dict
    model = model_from_dict(HH_DEFINITION)
    one = np.zeros((2, 2))
    ya = np.zeros((5, 2, 2)); ya[0] = -65.0
    t1 = time.perf_counter()
    model.kernel(ya, ya.copy(), 3, 0.01, one, one, np.ones((2, 2), np.uint8), model.params_array(),
                 np.full(7, -1, np.int64), np.zeros((0, 2, 2)), one, False, np.zeros(10), one, one)
    print("RESULT " + json.dumps({"first_call_s": time.perf_counter() - t1}))
    """
)


def test_a_second_process_compiles_nothing(tmp_path):
    """The generated module and numba's machine code are kept by content hash: the first call of the
    kernel in a second process loads them (loosely bounded: < 2 s; a compile takes several)."""
    env = {**os.environ, "OPTOWAVE_KERNEL_CACHE": str(tmp_path)}
    times = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", _SECOND_RUN], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        assert proc.returncode == 0, proc.stderr[-3000:]
        times.append(json.loads(proc.stdout.split("RESULT ", 1)[1])["first_call_s"])
    assert len(list(tmp_path.glob("model_hh_squid_axon_*.py"))) == 1
    assert list(tmp_path.glob("__pycache__/*.nbi"))  # numba's index beside the generated file
    assert times[1] < 2.0 and times[1] < times[0] / 3, times


_CUDA = textwrap.dedent(
    """
    import json, sys, numpy as np
    sys.path.insert(0, ".")
    from solver.engine.backends import CudaStepper
    from solver.models.codegen import model_from_dict
    from tests.solver.hh_definition import HH_DEFINITION
    from tests.solver.test_codegen import _sheet

    class P:  # the little of a Problem that CudaStepper reads
        def __init__(self, model): self.model = model

    model = model_from_dict(HH_DEFINITION)
    out = {}
    for dtype in (np.float64, np.float32):
        for order in (1, 2):
            y0, args = _sheet(model, ny=8, nx=6)
            y0 = y0.astype(dtype)
            cpu_a, cpu_b, gpu_a, gpu_b = y0.copy(), y0.copy(), y0.copy(), y0.copy()
            step = CudaStepper(P(model))
            for n in (12, 9):
                if model.kernel(cpu_a, cpu_b, n, 0.01, *args, order=order):
                    cpu_a, cpu_b = cpu_b, cpu_a
                assert step(gpu_a, gpu_b, n, 0.01, *args, order=order) == 0
            active = args[2] != 0
            out[f"{dtype.__name__} {order}"] = {
                "rel": float(np.abs(gpu_a - cpu_a)[:, active].max() / np.abs(cpu_a[:, active]).max()),
                "outside_untouched": bool(np.array_equal(gpu_a[:, ~active], y0[:, ~active])),
                "moved": float(np.abs(cpu_a[0] - y0[0]).max()),
            }
    print("RESULT " + json.dumps(out))
    """
)


@pytest.mark.parametrize("mode", CUDA_MODES)
def test_generated_cuda_kernel_matches_the_cpu_kernel(mode, tmp_path):
    """The numba.cuda kernel generated from the description, launched by the CUDA stepper under numba's
    simulator (in a subprocess: the simulator must be chosen before numba.cuda is imported) and, where a GPU
    is present, on it, against the generated CPU kernel: both orders, both precisions, opsin, maps and mask."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env["OPTOWAVE_KERNEL_CACHE"] = str(tmp_path)
    if mode == "simulator":
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    proc = subprocess.run([sys.executable, "-c", _CUDA], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert len(out) == 4
    for key, r in out.items():
        assert r["moved"] > 1.0 and r["outside_untouched"], key
        assert r["rel"] < (1e-12 if key.startswith("float64") else 1e-5), (key, r)


_UNPICKLE = textwrap.dedent(
    """
    import pickle, sys, numpy as np
    sys.path.insert(0, ".")
    model, y0, args = pickle.load(sys.stdin.buffer)
    ya, yb = y0.copy(), y0.copy()
    parity = model.kernel(ya, yb, 7, 0.01, *args, order=2)
    np.save(sys.stdout.buffer, yb if parity else ya)
    """
)


def test_a_generated_model_travels_as_its_description(tmp_path):
    """Pickled (as Dask ships a Problem to its workers), a generated model is rebuilt from its description
    in the receiving process, whose kernel gives the same state to the bit."""
    import io
    import pickle

    model = model_from_dict(HH_DEFINITION)
    assert pickle.loads(pickle.dumps(model)) is model  # rebuilt: the same cached object in this process
    y0, args = _sheet(model, ny=6, nx=5)
    env = {**os.environ, "OPTOWAVE_KERNEL_CACHE": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", _UNPICKLE], cwd=ROOT, env=env, input=pickle.dumps((model, y0, args)),
                          capture_output=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    ya, yb = y0.copy(), y0.copy()
    here = yb if model.kernel(ya, yb, 7, 0.01, *args, order=2) else ya
    np.testing.assert_array_equal(np.load(io.BytesIO(proc.stdout)), here)
    assert list(tmp_path.glob("model_hh_squid_axon_*.py"))  # generated there, not unpickled as code
