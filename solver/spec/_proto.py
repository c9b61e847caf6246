"""The one conversion between the wire spec (``optowave.v1.JobSpec``) and spec objects.

Spec files are the proto's JSON form (YAML accepted), read with
``google.protobuf.json_format`` so that a file, a dict and a wire message cannot drift apart.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf import json_format
from google.protobuf.message import Message

from optowave.v1 import spec_pb2

from . import _types as t
from ._errors import SpecError
from ._limits import MAX_DOCUMENT_DEPTH, DocumentTooLarge, measure_document
from ._schema import schema_violations

SpecLike = Any  # str | os.PathLike | dict | spec_pb2.JobSpec | t.JobSpec


def parse_proto(source: SpecLike) -> tuple[spec_pb2.JobSpec, str]:
    """Read a spec (path, JSON/YAML text, dict or message) into a ``JobSpec`` message.

    Returns the message and the directory that relative paths in it resolve against.
    Unknown fields and wrong types raise :class:`SpecError` naming the field.
    """
    if isinstance(source, spec_pb2.JobSpec):
        return source, "."
    if isinstance(source, t.JobSpec):
        return parse_proto(json.loads(source.json))[0], source.base_dir
    source, base_dir = read_mapping(source, what="spec")
    problems = schema_violations(source, spec_pb2.JobSpec.DESCRIPTOR)
    if problems:
        raise SpecError(problems + _remaining_errors(source, problems, base_dir))
    msg = spec_pb2.JobSpec()
    try:
        json_format.ParseDict(source, msg, ignore_unknown_fields=False)
    except (json_format.ParseError, RecursionError) as exc:
        text = str(exc)
        detail = text.rsplit("field: ", 1)[-1]
        raise SpecError([(_path_from_parse_error(text), detail)]) from None
    return msg, base_dir


def read_mapping(source, *, what: str, error=SpecError) -> tuple[dict, str]:
    """A JSON/YAML document (a path, its text, or a dict already) as a dict, and the directory
    its relative paths resolve against. Problems raise ``error`` naming ``what``."""
    base_dir = "."
    if isinstance(source, (str, os.PathLike)) and _looks_like_path(source):
        path = Path(source)
        if not path.is_file():
            raise error([(what, f"file {str(path)!r} does not exist" if not path.exists() else
                          f"{str(path)!r} is not a file")])
        base_dir = str(path.resolve().parent)
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise error([(what, f"file {str(path)!r} is {size / 2**20:.1f} MiB; the limit is "
                                f"{MAX_FILE_BYTES / 2**20:.0f} MiB (give large rasters as npy_path)")])
        text = decode_text(path.read_bytes(), what=f"{what} file {str(path)!r}", error=error)
        source = _load_text(text, yaml_hint=path.suffix.lower() in (".yaml", ".yml"), what=what, error=error)
    elif isinstance(source, str):
        source = _load_text(source, yaml_hint=not source.lstrip().startswith("{"), what=what, error=error)
    if not isinstance(source, dict):
        raise error([(what, f"a {what} must be a mapping (JSON object), got {type(source).__name__}")])
    try:
        measure_document(source)
    except DocumentTooLarge as exc:
        raise error([(what, f"the {what} {exc}")]) from None
    return source, base_dir


#: Largest spec, sweep or design file read (inline rasters included).
MAX_FILE_BYTES = 64 * 2**20
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def decode_text(data: bytes, *, what: str, error=SpecError) -> str:
    """A file's text: UTF-8, or UTF-16/32 when it starts with a byte-order mark (as Windows editors write)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            break
    else:
        codec = "utf-8"
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise error([("spec" if what.startswith("spec") else what.split()[0],
                      f"{what} is not {codec.upper()} text (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); "
                      "save it as UTF-8")]) from None


def _remaining_errors(source: dict, problems, base_dir: str) -> list:
    """What validation says about the rest of a document whose schema problems are ``problems``: the fields
    they name are left out and the remainder validated, so that a file's every problem is reported at once
    (a field left out that validation then misses is not reported twice)."""
    import copy

    from ._validate import validate

    pruned = copy.deepcopy(source)
    for v in problems:
        _drop(pruned, v.field)
    try:
        msg = spec_pb2.JobSpec()
        json_format.ParseDict(pruned, msg, ignore_unknown_fields=True)
        report = validate(from_proto(msg, base_dir=base_dir))
    except Exception:  # noqa: BLE001 - best effort: the schema problems are reported in any case
        return []
    named = [v.field for v in problems]
    return [e for e in report.errors if not any(e.field == n or e.field.startswith(n + ".") or
                                                n.startswith(e.field + ".") for n in named)]


def _drop(doc, path: str) -> None:
    """Remove the field at ``path`` (``light[0].pattern.disk.radius``) from a document, if it is there."""
    import re

    parts = [p for p in re.split(r"\.|\[(\d+)\]", path) if p]
    node = doc
    for part in parts[:-1]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return
    last = parts[-1] if parts else None
    if isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and last is not None and last.isdigit() and int(last) < len(node):
        node[int(last)] = None


def _looks_like_path(source) -> bool:
    if isinstance(source, os.PathLike):
        return True
    s = source.strip()
    return "\n" not in s and not s.startswith("{") and (s.endswith((".json", ".yaml", ".yml")) or os.path.exists(s))


def _load_text(text: str, *, yaml_hint: bool, what: str, error) -> Any:
    too_deep = f"nested too deeply to read (the limit is {MAX_DOCUMENT_DEPTH} levels of mappings and lists)"
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if not yaml_hint:
            raise error([(what, f"not valid JSON: {exc}")]) from None
    except RecursionError:
        raise error([(what, too_deep)]) from None
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())
    except yaml.YAMLError as exc:
        raise error([(what, f"neither valid JSON nor valid YAML: {exc}")]) from None
    except RecursionError:
        raise error([(what, too_deep)]) from None


def _yaml_loader():
    """PyYAML's safe loader in C when it is built (the pure-Python one recurses per nesting level)."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_pattern(source) -> spec_pb2.Pattern:
    """A ``Pattern`` message from its JSON form (a dict) or a message.

    Unknown fields and wrong types raise :class:`SpecError` naming the field under ``pattern``.
    """
    if isinstance(source, spec_pb2.Pattern):
        return source
    if not isinstance(source, dict):
        raise SpecError([("pattern", f"a pattern must be a mapping (JSON object), got {type(source).__name__}")])
    try:
        measure_document(source)
    except DocumentTooLarge as exc:
        raise SpecError([("pattern", f"the pattern {exc}")]) from None
    problems = schema_violations(source, spec_pb2.Pattern.DESCRIPTOR, "pattern")
    if problems:
        raise SpecError(problems)
    msg = spec_pb2.Pattern()
    try:
        json_format.ParseDict(source, msg, ignore_unknown_fields=False)
    except (json_format.ParseError, RecursionError) as exc:
        text = str(exc)
        where = _path_from_parse_error(text, root="Pattern")
        raise SpecError([("pattern" if where == "spec" else f"pattern.{where}", text.rsplit("field: ", 1)[-1])]) \
            from None
    return msg


def pattern_from_proto(msg: spec_pb2.Pattern) -> t.Pattern:
    """Convert a ``Pattern`` message into its spec object (range checks: :func:`solver.spec.validate_pattern`)."""
    return _pattern(msg)


def _path_from_parse_error(message: str, *, root: str = "JobSpec") -> str:
    """The field path a ``json_format.ParseError`` is about, e.g. ``light[0].pattern.disk.radius_um``."""
    import re

    # newer protobuf: '... at JobSpec.light[0].pattern.disk.radius_um..' (quoted or not)
    m = re.search(rf' at "?{root}\.([\w.\[\]]+?)"?\.*(?:\n|$)', message)
    if m:
        where = m.group(1)
    else:
        nested = re.findall(r"Failed to parse (\w+) field", message)
        where = ".".join(_snake(n) for n in nested)
    named = re.search(r'has no field named "(\w+)"', message)
    if named:
        where = f"{where}.{named.group(1)}" if where else named.group(1)
    return where or "spec"


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def to_json(msg: Message) -> str:
    """Canonical JSON of a message: proto field names, sorted keys, no defaults."""
    return json.dumps(json_format.MessageToDict(msg, preserving_proto_field_name=True), sort_keys=True)


def to_dict(msg: Message) -> dict:
    return json_format.MessageToDict(msg, preserving_proto_field_name=True)


# ---------------------------------------------------------------- message -> objects


def from_proto(msg: spec_pb2.JobSpec, *, base_dir: str = ".") -> t.JobSpec:
    """Convert a ``JobSpec`` message into spec objects with every default applied.

    Range checks are not done here but in :func:`solver.spec.validate`.
    """
    tissue = msg.tissue
    numerics = msg.numerics
    precision = {0: "float64", 1: "float64", 2: "float32"}.get(numerics.precision, f"enum value {numerics.precision}")
    coupling = msg.coupling
    kind = coupling.WhichOneof("kind")
    out = msg.output
    return t.JobSpec(
        name=msg.name,
        grid=t.Grid(nx=msg.grid.nx, ny=msg.grid.ny, dx_um=msg.grid.dx_um),
        tissue=t.Tissue(
            mask=_pattern(tissue.mask) if tissue.HasField("mask") else t.Everywhere(),
            model=t.CellModelSpec(
                preset=tissue.model.preset or ("" if tissue.model.HasField("definition") or tissue.model.mmt_path
                                                else "hek_gokhale2017_35c"),
                definition=to_json(tissue.model.definition) if tissue.model.HasField("definition") else "",
                mmt_path=tissue.model.mmt_path,
                parameters=tuple(sorted(tissue.model.parameters.items())),
                maps=tuple(t.ParameterMap(m.parameter, _field(m.field)) for m in tissue.model.maps),
                ions=t.Ions(**{f.name: v for f, v in tissue.model.ions.ListFields()}),
            ),
            initial=tuple(
                t.InitialRegion(_pattern(r.pattern), tuple(sorted(r.values.items())))
                for r in tissue.initial.regions
            ),
        ),
        coupling=t.Coupling(
            diffusivity_um2_per_ms=coupling.diffusivity_um2_per_ms if kind == "diffusivity_um2_per_ms" else None,
            gap_junction=t.GapJunction(
                coupling.gap_junction.conductance_ns,
                coupling.gap_junction.cell_size_um,
                coupling.gap_junction.capacitance_pf,
            ) if kind == "gap_junction" else None,
            diffusivity_map=_field(coupling.diffusivity_map) if coupling.HasField("diffusivity_map") else None,
        ),
        opsin=t.OpsinSpec(
            preset=msg.opsin.preset,
            parameters=tuple(sorted(msg.opsin.parameters.items())),
            density=msg.opsin.density if msg.opsin.HasField("density") else 1.0,
            density_map=_field(msg.opsin.density_map) if msg.opsin.HasField("density_map") else None,
            region=_pattern(msg.opsin.region) if msg.opsin.HasField("region") else None,
            spectrum=((msg.opsin.spectrum.peak_nm, msg.opsin.spectrum.fwhm_nm) if msg.opsin.HasField("spectrum")
                      else None),
        ),
        light=tuple(
            t.LightStimulus(s.name, _pattern_or_all(s, "pattern"), _waveform(s), s.irradiance_mw_per_mm2,
                            s.wavelength_nm if s.HasField("wavelength_nm") else 470.0)
            for s in msg.light
        ),
        current=tuple(
            t.CurrentStimulus(s.name, _pattern_or_all(s, "pattern"), _waveform(s), s.amplitude_a_per_f)
            for s in msg.current
        ),
        readout=_readout(msg.readout),
        output=t.Output(
            variables=tuple(out.variables) or ("v",),
            sample_interval_ms=out.sample_interval_ms if out.HasField("sample_interval_ms") else 1.0,
        ),
        numerics=t.Numerics(
            dt_ms=numerics.dt_ms if numerics.HasField("dt_ms") else None,
            duration_ms=numerics.duration_ms,
            precision=precision,
            chunk_ms=numerics.chunk_ms if numerics.HasField("chunk_ms") else None,
            backend={0: "cpu", 1: "cpu", 2: "cuda"}.get(numerics.backend, f"enum value {numerics.backend}"),
            lookup_tables=numerics.lookup_tables if numerics.HasField("lookup_tables") else None,
            time_order=numerics.time_scheme or None,
        ),
        seed=msg.seed,
        labels=tuple(sorted(msg.labels.items())),
        analysis=_analysis(msg.analysis),
        json=to_json(msg),
        base_dir=base_dir,
    )


def _point(p) -> t.Point:
    return t.Point(p.x, p.y)


def _raster(r) -> t.Raster:
    values = np.asarray(r.values, dtype=np.float64) if len(r.values) else None
    return t.Raster(shape=tuple(int(s) for s in r.shape), values=values, npy_path=r.npy_path)


def _pattern_or_all(msg, name: str) -> t.Pattern:
    return _pattern(getattr(msg, name)) if msg.HasField(name) else t.Everywhere()


def _pattern(p) -> t.Pattern:
    kind = p.WhichOneof("kind")
    if kind is None or kind == "everywhere":
        return t.Everywhere()
    m = getattr(p, kind)
    if kind == "disk":
        return t.Disk(_point(m.center_um), m.radius_um)
    if kind == "rectangle":
        return t.Rectangle(_point(m.min_um), _point(m.max_um))
    if kind == "ring":
        return t.Ring(_point(m.center_um), m.inner_radius_um, m.outer_radius_um)
    if kind == "polygon":
        return t.Polygon(tuple(_point(v) for v in m.vertices_um))
    if kind == "line":
        return t.Line(_point(m.start_um), _point(m.end_um), m.width_um)
    if kind == "raster":
        return _raster(m)
    if kind == "union":
        return t.PatternUnion(tuple(_pattern(q) for q in m.patterns))
    if kind == "difference":
        return t.PatternDifference(tuple(_pattern(q) for q in m.patterns))
    if kind == "checkerboard":
        return t.Checkerboard(m.square_um, _point(m.origin_um), _pattern_or_all(m, "region"))
    if kind == "grating":
        return t.Grating(m.period_um, m.duty_cycle, m.angle_deg, m.phase_um, _pattern_or_all(m, "region"))
    if kind == "image":
        pixels = _raster(m.pixels) if m.HasField("pixels") else None
        return t.Image(pixels, m.png_path, m.pixel_pitch_um, m.rotation_deg, _point(m.offset_um))
    if kind == "sum":
        return t.PatternSum(tuple(t.ScaledPattern(_pattern_or_all(term, "pattern"),
                                                  term.scale if term.HasField("scale") else 1.0)
                                  for term in m.terms))
    raise AssertionError(kind)  # pragma: no cover - every oneof member is handled above


def _field(f) -> t.Field | None:
    kind = f.WhichOneof("kind")
    if kind == "raster":
        return _raster(f.raster)
    if kind == "gradient":
        g = f.gradient
        return t.LinearGradient(_point(g.start_um), _point(g.end_um), g.start_value, g.end_value)
    if kind == "random":
        return t.RandomVariation(f.random.cv, f.random.correlation_length_um)
    return None


def _waveform(stim) -> t.Waveform:
    if not stim.HasField("waveform"):
        return t.Constant()
    w = stim.waveform
    kind = w.WhichOneof("kind")
    if kind is None:
        return t.Constant()
    m = getattr(w, kind)
    if kind == "pulse":
        return t.Pulse(m.start_ms, m.width_ms)
    if kind == "pulse_train":
        return t.PulseTrain(m.start_ms, m.width_ms, m.period_ms, m.count)
    if kind == "ramp":
        return t.Ramp(m.start_ms, m.end_ms)
    if kind == "sine":
        return t.Sine(m.frequency_hz, m.amplitude, m.offset, m.phase_deg, m.start_ms, m.duration_ms)
    if kind == "sampled":
        interp = {0: "step", 1: "step", 2: "linear"}.get(m.interpolation, f"enum value {m.interpolation}")
        return t.Sampled(tuple(m.times_ms), tuple(m.values), interp)
    raise AssertionError(kind)  # pragma: no cover


def _analysis(a) -> t.AnalysisSpec:
    return t.AnalysisSpec(
        enabled=a.enabled if a.HasField("enabled") else True,
        sources=tuple(a.sources) or None,
        measures=tuple(a.measures) or t.ANALYSIS_MEASURES,
        threshold=a.threshold if a.HasField("threshold") else 0.5,
        tip_stride=a.tip_stride if a.HasField("tip_stride") else 1,
    )


def _readout(r) -> t.Readout:
    dye, cam = r.dye, r.camera
    d = t.DyeSpec(
        **{f.name: v for f, v in dye.ListFields() if f.name != "brightness_map"},
        brightness_map=_field(dye.brightness_map) if dye.HasField("brightness_map") else None,
    )
    c = t.CameraSpec(**{f.name: v for f, v in cam.ListFields()})
    if c.exposure_ms is None and c.frame_rate_hz > 0 and math.isfinite(c.frame_rate_hz):
        c = t.CameraSpec(**{**c.__dict__, "exposure_ms": 1000.0 / c.frame_rate_hz})
    return t.Readout(enabled=r.enabled, dye=d, camera=c)
