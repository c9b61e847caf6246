"""``optowave preview SPEC -o light.png``: the light program of a spec, drawn before anything runs.

The figure shows where each light stimulus falls on the tissue and when it is on (:func:`solver.pictures.preview.preview`);
the command also prints, per stimulus, its peak irradiance, the area it lights, its on-time and its light energy.
"""
from __future__ import annotations

import sys


def register(sub) -> None:
    """Add ``preview`` to the ``optowave`` parser."""
    p = sub.add_parser("preview", help="draw a spec's light program (where each stimulus falls, when it is on) "
                                       "without running it")
    p.add_argument("spec", help="job spec (JSON or YAML)")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="figure to write; the suffix picks the format: .png, .svg or .pdf")
    p.add_argument("--t-max", type=float, default=None, metavar="MS",
                   help="end of the time axis in ms, at most the run's duration (default: the whole run); zooms "
                        "on the early pulses of a long run. Energies and on-times are always over the whole run")
    p.set_defaults(func=cmd_preview)


def cmd_preview(args) -> int:
    from pathlib import Path

    import solver
    from solver.pictures.preview import FIGURE_SUFFIXES, light_program, preview

    if Path(args.output).suffix.lower() not in FIGURE_SUFFIXES:
        return _error(f"-o {args.output}: allowed suffixes {', '.join(FIGURE_SUFFIXES)}")
    try:
        problem = solver.prepare(args.spec)
    except ValueError as exc:   # SpecError: every problem, each naming its field
        return _error(str(exc))
    duration = problem.n_steps * problem.dt_ms
    if args.t_max is not None and not 0 < args.t_max <= duration:
        return _error(f"--t-max {args.t_max:g} is out of range: allowed 0 < MS <= {duration:g} (the run's "
                      "numerics.duration_ms)")
    program = light_program(problem)
    preview(problem, args.output, t_max_ms=args.t_max)
    print(f"wrote {args.output}: light program of {program.attrs['title']!r} ({problem.ny}×{problem.nx} cells of "
          f"{problem.dx_um:g} µm, {program.attrs['duration_ms']:g} ms)")
    for line in summary(program):
        print(f"  {line}")
    for line in filter(None, program.attrs["warnings"].splitlines()):
        print(f"warning: {line}", file=sys.stderr)
    return 0


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def summary(program) -> list[str]:
    """One line per stimulus of a :func:`solver.pictures.preview.light_program` dataset."""
    cell_mm2 = program.attrs["dx_um"] ** 2 * 1e-6
    if program.sizes["stimulus"] == 0:
        lines = ["no light stimuli"]
    else:
        lines = []
        for k, name in enumerate(program["stimulus"].values):
            irr = float(program["irradiance_mw_per_mm2"][k])
            area = float(program["weight"][k].sum()) / irr * cell_mm2 if irr > 0 else 0.0   # coverage-weighted
            lines.append(f"{_label('light', k, name)}: peak {float(program['time_course'][k].max()):g} mW/mm² over "
                         f"{area:.4g} mm², on {float(program['on_time_ms'][k]):.6g} ms, "
                         f"{float(program['light_energy_mj'][k]):.4g} mJ")
    for j, name in enumerate(program["current_stimulus"].values):
        cc = program["current_time_course"][j]
        peak = float(cc.max()) if abs(float(cc.max())) >= abs(float(cc.min())) else float(cc.min())
        lines.append(f"{_label('current', j, name)}: peak {peak:g} A/F, on {float(program['current_on_time_ms'][j]):.6g} ms")
    bg = program.attrs["background_irradiance_mw_per_mm2"]
    if bg > 0:
        lines.append(f"imaging light reaching the opsin (crosstalk): {bg:g} mW/mm² throughout")
    return lines


def _label(kind: str, k: int, name: str) -> str:
    where = f"{kind}[{k}]"
    return where if name == where else f"{where} {name}"
