"""Convergence study: CV, max dV/dt and APD90 error against dt, first- and second-order steps, and
the cost of reaching a given CV accuracy on the planar example.

    python benchmarks/convergence.py [--dx 9] [--diffusivity 1000] [--model hek_gokhale2017_35c] [--json]

1. Errors. A cable with the planar example's dx and D (solver.numerics.convergence.Cable), stepped by the
   exact kernel at a ladder of dt with each scheme, against scipy's BDF on the same cable (the
   dt -> 0 limit at that dx, computed here). The observed order is log2 of the error ratio of
   successive halvings; the fitted constant C of |CV error| = C·dt^p is what solver.spec._accuracy
   uses to estimate a spec's error in ``validate``.
2. Cost. The planar example's sheet (examples/planar_wave.json) on its default path (lookup tables),
   both schemes timed in turn, call by call, in this process (median of rounds): seconds per
   simulated ms at the dt each scheme needs for 1 % CV error (within the diffusion stability limit),
   and their ratio (goal: second order >= 2x cheaper).
3. The dx error at the model's D (second-order steps at a small dt, BDF at several dx, extrapolated
   to dx -> 0 assuming the 5-point Laplacian's dx² error): the constant K of |CV error| = K·dx²/D.

It prints figures and ratios; it never fails for being slow.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from solver.numerics.convergence import Cable, run_bdf, run_kernel

ROOT = Path(__file__).resolve().parents[1]
LADDER = {1: (0.02, 0.01, 0.005, 0.0025), 2: (0.02, 0.01, 0.005)}


#: Relative CV errors below this are the crossing's interpolation, not the step (1e-5).
FLOOR = 1e-5


def errors_vs_dt(cable: Cable, ladder: dict[int, tuple[float, ...]] = LADDER) -> dict:
    t0 = time.perf_counter()
    ref = run_bdf(cable)
    out = {"reference": {"cv_cm_per_s": ref.cv, "max_dvdt_v_per_s": ref.max_dvdt, "apd90_ms": ref.apd90,
                         "bdf_s": time.perf_counter() - t0}, "schemes": {}}  # fmt: skip
    for order, dts in ladder.items():
        rows = []
        for dt in dts:
            if dt > cable.dx_um**2 / (4 * cable.diffusivity_um2_per_ms):
                continue
            e = run_kernel(cable, dt, order=order).errors(ref)
            rows.append({"dt_ms": dt, **{k: float(v) for k, v in e.items()}})
        for a, b in zip(rows, rows[1:]):
            if abs(b["cv"]) > FLOOR:
                b["observed_order_cv"] = math.log2(abs(a["cv"] / b["cv"]))
        # C of |e| = C dt^p from the smallest dt whose error is measurable (closest to the asymptotic
        # regime); where none is, the bound the floor sets at the largest dt
        measured = [r for r in rows if abs(r["cv"]) > FLOOR]
        last, bound = (measured[-1], False) if measured else ({"cv": FLOOR, "dt_ms": rows[0]["dt_ms"]}, True)
        out["schemes"][order] = {"rows": rows, "cv_constant": abs(last["cv"]) / last["dt_ms"] ** order,
                                 "bound": bound}  # fmt: skip
    return out


def dt_for(target: float, constant: float, order: int) -> float:
    return (target / constant) ** (1.0 / order)


def _planar_problem(order: int, dt: float):
    import solver

    spec = json.loads((ROOT / "examples" / "planar_wave.json").read_text())
    spec["numerics"].update({"dt_ms": dt, "duration_ms": 1000 * dt,
                             "time_scheme": "TIME_SCHEME_FIRST_ORDER" if order == 1 else "TIME_SCHEME_SECOND_ORDER"})
    return solver.prepare(spec)


def cost(dts: dict[int, float], rounds: int = 7, steps: int = 200) -> dict:
    """Seconds per simulated ms of the planar sheet, each scheme at its dt (interleaved rounds)."""
    from solver.engine import backends
    from solver.numerics.bench import _kernel_args
    from solver.engine.run import initial_state

    runs = {}
    for order, dt in dts.items():
        p = _planar_problem(order, dt)
        step = backends.stepper(p)
        ya = np.ascontiguousarray(initial_state(p).y).copy()
        runs[order] = [p, step, ya, ya.copy(), _kernel_args(p)]
        step(runs[order][2], runs[order][3], 2, *runs[order][4], order=order)  # compile / load outside the timing
    times = {order: [] for order in runs}
    for _ in range(rounds):
        for order, (p, step, ya, yb, args) in runs.items():
            t0 = time.perf_counter()
            step(ya, yb, steps, *args, order=order)
            times[order].append(time.perf_counter() - t0)
    out = {}
    for order, (p, *_rest) in runs.items():
        per_step = float(np.median(times[order])) / steps
        out[order] = {"dt_ms": p.dt_ms, "s_per_step": per_step, "s_per_simulated_ms": per_step / p.dt_ms}
    return out


def dx_error(base: Cable, dxs=(12.0, 9.0, 6.0), length_um: float = 600.0, stim_um: float = 100.0) -> dict:
    """The grid error of ``base`` (its model, D, stimulus and threshold) at each dx, on a cable of
    ``length_um``, against the Richardson dx -> 0 limit of the two finest (BDF, dt -> 0)."""
    cvs = []
    d = base.diffusivity_um2_per_ms
    for dx in dxs:
        n = int(round(length_um / dx))
        c = replace(base, n=n, dx_um=dx, probes=(n // 3, 3 * n // 4), stim_cells=max(4, int(round(stim_um / dx))))
        cvs.append(run_bdf(c).cv)
    # Richardson with the two finest (CV = CV0 + a dx²)
    h1, h2 = dxs[-2], dxs[-1]
    cv0 = (cvs[-1] * h1**2 - cvs[-2] * h2**2) / (h1**2 - h2**2)
    errs = [cv / cv0 - 1.0 for cv in cvs]
    k = [abs(e) * d / dx**2 for e, dx in zip(errs, dxs)]
    return {"dx_um": list(dxs), "cv_cm_per_s": cvs, "cv_limit": cv0, "errors": errs, "K_per_dx": k,
            "K": float(k[0])}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="hek_gokhale2017_35c")
    ap.add_argument("--dx", type=float, default=9.0)
    ap.add_argument("--diffusivity", type=float, default=1000.0)
    ap.add_argument("--target", type=float, default=0.01, help="CV error to reach (default 1 %%)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    n = int(round(900 / args.dx))
    cable = Cable(model=args.model, n=n, dx_um=args.dx, diffusivity_um2_per_ms=args.diffusivity,
                  probes=(n // 3, 3 * n // 4), stim_cells=max(4, int(round(90 / args.dx))))  # fmt: skip
    study = errors_vs_dt(cable)
    ref = study["reference"]
    print(f"cable: {args.model}, dx {args.dx:g} µm, D {args.diffusivity:g} µm²/ms, {n} cells; BDF reference "
          f"CV {ref['cv_cm_per_s']:.4f} cm/s, max dV/dt {ref['max_dvdt_v_per_s']:.1f} V/s, APD90 {ref['apd90_ms']:.3f} ms "
          f"({ref['bdf_s']:.1f} s)")
    print(f"{'order':>5} {'dt ms':>8} {'CV err':>9} {'dV/dt err':>10} {'APD90 err':>10} {'p(CV)':>6}")
    for order, s in study["schemes"].items():
        for r in s["rows"]:
            p = f"{r['observed_order_cv']:.2f}" if "observed_order_cv" in r else ""
            print(f"{order:>5} {r['dt_ms']:>8g} {r['cv']:>+9.3%} {r['max_dvdt']:>+10.3%} {r['apd90']:>+10.3%} {p:>6}")
        print(f"      |CV error| ≈ {s['cv_constant']:.4g} · dt^{order}")
    limit = args.dx**2 / (4 * args.diffusivity)
    need = {o: min(dt_for(args.target, s["cv_constant"], o), limit) for o, s in study["schemes"].items()}
    # round down to a step that divides 1 ms (what a spec would use)
    need = {o: 1.0 / math.ceil(1.0 / dt) for o, dt in need.items()}
    c = cost(need)
    ratio = c[1]["s_per_simulated_ms"] / c[2]["s_per_simulated_ms"]
    for o in (1, 2):
        print(f"order {o}: dt for {args.target:.0%} CV error {need[o]:.4g} ms, {c[o]['s_per_step'] * 1e3:.3f} ms per "
              f"step of the planar sheet, {c[o]['s_per_simulated_ms']:.4f} s per simulated ms")
    print(f"cost to reach {args.target:.0%} CV error: second order is {ratio:.2f}x cheaper than first order "
          f"(stability limit dx²/4D = {limit:.4g} ms)")
    dxe = dx_error(replace(cable, t_end_ms=16.0))
    print("dx error (BDF, dt -> 0): " + ", ".join(f"dx {d:g}: {e:+.2%}" for d, e in zip(dxe["dx_um"], dxe["errors"]))
          + f"; |CV error| ≈ {dxe['K']:.4g} · dx²/D")
    if args.json:
        print(json.dumps({"study": study, "dt_for_target": need, "cost": c, "ratio": ratio, "dx": dxe}, default=float))


if __name__ == "__main__":
    main()
