"""``optowave cell SPEC --protocol FILE -o cell.zarr``: the patch-clamp bench on the cell of a spec.

Runs the protocol's parts (current clamp, voltage clamp, steady-state I-V and fixed points, continuation) with
:func:`solver.cell.run_protocol`, writes the dataset through :mod:`optowave.store` and prints the fixed points,
saddle-nodes and bistable windows it found; ``optowave plot cell.zarr -o fig.png`` draws it.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path


def register(sub) -> None:
    """Add ``cell`` to the ``optowave`` parser."""
    p = sub.add_parser("cell", help="patch-clamp bench of one cell: current and voltage clamp, I-V, fixed points, "
                                    "continuation")
    p.add_argument("spec", help="job spec (JSON or YAML): its tissue model, bath and opsin make the cell")
    p.add_argument("--protocol", required=True, metavar="FILE",
                   help="cell protocol (JSON or YAML, the CellProtocol message of protos/optowave/v1/cell.proto)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.zarr", help="result Zarr store to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--plot", default=None, metavar="FIG.png", help="also draw the figure")
    p.set_defaults(func=cmd_cell)


def _error(text: str) -> int:
    print(f"error: {text}", file=sys.stderr)
    return 1


def cmd_cell(args) -> int:
    from solver import SpecError, write_zarr
    from solver.cell import run_protocol

    out = Path(args.output)
    if out.exists() and any(out.iterdir() if out.is_dir() else [out]):
        if not args.overwrite:
            return _error(f"-o {args.output}: exists; give --overwrite to replace it")
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    try:
        ds = run_protocol(args.spec, args.protocol)
    except SpecError as exc:          # a bad spec or protocol: every problem, each naming its field
        return _error(str(exc))
    except RuntimeError as exc:       # the stiff integrator gave up: say where
        return _error(str(exc))
    write_zarr(ds, out)
    print(f"wrote {out}: {ds.attrs['title']!r} ({ds.attrs['model']}, opsin {ds.attrs['opsin']})")
    for line in summary(ds):
        print(f"  {line}")
    if args.plot:
        from solver.pictures.cell_plot import plot_cell

        plot_cell(ds, args.plot)
        print(f"figure: {Path(args.plot).resolve()}")
    return 0


def summary(ds) -> list[str]:
    """One line per finding: fixed points, peak currents, saddle-nodes, bistable windows."""
    import numpy as np

    lines = []
    unit = ds["fp_v"].attrs.get("units", "") if "fp_v" in ds else ""
    if "fp_v" in ds:
        found = ", ".join(f"{v:.3f} ({'stable' if s else 'unstable'})" for v, s in zip(ds.fp_v.values,
                                                                                     ds.fp_stable.values))
        lines.append(f"fixed points ({unit}): {found or 'none in the window'}")
    if "vc_peak_i_total" in ds:
        k = int(np.argmax(np.abs(ds.vc_peak_i_total.values)))
        lines.append(f"largest peak current: {float(ds.vc_peak_i_total[k]):.4g} "
                     f"{ds.vc_peak_i_total.attrs['units']} at {float(ds.vc_step[k]):g} {ds.vc_step.attrs['units']}")
    if "sn_parameter" in ds:
        name = ds.attrs.get("continuation_parameter", "parameter")
        sn = ", ".join(f"{p:.6g}" for p in ds.sn_parameter.values)
        lines.append(f"saddle-nodes in {name}: {sn or 'none'}")
        if "hopf_parameter" in ds and ds.sizes.get("hopf_point", 0):
            lines.append(f"Hopf points in {name}: {', '.join(f'{p:.6g}' for p in ds.hopf_parameter.values)}")
        for lo, hi in ds.bistable_window.values:
            lines.append(f"bistable window: {name} in [{lo:.6g}, {hi:.6g}] {ds.cont_parameter.attrs['units']}")
    return lines
