"""``optowave model``: the cell models users bring.

    optowave model import FILE.mmt -o FILE.model.json   a Myokit model as optowave's model description
    optowave model show FILE.mmt | FILE.model.json | PRESET   its variables, parameters and units, as a table

A file optowave cannot take (a syntax error, no membrane potential, a function the expression language lacks)
gets one line naming the file and the line, and exit status 2.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

#: Exit status of a file optowave cannot read or take.
BAD_FILE = 2
#: Characters of an expression shown by ``model show`` (``--full`` shows all).
SHOWN_CHARS = 72


def register(sub) -> None:
    """Add ``model import`` and ``model show`` to the ``optowave`` parser."""
    m = sub.add_parser("model", help="cell models users bring: import a Myokit .mmt, show a model's variables")
    msub = m.add_subparsers(metavar="ACTION")
    im = msub.add_parser("import", help="write a Myokit .mmt model as optowave's model description (JSON), the "
                                        "form a spec's tissue.model.definition takes")
    im.add_argument("file", help="Myokit model file (.mmt); its stimulus is switched off")
    im.add_argument("-o", "--output", default=None,
                    help="description to write (default: FILE with .model.json for .mmt, beside it)")
    im.set_defaults(func=cmd_import)
    sh = msub.add_parser("show", help="list a model's voltage, states, parameters, intermediates and currents "
                                      "with units, values and expressions")
    sh.add_argument("model", help="a .mmt file, a .model.json description, or a preset name")
    sh.add_argument("--full", action="store_true", help=f"whole expressions (default: the first {SHOWN_CHARS} "
                                                        "characters)")
    sh.set_defaults(func=cmd_show)
    m.set_defaults(func=lambda args: (m.print_help(), BAD_FILE)[1])


def cmd_import(args) -> int:
    from solver.models.mmt import MmtError, load_mmt

    source = Path(args.file)
    out = Path(args.output) if args.output else source.with_name(source.name.removesuffix(".mmt") + ".model.json")
    try:
        desc = load_mmt(source)
        _validate(desc, str(source))
    except (MmtError, ValueError) as exc:
        return _error(str(exc))
    out.write_text(json.dumps(desc, indent=2, ensure_ascii=False) + "\n")
    gates = sum("gate" in s for s in desc["states"])
    print(f"wrote {out}: model {desc['name']!r}, {len(desc['states']) + 1} states ({gates} gates, "
          f"{len(desc['states']) - gates} by derivative, and {desc['voltage']['name']}), "
          f"{len(desc['parameters'])} parameters, {len(desc['currents'])} currents "
          f"({', '.join(c['name'] for c in desc['currents'])})")
    return 0


def cmd_show(args) -> int:
    what = args.model
    try:
        if what.endswith(".mmt"):
            from solver.models.mmt import load_mmt

            desc = load_mmt(what)
        elif what.endswith(".json"):
            desc = _read_json(Path(what))
            _validate(desc, what)
        else:
            desc = _preset(what)
    except ValueError as exc:   # MmtError, DescriptionError, an unknown preset
        return _error(str(exc))
    for line in table(desc, full=args.full):
        print(line)
    return 0


def table(desc: dict, *, full: bool = False) -> list[str]:
    """The lines of ``model show``: a title, the source, and one row per variable of a description."""
    rows = [("kind", "name", "units", "value", "definition")]
    v = desc["voltage"]
    rows.append(("voltage", v["name"], v.get("units", "mV"), _num(v.get("initial", 0.0)), "membrane potential"))
    for s in desc.get("states", []):
        if "gate" in s:
            kind, text = "gate", ", ".join(f"{k} = {t}" for k, t in s["gate"].items())
        else:
            kind, text = "state", s.get("derivative", s.get("description", ""))
            text = f"d/dt = {text}" if "derivative" in s else text
        rows.append((kind, s["name"], s.get("units", "1"), _num(s.get("initial", 0.0)), text))
    for p in desc.get("parameters", []):
        lo, hi = p.get("min"), p.get("max")
        bounds = f"[{_num(lo) if lo is not None else '-inf'}, {_num(hi) if hi is not None else 'inf'}]"
        text = " ".join(filter(None, [bounds if lo is not None or hi is not None else "", p.get("description", "")]))
        rows.append(("parameter", p["name"], p.get("units", ""), _num(p.get("value", 0.0)), text))
    for x in desc.get("intermediates", []):
        rows.append(("intermediate", x["name"], x.get("units", ""), "", x["expression"]))
    for c in desc.get("currents", []):
        rows.append(("current", c["name"], c.get("units", "A/F"), "", c["expression"]))
    rows = [r[:4] + (" ".join(r[4].split()),) for r in rows]   # a multi-line description on one row
    if not full:
        rows = [r[:4] + (_cut(r[4]),) for r in rows]
    widths = [max(len(r[k]) for r in rows) for k in range(4)]
    head = [f"{desc['name']}: {(desc.get('description') or '').strip().splitlines()[0]}"
            if desc.get("description") else desc["name"]]
    src = desc.get("source")
    if src and src.get("file"):
        head.append(f"source: {src['file']} (sha256 {src.get('sha256', '')[:16]})")
    head.append("")
    return head + [("  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths)) + "  " + r[4]).rstrip() for r in rows]


def _preset(name: str) -> dict:
    """A preset as a description's rows: its states and parameters (units, defaults, bounds)."""
    from solver.models import MODELS

    if name not in MODELS:
        raise ValueError(f"{name}: not a .mmt file, a .json description or a preset; presets: {', '.join(MODELS)}")
    described = _described_preset(name)
    if described is not None:
        return described
    model = MODELS[name]
    rest = model.rest_state()   # the defaults' resting state
    v, *states = zip(model.state_names, model.state_units, model.state_long_names)
    return {
        "name": name,
        "voltage": {"name": v[0], "units": v[1], "initial": float(rest.get(v[0], 0.0))},
        "states": [{"name": n, "units": u, "initial": float(rest.get(n, 0.0)), "description": long}
                   for n, u, long in states],
        "parameters": [{"name": p, "value": float(model.defaults[p]), "units": model.param_units.get(p, ""),
                        "min": model.param_bounds[p][0], "max": model.param_bounds[p][1]}
                       for p in model.param_names],
    }


def _described_preset(name: str) -> dict | None:
    """The preset written as a description (its equations too), where a module of ``solver.models.presets``
    describes it; else None."""
    import importlib
    import pkgutil

    try:
        import solver.models.presets as presets
    except ImportError:
        return None
    for info in pkgutil.iter_modules(presets.__path__):
        module = importlib.import_module(f"{presets.__name__}.{info.name}")
        if name in getattr(module, "PRESETS", ()):
            return {**module.description(name), "name": name}
    return None


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} line {exc.lineno}: not JSON: {exc.msg}") from None


def _validate(desc: dict, where: str) -> None:
    """Check a description with the description's own rules, where they are installed."""
    try:
        from solver.models.description import ModelDescription
    except ImportError:
        return
    try:
        ModelDescription.from_dict(desc)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _num(x) -> str:
    return f"{float(x):.6g}"


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return BAD_FILE
