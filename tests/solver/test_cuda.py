"""The CUDA kernels against the CPU exact kernels, on tiny sheets, for every model.

numba picks the simulator once, when numba.cuda is first imported, so each check runs in a
subprocess with ``NUMBA_ENABLE_CUDASIM=1`` set before that import: the simulator never leaks into
this test session. Where a CUDA GPU is present the same checks run a second time, for real.
The simulator runs every thread as Python: the sheets are 8 × 6 and the runs tens of steps.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Runs in the subprocess: every model in float64, first and second order, through the CUDA stepper in two
# calls (the state stays on the device in between) against the exact CPU kernel; float32 (the stepper's, the
# same for every model: float64 arithmetic, a float32 state) on one model of each CPU kernel family, the
# scalar loop with gates and the vectorised one without: each float32 CPU kernel is another compile.
_KERNELS = textwrap.dedent(
    """
    import json, sys, numpy as np
    sys.path.insert(0, ".")
    from tests.solver.test_kernel_vs_reference import make_problem, rel_diff
    from solver.engine.backends import CudaStepper
    from solver.models import MODELS

    class P:  # the little of a Problem that CudaStepper reads
        def __init__(self, model): self.model = model

    out = {}
    cases = [(n, np.float64, o) for n in sorted(MODELS) for o in (1, 2)]
    cases += [(n, np.float32, o) for n in ("hek_gokhale2017_35c", "fitzhugh_nagumo") for o in (1, 2)]
    for name, dtype, order in cases:
            model, y0, a = make_problem(name, dtype=dtype, shape=(8, 6))
            dt = 0.01 if model.supports_opsin else model.default_dt_ms
            args = lambda scale: (dt, a["wx"], a["wy"], a["active"], a["params"], a["pidx"], a["pmaps"],
                                  a["iext"] * scale, a["has_opsin"], a["oparams"], a["gop"], a["flux"])
            cpu_a, cpu_b = y0.copy(), y0.copy()
            gpu_a, gpu_b = y0.copy(), y0.copy()
            step = CudaStepper(P(model))
            for n, scale in ((7, 1.0), (5, 0.0)):
                if model.kernel(cpu_a, cpu_b, n, *args(scale), order=order):
                    cpu_a, cpu_b = cpu_b, cpu_a
                assert step(gpu_a, gpu_b, n, *args(scale), order=order) == 0
            out[f"{name} order {order} {dtype.__name__}"] = {
                "rel": rel_diff(gpu_a.astype(float), cpu_a.astype(float), a["active"]),
                "outside_untouched": bool(np.array_equal(gpu_a[:, a["active"] == 0], y0[:, a["active"] == 0])),
                "moved": float(np.abs(cpu_a[0] - y0[0]).max()),
            }
    print("RESULT " + json.dumps(out))
    """
)

# Runs in the subprocess: a whole run through solver.advance with BACKEND_CUDA against the CPU.
_RUN = textwrap.dedent(
    """
    import json, sys, numpy as np
    sys.path.insert(0, ".")
    import solver
    from tests.specs import small_hek_spec

    spec = small_hek_spec(grid={"nx": 8, "ny": 6, "dx_um": 10.0}, numerics={"dt_ms": 0.02, "duration_ms": 0.8})
    spec["current"] = [{"pattern": {"disk": {"center_um": {"x": 20, "y": 30}, "radius_um": 20}},
                        "waveform": {"pulse": {"start_ms": 0.2, "width_ms": 0.5}}, "amplitude_a_per_f": -150.0}]
    spec["tissue"]["model"]["maps"] = [{"parameter": "g_K1", "field": {"random": {"cv": 0.2}}}]
    spec["numerics"]["lookup_tables"] = False
    cpu = solver.prepare(spec)
    spec["numerics"]["backend"] = "BACKEND_CUDA"
    gpu = solver.prepare(spec)
    seen = []

    class Every:  # a tracker: the run loop cuts the run at its interval
        def start(self, problem, state): return 7
        def handle(self, state, y): seen.append(state.step)

    a = solver.advance(cpu, solver.initial_state(cpu), cpu.n_steps)
    b = solver.advance(gpu, solver.initial_state(gpu), gpu.n_steps, trackers=[Every()])
    scale = np.maximum(np.abs(a.y).max(axis=(1, 2)), 1e-12)[:, None, None]
    print("RESULT " + json.dumps({"rel": float((np.abs(b.y - a.y) / scale).max()), "steps": b.step,
                                  "seen": seen, "v_max": float(a.y[0].max())}))
    """
)


def _run(code: str, *, simulator: bool) -> dict:
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    if simulator:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def _gpu_present() -> bool:
    code = "from numba import cuda; print('RESULT', int(cuda.is_available()))"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    return proc.returncode == 0 and "RESULT 1" in proc.stdout


MODES = ["simulator"] + (["gpu"] if _gpu_present() else [])


@pytest.mark.parametrize("mode", MODES)
def test_cuda_kernels_match_the_cpu_kernels_for_every_model(mode):
    res = _run(_KERNELS, simulator=mode == "simulator")
    for key, r in res.items():
        # float32 state: both sides round to float32 each step, from float64 arithmetic
        tol = 1e-10 if key.endswith("float64") else 1e-5
        assert r["rel"] <= tol, (key, r)
        assert r["outside_untouched"], key
        assert r["moved"] > 1e-3, key  # the runs did something
    assert len(res) == 16  # six models in float64, two in float32, first- and second-order steps
    assert sum(key.endswith("float32") for key in res) == 4


@pytest.mark.parametrize("mode", MODES)
def test_a_cuda_run_through_the_run_loop_equals_the_cpu_run(mode):
    res = _run(_RUN, simulator=mode == "simulator")
    assert res["steps"] == 40
    assert res["seen"] == [0, 7, 14, 21, 28, 35]  # cut into calls; the state stayed on the device between them
    assert res["v_max"] > -50.0  # the current pulse depolarised the disk
    assert res["rel"] <= 1e-10, res


def test_cuda_backend_is_refused_where_no_gpu_and_no_simulator():
    import solver
    from solver.engine.backends import cuda_usable
    from solver.spec import SpecError

    from tests.specs import small_hek_spec

    if cuda_usable():
        pytest.skip("a CUDA device (or the simulator) is present: BACKEND_CUDA is allowed here")
    spec = small_hek_spec(numerics={"dt_ms": 0.02, "duration_ms": 1.0, "backend": "BACKEND_CUDA"})
    with pytest.raises(SpecError, match=r"numerics\.backend: BACKEND_CUDA needs a CUDA GPU.*allowed here: BACKEND_CPU"):
        solver.load_spec(spec)
