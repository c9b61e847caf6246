"""Fit the CV error model of ``validate`` for every preset that carries waves, and store it.

    python benchmarks/error_model.py [--models hek_gokhale2017_35c,...] [--write]

For each model, a study cable (its dx, D, stimulus and activation threshold below) is stepped by the
exact kernel at a ladder of dt, both schemes, against scipy's BDF on the same cable
(benchmarks/convergence.py: ``errors_vs_dt``); the constant C of |CV error| ≈ C·dt^p comes from
the smallest dt whose error is measurable (above 1e-5; where none is, C is the bound that floor sets
at the largest dt, marked ``bound``). The grid constant K of |CV error| ≈ K·dx²/D comes from BDF
cables at three dx against their Richardson dx -> 0 limit (``dx_error``). ``--write`` stores the
constants in solver/spec/accuracy_constants.json, which ``validate`` reads
(solver/spec/_accuracy.py); tests/solver/test_accuracy.py checks them on cables the fit did not use.

Models without a CV error model are listed there with the reason: ``hek_bistable`` carries no
excitation wave (its walls move at the speed the equal-area rule sets, near zero at its default
leak), ``hek_gokhale2017_23c`` did not conduct on the study cables, and a single cell has no CV.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

from convergence import errors_vs_dt, dx_error

from solver.numerics.convergence import Cable

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "solver" / "spec" / "accuracy_constants.json"

_HEK_LADDER = {1: (0.02, 0.01, 0.005, 0.0025), 2: (0.02, 0.01, 0.005)}
_GENERIC_LADDER = {1: (0.04, 0.02, 0.01, 0.005), 2: (0.04, 0.02, 0.01)}


def _hek(model: str) -> tuple[Cable, dict]:
    # the planar example's dx and D (MODEL.md's units: µm, ms, mV)
    return (Cable(model=model, n=100, dx_um=9.0, diffusivity_um2_per_ms=1000.0, probes=(33, 75), stim_cells=10,
                  t_end_ms=40.0),
            {"ladder": _HEK_LADDER, "dxs": (12.0, 9.0, 6.0), "length": 600.0, "stim": 100.0, "t_end": 20.0})  # fmt: skip


def _generic(model: str, amplitude: float, threshold: float, t_end: float) -> tuple[Cable, dict]:
    # model units; dx 0.5, D 1: the benchmark sheet's (solver/numerics/bench.py)
    return (Cable(model=model, n=100, dx_um=0.5, diffusivity_um2_per_ms=1.0, probes=(33, 75), stim_cells=10,
                  stim_amplitude=amplitude, threshold=threshold, t_end_ms=t_end),
            {"ladder": _GENERIC_LADDER, "dxs": (0.6, 0.45, 0.3), "length": 40.0, "stim": 5.0, "t_end": t_end})  # fmt: skip


#: The study cable of each model (and its dx study: ladder, dx values, cable length, stimulated
#: length, duration).
STUDY = {
    "hek_gokhale2017_35c": _hek("hek_gokhale2017_35c"),
    "nagumo": _generic("nagumo", -1.0, 0.5, 80.0),
    "fitzhugh_nagumo": _generic("fitzhugh_nagumo", -3.0, 0.0, 60.0),
    "aliev_panfilov": _generic("aliev_panfilov", -1.0, 0.5, 40.0),
}

#: Presets without a CV error model, and why (validate says so).
NO_CV = {
    "hek_gokhale2017_23c": "no conduction in the study cables: at its rest (-72.2 mV) h_inf is 0.08, and a "
                           "9 µm cable at D 100-3000 µm²/ms stimulated up to -1000 A/F for 2-5 ms did not carry "
                           "a wave 35 cells on; a single cell fires (tests/solver/test_accuracy.py)",
    "hek_bistable": "no excitation wave: domain walls move at the speed the equal-area rule sets (near zero at "
                    "the default leak), so a relative CV error means nothing; the bistable example's wall speed "
                    "is tested against a run at a quarter of its step and half its spacing",
}


def fit(model: str) -> dict:
    cable, dxs = STUDY[model]
    t0 = time.perf_counter()
    s = errors_vs_dt(cable, dxs["ladder"])
    grid = dx_error(replace(cable, t_end_ms=dxs["t_end"]), dxs["dxs"], dxs["length"], dxs["stim"])
    return {
        "time": {str(o): float(f"{sc['cv_constant']:.3g}") for o, sc in s["schemes"].items()},
        "time_bound": {str(o): sc["bound"] for o, sc in s["schemes"].items()},
        "grid": float(f"{grid['K']:.3g}"),
        "fitted_on": {"dx": cable.dx_um, "diffusivity": cable.diffusivity_um2_per_ms, "cv": s["reference"]["cv_cm_per_s"],
                      "rows": s["schemes"], "grid_errors": dict(zip(map(str, grid["dx_um"]), grid["errors"]))},
        "seconds": time.perf_counter() - t0,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(STUDY))
    ap.add_argument("--write", action="store_true", help=f"store the constants in {OUT.relative_to(ROOT)}")
    args = ap.parse_args()
    data = json.loads(OUT.read_text()) if OUT.exists() else {}
    models = data.setdefault("models", {})
    for name in args.models.split(","):
        f = fit(name)
        print(f"{name}: |CV error| ≈ {f['time']['1']:g}·dt (first order), {f['time']['2']:g}·dt² (second order"
              f"{', a bound' if f['time_bound']['2'] else ''}), {f['grid']:g}·dx²/D from the grid; study cable dx "
              f"{f['fitted_on']['dx']:g}, D {f['fitted_on']['diffusivity']:g}, CV {f['fitted_on']['cv']:.4g} "
              f"({f['seconds']:.0f} s)")
        for o, sc in f["fitted_on"]["rows"].items():
            print("   order", o, ", ".join(f"dt {r['dt_ms']:g}: {r['cv']:+.3e}" for r in sc["rows"]))
        models[name] = {k: f[k] for k in ("time", "time_bound", "grid")} | {
            "fitted_on": {k: f["fitted_on"][k] for k in ("dx", "diffusivity")}}
    data["no_cv_model"] = NO_CV
    data["models"] = {k: v for k, v in models.items() if k not in NO_CV}
    data["about"] = ("CV error model of validate: |error| = time[order]·dt^order + grid·dx²/D (ms, µm, µm²/ms; "
                     "model units for the dimensionless media); written by benchmarks/error_model.py --write")
    if args.write:
        OUT.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
