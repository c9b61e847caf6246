"""The kernels generated from model descriptions: their speed against the machine's limit, their compile times.

    python benchmarks/model_codegen_bench.py [--n 256] [--big 1024] [--rounds 5] [--presets a,b] [--json]

1. Cell-steps/s of each preset's CPU path as a run takes it (the HEK 35 °C lookup tables with CheRiff lit on
   the left half; the generic media's exact kernels), n × n, float64 and float32, 1 and 2 threads, median of
   the rounds, and that × the state bytes a cell-step moves (2 × n_state × itemsize) over the copy
   bandwidth measured in the same process: the fraction of the state-bytes limit. Every preset runs on
   its generated kernels: the hand-written ones they replaced are gone (benchmarks/README.md has the
   generated / hand-written figures measured before they went).
2. Cold compile (a fresh kernel cache, in a subprocess) of the HEK description and of a user's model
   (a Hodgkin-Huxley axon with an A-type potassium current: four gates), then the first call of a
   second process on the same cache (numba's machine code loaded, nothing compiled).
3. The user's four-gate model on its generated lookup-table kernel on big × big float64: cell-steps/s
   × the state bytes a cell-step moves (2 × n_state × 8) over the copy bandwidth (all threads), the
   fraction of the state-bytes limit of `optowave bench`.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numba
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from solver.engine.backends import lookup_tables_default  # noqa: E402
from solver.models import get_model  # noqa: E402
from solver.models.codegen import model_from_dict  # noqa: E402
from solver.numerics.bench import copy_bandwidth  # noqa: E402
from tests.solver.hh_definition import HH_DEFINITION  # noqa: E402

CHERIFF_LIKE = np.array([5.0, 0.1, 0.8, 0.25, 0.104, 2e-4, 5e17, 43.0, 17.1, 0.0])


def four_gate_model() -> dict:
    """HH with an A-type K+ current (gate a, activation only): four gates, no other state."""
    d = copy.deepcopy(HH_DEFINITION)
    d["name"] = "hh_with_a_current"
    d["states"] = [s for s in d["states"] if s["name"] != "ca"]
    d["parameters"].append({"name": "g_A", "value": 4.0, "units": "mS/cm^2", "min": 0.0, "max": 100.0})
    d["states"].append({"name": "a", "units": "1", "initial": 0.05,
                        "gate": {"inf": "1/(1+exp(-(v+50)/20))", "tau": "2 + 10*exp(-((v+60)/30)^2)"}})
    d["currents"].append({"name": "I_A", "expression": "g_A*a^3*(v - E_K)*inv_C", "units": "A/F"})
    return d


def sheet(model, n: int, opsin: bool):
    rest = model.rest_state()
    y = np.zeros((model.n_state + (2 if opsin else 0), n, n))
    for k, s in enumerate(model.state_names):
        y[k] = rest[s]
    w = np.full((n, n), 10.0)
    w[:, -1] = 0.0
    wy = np.full((n, n), 10.0)
    wy[-1, :] = 0.0
    flux = np.zeros((n, n))
    if opsin:
        flux[:, : n // 2] = 2.37e14
    params = model.params_array()
    args = (w, wy, np.ones((n, n), np.uint8), params, np.full(params.size, -1, np.int64), np.zeros((0, n, n)),
            np.zeros((n, n)), opsin, CHERIFF_LIKE, np.full((n, n), 0.5) if opsin else np.zeros((n, n)), flux)
    return y, args


def rate(step, y, args, steps: int, dt: float = 0.01) -> float:
    ya, yb = y.copy(), y.copy()
    t0 = time.perf_counter()
    step(ya, yb, steps, dt, *args, order=1)
    return y.shape[1] * y.shape[2] * steps / (time.perf_counter() - t0)


_COMPILE = textwrap.dedent(
    """
    import json, sys, time, numpy as np
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {here!r})
    from model_codegen_bench import four_gate_model, sheet
    from solver.models.codegen import model_from_dict
    from solver.models.presets import hek_gokhale2017
    out = {{}}
    for key, d in (("hek_described", hek_gokhale2017.description()), ("user_four_gates", four_gate_model())):
        model = model_from_dict(d)
        y, args = sheet(model, 2, model.supports_opsin)
        t0 = time.perf_counter()
        model.kernel(y, y.copy(), 1, 0.01, *args)
        out[key + " exact"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.lookup_tables.stepper()(y, y.copy(), 1, 0.01, *args)
        out[key + " lut"] = time.perf_counter() - t0
    print("RESULT " + json.dumps(out))
    """
)


def compile_times() -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "OPTOWAVE_KERNEL_CACHE": cache}
        code = _COMPILE.format(root=str(ROOT), here=str(Path(__file__).parent))
        res = []
        for _ in range(2):
            proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
            res.append(json.loads(proc.stdout.split("RESULT ", 1)[1]))
    return res[0], res[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--big", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--skip-compile", action="store_true", help="leave out the cold-compile subprocesses")
    ap.add_argument("--presets", default="hek_gokhale2017_35c,nagumo,fitzhugh_nagumo,aliev_panfilov",
                    help="presets whose generated CPU kernel to time (comma-separated; empty: none)")
    ap.add_argument("--skip-user", action="store_true", help="leave out the four-gate model on big × big")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    out: dict = {}

    bw = max(copy_bandwidth(threads=1), copy_bandwidth(threads=os.cpu_count() or 1))
    threads_before = numba.get_num_threads()
    for name in [x for x in a.presets.split(",") if x]:
        model = get_model(name)
        tables = lookup_tables_default(model)
        step = model.lookup_tables.stepper() if tables else model.kernel.stepper()
        y_case, args_case = sheet(model, a.n, model.supports_opsin)
        for dtype in (np.float64, np.float32):
            y = y_case.astype(dtype)
            for n_threads in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
                numba.set_num_threads(n_threads)
                rate(step, y, args_case, 1)  # compile / load
                r = float(np.median([rate(step, y, args_case, a.steps) for _ in range(a.rounds)]))
                state_bytes = 2 * y.shape[0] * y.itemsize
                out[f"{name}_{'lut' if tables else 'exact'}_{np.dtype(dtype).name}_{n_threads}t"] = {
                    "cell_steps_per_s": r, "fraction_of_state_bytes_limit": r * state_bytes / bw}
    numba.set_num_threads(threads_before)

    if not a.skip_compile:
        cold, warm = compile_times()
        out["cold_compile_s"] = cold
        out["second_process_first_call_s"] = warm

    if a.skip_user:
        print(json.dumps(out, indent=1) if a.json else "\n".join(f"{k}: {v}" for k, v in out.items()))
        return
    user = model_from_dict(four_gate_model())
    step = user.lookup_tables.stepper()
    y, args = sheet(user, a.big, False)
    rate(step, y, args, 1)
    rates = [rate(step, y, args, 10) for _ in range(a.rounds)]
    r_exact = [rate(user.kernel, y, args, 10) for _ in range(max(2, a.rounds // 2))]
    state_bytes = 2 * y.shape[0] * 8
    out["user_four_gates_lut"] = {
        "n": a.big, "cell_steps_per_s": float(np.median(rates)), "exact_cell_steps_per_s": float(np.median(r_exact)),
        "state_bytes_per_cell_step": state_bytes, "copy_bandwidth_gb_per_s": bw / 1e9,
        "fraction_of_state_bytes_limit": float(np.median(rates)) * state_bytes / bw,
    }
    out["cpus"] = os.cpu_count()
    print(json.dumps(out, indent=1) if a.json else "\n".join(f"{k}: {v}" for k, v in out.items()))


if __name__ == "__main__":
    main()
