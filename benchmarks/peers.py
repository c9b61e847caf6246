"""optowave side by side with other simulators: the same problem, run in each, in one run.

- FitzHugh–Nagumo (MODEL.md 3.4) against py-pde's numba backend (explicit Euler, fixed dt);
- Aliev–Panfilov (k 8, a 0.1, eps0 0.002, mu1 0.2, mu2 0.3) against finitewave.

Same grid (N × N cells of side dx), same dt and number of steps, D = 1, no-flux edges, one
thread everywhere (NUMBA_NUM_THREADS=1), a planar wave started by exciting the first 10 columns.
Each simulator runs in its own process (py-pde and finitewave in their own virtual environments,
installed from PyPI under a cache directory: they pin numpy versions of their own), with a fresh
numba cache, so its compile time (the first, short call) is measured and reported apart from the
run. The results must agree before a ratio means anything: the front (u crossing the midpoint of
its excursion along the middle row) must lie within one grid cell in both.

Usage (from the repository root, with optowave's environment)::

    .venv/bin/python benchmarks/peers.py [--size 256] [--steps 2000] [--cache-dir DIR] [--json]

Not part of the test suite: it installs packages and takes minutes.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "optowave" / "peers"

PEERS = {  # venv name -> pip requirement
    "py-pde": "py-pde",
    "finitewave": "finitewave",
}

# --- runners: each prints one line "RESULT {json}" --------------------------------------------------------------
# Config passed as argv[1] (JSON): n, dx, dt, steps, width (excited columns), u_exc, u_rest, w_rest.
# Each returns: compile_s (first call, 2 steps), run_s, steps (actually taken), the middle row of u
# along the direction of travel (tissue cells only), and the versions of what ran.

_OPTOWAVE = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, ".")
    import numpy as np, numba
    import solver
    cfg = json.loads(sys.argv[1])
    n, dx, dt, steps = cfg["n"], cfg["dx"], cfg["dt"], cfg["steps"]
    names = {"fitzhugh_nagumo": ("u", "w"), "aliev_panfilov": ("u", "w")}[cfg["model"]]
    spec = {
        "grid": {"nx": n, "ny": n, "dx_um": dx},
        "tissue": {"model": {"preset": cfg["model"]}, "initial": {"regions": [
            {"pattern": {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": cfg["width"] * dx, "y": n * dx}}},
             "values": {names[0]: cfg["u_exc"], names[1]: cfg["w_rest"]}}]}},
        "coupling": {"diffusivity_um2_per_ms": 1.0},
        "numerics": {"dt_ms": dt, "duration_ms": steps * dt},
        "output": {"sample_interval_ms": steps * dt},
    }
    problem = solver.prepare(spec)
    y0 = solver.initial_state(problem)
    assert abs(float(y0.y[0, 0, -1]) - cfg["u_rest"]) < 1e-9 and abs(float(y0.y[1, 0, -1]) - cfg["w_rest"]) < 1e-9
    t0 = time.perf_counter(); solver.advance(problem, y0, 2); compile_s = time.perf_counter() - t0
    t0 = time.perf_counter(); end = solver.advance(problem, y0, steps); run_s = time.perf_counter() - t0
    print("RESULT " + json.dumps({"compile_s": compile_s, "run_s": run_s, "steps": end.step, "threads": numba.get_num_threads(),
                                  "row": end.y[0, n // 2, :].tolist(), "versions": {"optowave": solver.__version__,
                                  "numpy": np.__version__, "numba": numba.__version__}}))
    """
)

_PYPDE = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np, numba, pde
    cfg = json.loads(sys.argv[1])
    n, dx, dt, steps = cfg["n"], cfg["dx"], cfg["dt"], cfg["steps"]
    try:
        pde.config["backend.numba.multithreading"] = "never"
    except Exception:
        pde.config["backend"]["numba"]["multithreading"] = "never"
    # cell-centred grid; Neumann (zero derivative) puts the ghost cell at the edge cell's value,
    # so the edge cell's Laplacian is (u_inner - u_edge)/dx², as optowave's dropped face
    grid = pde.CartesianGrid([[0, n * dx], [0, n * dx]], [n, n], periodic=False)
    u = pde.ScalarField(grid, cfg["u_rest"])
    w = pde.ScalarField(grid, cfg["w_rest"])
    u.data[:, : cfg["width"]] = cfg["u_exc"]   # axis 1 plays optowave's x
    state = pde.FieldCollection([u, w])
    eq = pde.PDE({"u": "laplace(u) + u - u**3 / 3 - w", "w": "0.08 * (u + 0.7 - 0.8 * w)"}, bc={"derivative": 0})
    solver = pde.EulerSolver(eq, backend="numba", adaptive=False)
    stepper = solver.make_stepper(state, dt=dt)
    t0 = time.perf_counter(); stepper(state.copy(), 0.0, 2 * dt); compile_s = time.perf_counter() - t0
    before = solver.info["steps"]
    t0 = time.perf_counter(); stepper(state, 0.0, steps * dt); run_s = time.perf_counter() - t0
    print("RESULT " + json.dumps({"compile_s": compile_s, "run_s": run_s, "steps": solver.info["steps"] - before,
                                  "threads": numba.get_num_threads(), "row": state.data[0, n // 2, :].tolist(),
                                  "versions": {"py-pde": pde.__version__, "numpy": np.__version__,
                                               "numba": numba.__version__}}))
    """
)

_FINITEWAVE = textwrap.dedent(
    """
    import json, sys, time, warnings
    import numpy as np, numba
    import finitewave as fw
    from importlib.metadata import version
    cfg = json.loads(sys.argv[1])
    n, dx, dt, steps = cfg["n"], cfg["dx"], cfg["dt"], cfg["steps"]
    tissue = fw.CardiacTissue([n + 2, n + 2])   # finitewave keeps a border of non-tissue around the n x n cells
    model = fw.AlievPanfilov()
    model.dt, model.dr, model.D_model = dt, dx, 1.0
    model.k, model.a, model.eps, model.mu1, model.mu2 = 8.0, 0.1, 0.002, 0.2, 0.3
    model.prog_bar = False
    model.cardiac_tissue = tissue

    def reset():
        for arr in (model.u, model.u_new):
            arr[:] = 0.0
            arr[1:-1, 1:-1] = cfg["u_rest"]
        model.v[:] = cfg["w_rest"]
        model.u[1:-1, 1 : 1 + cfg["width"]] = cfg["u_exc"]
        model.t, model.step = 0.0, 0

    model.t_max = 2 * dt
    model.initialize(); reset()
    t0 = time.perf_counter(); model.run(initialize=False, num_of_threads=1); compile_s = time.perf_counter() - t0
    reset(); model.t_max = steps * dt
    t0 = time.perf_counter(); model.run(initialize=False, num_of_threads=1); run_s = time.perf_counter() - t0
    print("RESULT " + json.dumps({"compile_s": compile_s, "run_s": run_s, "steps": int(model.step),
                                  "threads": numba.get_num_threads(), "row": model.u[1 + n // 2, 1:-1].tolist(),
                                  "versions": {"finitewave": version("finitewave"), "numpy": np.__version__,
                                               "numba": numba.__version__}}))
    """
)


def ensure_venv(cache: Path, name: str, requirement: str, *, install: bool = True) -> Path:
    """The python of a virtual environment with ``requirement`` installed (created on first use)."""
    venv = cache / "venvs" / name
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.exists():
        return python
    if not install:
        raise SystemExit(f"{name} is not installed under {venv}; run without --no-install")
    print(f"installing {requirement} into {venv} ...", flush=True)
    # a plain interpreter, not optowave's environment: the peers bring their own numpy
    subprocess.run([shutil.which("python3") or sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", requirement], check=True)
    marker.write_text(requirement)
    return python


def run(python: str | Path, code: str, cfg: dict) -> dict:
    """Run a runner in a fresh process: one thread, a fresh numba cache (so compile time is compile time)."""
    with tempfile.TemporaryDirectory(prefix="optowave-peers-numba-") as nb_cache:
        env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "NUMBA_CACHE_DIR": nb_cache}  # fmt: skip
        env.pop("NUMBA_ENABLE_CUDASIM", None)
        proc = subprocess.run([str(python), "-c", code, json.dumps(cfg)], cwd=ROOT, env=env, capture_output=True,
                              text=True)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{python} failed:\n{proc.stderr[-3000:]}")
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def front_position(row: list[float], level: float) -> float:
    """Where u falls through ``level`` along the row, searching from the far end (cells, from the first cell's centre)."""
    import numpy as np

    u = np.asarray(row)
    above = np.flatnonzero(u > level)
    if above.size == 0 or above[-1] == u.size - 1:
        return float("nan")
    j = above[-1]
    return float(j + (u[j] - level) / (u[j] - u[j + 1]))


def rest_state(model: str) -> tuple[float, float]:
    """(u, w) at rest, from optowave's model (the same numbers go to every simulator)."""
    sys.path.insert(0, str(ROOT))
    from solver.models import get_model

    rest = get_model(model).rest_state()
    return rest["u"], rest["w"]


def compare(model: str, peer: str, peer_python: Path, peer_code: str, cfg: dict, level: float) -> dict:
    ours = run(sys.executable, _OPTOWAVE, {**cfg, "model": model})
    theirs = run(peer_python, peer_code, cfg)
    cells = cfg["n"] ** 2
    out = {"model": model, "peer": peer, **{k: cfg[k] for k in ("n", "dx", "dt", "steps")}}
    for who, r in (("optowave", ours), (peer, theirs)):
        if r["steps"] != cfg["steps"]:
            raise RuntimeError(f"{who} took {r['steps']} steps, not {cfg['steps']}")
        if r["threads"] != 1:
            raise RuntimeError(f"{who} ran on {r['threads']} threads")
        out[who] = {"cell_steps_per_s": cells * r["steps"] / r["run_s"], "run_s": r["run_s"],
                    "compile_s": r["compile_s"], "front_cells": front_position(r["row"], level),
                    "versions": r["versions"]}  # fmt: skip
    gap = abs(out["optowave"]["front_cells"] - out[peer]["front_cells"])
    out["front_gap_cells"] = gap
    out["agree"] = bool(gap <= 1.0 and 20 < out["optowave"]["front_cells"] < cfg["n"] - 10)
    out["ratio"] = out["optowave"]["cell_steps_per_s"] / out[peer]["cell_steps_per_s"]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=256, help="cells per side (default 256)")
    ap.add_argument("--steps", type=int, default=2000, help="time steps (default 2000)")
    ap.add_argument("--dt", type=float, default=0.02, help="time step (model units, default 0.02)")
    ap.add_argument("--dx", type=float, default=0.5, help="grid spacing (model units, default 0.5)")
    ap.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"where the venvs live ({DEFAULT_CACHE})")
    ap.add_argument("--no-install", action="store_true", help="fail instead of installing a missing peer")
    ap.add_argument("--only", choices=sorted(PEERS), help="run one comparison")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)

    load = os.getloadavg()[0]
    base = {"n": args.size, "dx": args.dx, "dt": args.dt, "steps": args.steps, "width": 10}
    results = []
    plans = {
        "py-pde": ("fitzhugh_nagumo", _PYPDE, 2.0, 0.0),          # u from about -1.2 to +2: level 0
        "finitewave": ("aliev_panfilov", _FINITEWAVE, 1.0, 0.5),  # u from 0 to 1: level 0.5
    }
    for peer, (model, code, u_exc, level) in plans.items():
        if args.only and peer != args.only:
            continue
        python = ensure_venv(args.cache_dir, peer, PEERS[peer], install=not args.no_install)
        u_rest, w_rest = rest_state(model)
        cfg = {**base, "u_exc": u_exc, "u_rest": u_rest, "w_rest": w_rest}
        results.append(compare(model, peer, python, code, cfg, level))
    load_end = os.getloadavg()[0]
    if args.json:
        print(json.dumps({"load_average_1min": [load, load_end], "results": results}, indent=1))
        return 0 if all(r["agree"] for r in results) else 1
    print(f"one thread each; load average (1 min) {load:.2f} at the start, {load_end:.2f} at the end")
    for r in results:
        peer = r["peer"]
        print(f"\n{r['model']} {r['n']}x{r['n']}, dt {r['dt']}, {r['steps']} steps, dx {r['dx']}, no-flux edges")
        for who in ("optowave", peer):
            x = r[who]
            print(f"  {who:11s} {x['cell_steps_per_s'] / 1e6:9.2f} M cell-steps/s  run {x['run_s']:7.3f} s  "
                  f"compile {x['compile_s']:6.2f} s  front at cell {x['front_cells']:7.2f}  {x['versions']}")
        print(f"  fronts {'agree' if r['agree'] else 'DISAGREE'} (gap {r['front_gap_cells']:.3f} cells); "
              f"optowave / {peer} = {r['ratio']:.2f}x")
    return 0 if all(r["agree"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
