"""Hostile input: bad specs, requests and files, each with the status (or exit code) and the field it must name.

Used by ``test_hostile_input.py``. A case never expects INTERNAL, UNKNOWN or a traceback: each names what
was wrong. Specs start from small valid ones (``tests.specs``) and break one thing.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from tests.service.test_server import nagumo_spec
from tests.specs import small_hek_spec

IA, RE, NF = "INVALID_ARGUMENT", "RESOURCE_EXHAUSTED", "NOT_FOUND"
NAN, INF = math.nan, math.inf


@dataclass(frozen=True)
class SpecCase:
    """A spec submitted over the wire (SubmitJob); ``code`` and a ``field`` the status must name."""

    id: str
    spec: dict
    code: str
    field: str


@dataclass(frozen=True)
class RequestCase:
    """A raw call: ``method``, the request (a message or raw bytes), the status and the text it must hold."""

    id: str
    method: str
    request: object
    code: str
    names: str
    stream: bool = False


@dataclass(frozen=True)
class FileCase:
    """A file given to the command line: its bytes, the command, the exit code and the text stderr/stdout holds."""

    id: str
    name: str
    data: bytes
    rc: int
    names: str
    command: str = "validate"
    extra: tuple = field(default=())


def _hek(**over) -> dict:
    return small_hek_spec(**over)


def _numerics(**over) -> dict:
    return {"dt_ms": 0.02, "duration_ms": 2.0, **over}


def _light(pattern=None, waveform=None, irradiance=1.0) -> dict:
    s = {"irradiance_mw_per_mm2": irradiance}
    if pattern is not None:
        s["pattern"] = pattern
    if waveform is not None:
        s["waveform"] = waveform
    return {"light": [s]}


def _map(field_: dict, parameter: str = "g_Na") -> dict:
    return {"tissue": {"model": {"preset": "hek_gokhale2017_35c", "maps": [{"parameter": parameter,
                                                                           "field": field_}]}}}


def _ions(**ions) -> dict:
    return {"tissue": {"model": {"preset": "hek_gokhale2017_35c", "ions": ions}}}


def _disk(x=50.0, y=50.0, r=10.0) -> dict:
    return {"disk": {"center_um": {"x": x, "y": y}, "radius_um": r}}


def _nested_union(depth: int) -> dict:
    p = _disk()
    for _ in range(depth):
        p = {"union": {"patterns": [p]}}
    return p


def spec_cases() -> list[SpecCase]:
    c = []
    add = lambda id_, spec, code, field_: c.append(SpecCase(id_, spec, code, field_))  # noqa: E731
    # extreme floats, each on its own field
    for value, tag in ((1e308, "1e308"), (NAN, "nan"), (INF, "inf"), (-INF, "-inf")):
        add(f"duration {tag}", _hek(numerics=_numerics(duration_ms=value)), IA, "numerics.duration_ms")
    for value, tag in ((5e-324, "5e-324"), (NAN, "nan"), (1e308, "1e308"), (-0.01, "negative")):
        add(f"dt {tag}", _hek(numerics=_numerics(dt_ms=value)), IA, "numerics.dt_ms")
    for value, tag in ((1e308, "1e308"), (NAN, "nan"), (-1.0, "negative"), (0.0, "zero")):
        add(f"dx {tag}", _hek(grid={"nx": 12, "ny": 10, "dx_um": value}), IA, "grid.dx_um")
    add("dx 5e-324 breaks stability", _hek(grid={"nx": 12, "ny": 10, "dx_um": 5e-324}), IA, "numerics.dt_ms")
    for value, tag in ((1e308, "1e308"), (NAN, "nan"), (-1.0, "negative")):
        add(f"diffusivity {tag}", _hek(coupling={"diffusivity_um2_per_ms": value}), IA,
            "coupling.diffusivity_um2_per_ms")
        add(f"irradiance {tag}", _hek(**_light(irradiance=value)), IA, "light[0].irradiance_mw_per_mm2")
    add("random.cv 1e308", _hek(**_map({"random": {"cv": 1e308, "correlation_length_um": 10}})), IA,
        "tissue.model.maps[0].field.random.cv")
    add("correlation length 1e12", _hek(**_map({"random": {"cv": 0.1, "correlation_length_um": 1e12}})), IA,
        "tissue.model.maps[0].field.random.correlation_length_um")
    add("gradient value nan", _hek(**_map({"gradient": {"start_um": {"x": 0, "y": 0}, "end_um": {"x": 100, "y": 0},
                                                        "start_value": NAN, "end_value": 1}})), IA,
        "tissue.model.maps[0].field.gradient.start_value")
    add("na_in_mm 5e-324", _hek(**_ions(na_in_mm=5e-324)), IA, "tissue.model.ions.na_in_mm")
    add("k_out_mm 1e308", _hek(**_ions(k_out_mm=1e308)), IA, "tissue.model.ions.k_out_mm")
    add("temperature nan", _hek(**_ions(temperature_c=NAN)), IA, "tissue.model.ions.temperature_c")
    add("temperature 1e308", _hek(**_ions(temperature_c=1e308)), IA, "tissue.model.ions.temperature_c")
    add("sine frequency 1e308", _hek(**_light(waveform={"sine": {"frequency_hz": 1e308, "amplitude": 1,
                                                                 "offset": 1}})), IA,
        "light[0].waveform.sine.frequency_hz")
    add("sine above nyquist", _hek(**_light(waveform={"sine": {"frequency_hz": 1e5, "amplitude": 1, "offset": 1}})),
        IA, "light[0].waveform.sine.frequency_hz")
    add("pulse width nan", _hek(**_light(waveform={"pulse": {"start_ms": 0, "width_ms": NAN}})), IA,
        "light[0].waveform.pulse.width_ms")
    add("pulse start negative", _hek(**_light(waveform={"pulse": {"start_ms": -1, "width_ms": 1}})), IA,
        "light[0].waveform.pulse.start_ms")
    add("pulse train period 5e-324", _hek(**_light(waveform={"pulse_train": {"start_ms": 0, "width_ms": 1,
                                                                              "period_ms": 5e-324, "count": 3}})), IA,
        "light[0].waveform.pulse_train.period_ms")
    add("sampled values inf", _hek(**_light(waveform={"sampled": {"times_ms": [0, 1], "values": [0, INF]}})), IA,
        "light[0].waveform.sampled.values[1]")
    add("sampled times not increasing", _hek(**_light(waveform={"sampled": {"times_ms": [1, 0], "values": [0, 1]}})),
        IA, "light[0].waveform.sampled.times_ms[1]")
    add("disk radius 1e308", _hek(**_light(pattern=_disk(r=1e308))), IA, "light[0].pattern.disk.radius_um")
    add("disk centre nan", _hek(**_light(pattern=_disk(x=NAN))), IA, "light[0].pattern.disk.center_um.x")
    add("rectangle inverted", _hek(**_light(pattern={"rectangle": {"min_um": {"x": 50, "y": 50},
                                                                   "max_um": {"x": 10, "y": 10}}})), IA,
        "light[0].pattern.rectangle.max_um")
    add("sample interval 5e-324", _hek(output={"sample_interval_ms": 5e-324}), IA, "output.sample_interval_ms")
    add("sample interval 1e308", _hek(output={"sample_interval_ms": 1e308}), IA, "output.sample_interval_ms")
    add("chunk 1e308", _hek(numerics=_numerics(chunk_ms=1e308)), IA, "numerics.chunk_ms")
    add("parameter 1e308", _hek(tissue={"model": {"preset": "hek_gokhale2017_35c", "parameters": {"g_Na": 1e308}}}),
        IA, "tissue.model.parameters.g_Na")
    add("parameter misspelt", _hek(tissue={"model": {"preset": "hek_gokhale2017_35c", "parameters": {"g_Nah": 1}}}),
        IA, "tissue.model.parameters.g_Nah")
    add("preset misspelt", _hek(tissue={"model": {"preset": "hek_gokhale2017_35"}}), IA, "tissue.model.preset")
    add("opsin misspelt", _hek(opsin={"preset": "cherif"}), IA, "opsin.preset")
    add("initial unknown state", nagumo_spec(tissue={"model": {"preset": "nagumo"}, "initial": {"regions": [
        {"pattern": _disk(2, 2, 1), "values": {"vv": 1.0}}]}}), IA, "tissue.initial.regions[0].values.vv")
    add("output variable unknown", _hek(output={"variables": ["vv"]}), IA, "output.variables[0]")
    add("binning zero", _hek(readout={"enabled": True, "camera": {"binning": 0}}), IA, "readout.camera.binning")
    add("frame rate nan", _hek(readout={"enabled": True, "camera": {"frame_rate_hz": NAN}}), IA,
        "readout.camera.frame_rate_hz")
    # sizes
    add("grid uint32 max", _hek(grid={"nx": 2**32 - 1, "ny": 1, "dx_um": 10}), IA, "grid")
    add("grid 10^9 cells", _hek(grid={"nx": 31623, "ny": 31623, "dx_um": 10}), IA, "grid")
    add("grid zero", _hek(grid={"nx": 0, "ny": 10, "dx_um": 10}), IA, "grid.nx")
    add("cell-steps over limit", nagumo_spec(n=100, numerics={"dt_ms": 0.02, "duration_ms": 4000.0}), RE,
        "numerics.duration_ms")
    add("output over limit", nagumo_spec(n=200, numerics={"dt_ms": 0.02, "duration_ms": 40.0},
                                         output={"sample_interval_ms": 0.02}), RE, "output")
    add("labels 10.8 MB", _hek(labels={f"k{i}": "x" * 1000 for i in range(10_800)}), IA, "labels")
    add("labels too many", _hek(labels={f"k{i}": "v" for i in range(100)}), IA, "labels")
    add("name 100 kB", _hek(name="n" * 100_000), IA, "name")
    add("polygon 100,000 vertices", _hek(**_light(pattern={"polygon": {"vertices_um": [
        {"x": 50 + 40 * math.cos(k / 15915.5), "y": 50 + 40 * math.sin(k / 15915.5)} for k in range(100_000)]}})),
        IA, "light[0].pattern.polygon.vertices_um")
    add("union 40 deep", _hek(**_light(pattern=_nested_union(40))), IA, "light[0].pattern")
    add("union of 10,000 disks", _hek(**_light(pattern={"union": {"patterns": [_disk(k % 100, k // 100 % 100, 1)
                                                                                 for k in range(10_000)]}})),
        IA, "light[0].pattern")
    add("raster shape wrong", _hek(coupling={"diffusivity_map": {"raster": {"shape": [3, 3], "values": [1.0] * 9}}}),
        IA, "coupling.diffusivity_map.raster.shape")
    add("raster values short", _hek(coupling={"diffusivity_map": {"raster": {"shape": [10, 12],
                                                                              "values": [1.0] * 7}}}),
        IA, "coupling.diffusivity_map.raster.values")
    add("raster nan", _hek(coupling={"diffusivity_map": {"raster": {"shape": [10, 12],
                                                                     "values": [1.0] * 119 + [NAN]}}}),
        IA, "coupling.diffusivity_map.raster.values")
    add("npy path on a server", _hek(coupling={"diffusivity_map": {"raster": {"npy_path": "/etc/passwd"}}}), IA,
        "coupling.diffusivity_map.raster.npy_path")
    add("png path on a server", _hek(**_light(pattern={"image": {"png_path": "../../secret.png",
                                                                 "pixel_pitch_um": 1}})), IA,
        "light[0].pattern.image.png_path")
    add("mmt path on a server", _hek(tissue={"model": {"mmt_path": "/etc/passwd"}}), IA, "tissue.model.mmt_path")
    add("precision enum 99", _hek(numerics=_numerics(precision=99)), IA, "numerics.precision")
    add("backend enum 99", _hek(numerics=_numerics(backend=99)), IA, "numerics.backend")
    add("interpolation enum 99", _hek(**_light(waveform={"sampled": {"times_ms": [0, 1], "values": [0, 1],
                                                                     "interpolation": 99}})), IA,
        "light[0].waveform.sampled.interpolation")
    add("empty spec", {}, IA, "numerics.duration_ms")
    return c


def request_cases(pb, spec_pb2) -> list[RequestCase]:
    """Calls that are not spec checks: ids, tokens, enums, sweeps, raw bytes. ``pb`` is ``service_pb2``."""
    c = []
    add = lambda *a, **k: c.append(RequestCase(*a, **k))  # noqa: E731
    add("list state 99", "ListJobs", pb.ListJobsRequest(state=99), IA, "state")
    add("list page token garbage", "ListJobs", pb.ListJobsRequest(page_token="%%%not-a-token"), IA, "page_token")
    add("list page token forged", "ListJobs", pb.ListJobsRequest(page_token="YWZ0ZXI6eHg="), IA, "page_token")
    add("get empty id", "GetJob", pb.GetJobRequest(job_id=""), NF, "job_id")
    add("get 10 kB id", "GetJob", pb.GetJobRequest(job_id="a" * 10_000), NF, "job_id")
    add("get path id", "GetJob", pb.GetJobRequest(job_id="../../jobs.sqlite"), NF, "job_id")
    add("cancel unknown", "CancelJob", pb.CancelJobRequest(job_id="nope"), NF, "job_id")
    add("delete unknown", "DeleteJob", pb.DeleteJobRequest(job_id="nope"), NF, "job_id")
    add("watch unknown", "WatchJob", pb.WatchJobRequest(job_id="nope"), NF, "job_id", stream=True)
    add("stream unknown", "StreamResults", pb.StreamResultsRequest(job_id="nope"), NF, "job_id", stream=True)
    add("request_id 10 kB", "SubmitJob", pb.SubmitJobRequest(request_id="r" * 10_000), IA, "request_id")

    def sweep(**kw):
        base = spec_pb2.JobSpec()
        from google.protobuf import json_format

        json_format.ParseDict(nagumo_spec(), base)
        msg = pb.SweepSpec(base=base, metrics=[pb.SweepMetric(name="propagated")],
                           **{k: v for k, v in kw.items() if k != "axes"})
        for a in kw.get("axes", []):
            msg.axes.add().CopyFrom(a)
        return pb.SubmitSweepRequest(spec=msg)

    axis = lambda path, n: pb.SweepAxis(path=path, values=[float(k + 1) for k in range(n)])  # noqa: E731
    add("sweep 10^9 runs", "SubmitSweep", sweep(axes=[axis("coupling.diffusivity_um2_per_ms", 1000),
                                                      axis("numerics.duration_ms", 1000),
                                                      axis("seed", 1000)]), RE, "axes")
    add("sweep num 2^32-1", "SubmitSweep", sweep(axes=[pb.SweepAxis(
        path="coupling.diffusivity_um2_per_ms", linspace=pb.Range(start=0.5, stop=2, num=2**32 - 1))]), RE, "axes")
    add("sweep combine 99", "SubmitSweep", sweep(combine=99, axes=[axis("coupling.diffusivity_um2_per_ms", 2)]),
        IA, "combine")
    add("sweep no axes", "SubmitSweep", sweep(), IA, "axes")
    add("sweep path unknown", "SubmitSweep", sweep(axes=[axis("coupling.difusivity", 2)]), IA, "axes[0].path")
    add("get sweep unknown", "GetSweep", pb.GetSweepRequest(sweep_id="nope"), NF, "sweep_id")

    # raw bytes: not a message, nesting past protobuf's limit, unknown and mistyped fields
    add("garbage bytes", "SubmitJob", b"\xff\xff\xff\xff\x0f\x00garbage", IA, "not a valid")
    # written byte by byte: protobuf itself refuses to build (or parse) a message nested this deep
    union_no = spec_pb2.Pattern.DESCRIPTOR.fields_by_name["union"].number
    patterns_no = spec_pb2.Pattern.DESCRIPTOR.fields_by_name["union"].message_type.fields_by_name["patterns"].number
    deep = spec_pb2.Pattern(disk=spec_pb2.Disk(radius_um=1)).SerializeToString()
    for _ in range(200):
        deep = _field(union_no, _field(patterns_no, deep))
    stimulus = _field(spec_pb2.LightStimulus.DESCRIPTOR.fields_by_name["pattern"].number, deep)
    add("200-deep union (binary)", "SubmitJob", _wrap(_field(6, stimulus)), IA, "not a valid")
    from google.protobuf import json_format

    good = json_format.ParseDict(nagumo_spec(), spec_pb2.JobSpec()).SerializeToString()
    unknown = good + b"\xf8\x07\x01"                      # field 127, varint 1
    add("unknown field number", "SubmitJob", _wrap(unknown), IA, "unknown field number 127")
    mistyped = good + b"\x12\x03\x0a\x01x"                # grid { nx: <length-delimited "x"> }
    add("mistyped grid.nx", "SubmitJob", _wrap(mistyped), IA, "spec.grid.nx")
    return c


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field ``number`` holding ``payload``."""
    out, n = bytearray([number << 3 | 2]), len(payload)
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            break
    return bytes(out) + payload


def _wrap(spec_bytes: bytes) -> bytes:
    """A SubmitJobRequest whose field 1 (spec) holds ``spec_bytes`` as they are."""
    return _field(1, spec_bytes)


def _alias_bomb() -> bytes:
    lines = ["d0: &d0 {disk: {center_um: {x: 50, y: 50}, radius_um: 10}}"]
    for i in range(1, 8):
        lines.append(f"d{i}: &d{i} {{union: {{patterns: [{', '.join([f'*d{i - 1}'] * 10)}]}}}}")
    return ("\n".join(lines) + "\nname: bomb\ngrid: {nx: 10, ny: 10, dx_um: 10}\n"
            "light: [{pattern: *d7, irradiance_mw_per_mm2: 1}]\nnumerics: {dt_ms: 0.02, duration_ms: 1}\n").encode()


def file_cases() -> list[FileCase]:
    good = json.dumps(small_hek_spec())
    c = []
    add = lambda *a, **k: c.append(FileCase(*a, **k))  # noqa: E731
    add("utf-16 spec", "spec.json", good.encode("utf-16"), 0, "ok:")
    add("utf-32 spec", "spec.json", good.encode("utf-32"), 0, "ok:")
    add("utf-8 with bom", "spec.json", good.encode("utf-8-sig"), 0, "ok:")
    add("latin-1 bytes", "spec.json", good.replace("test", "t\u00e9st").encode("latin-1"), 1, "not UTF-8 text")
    add("binary garbage", "spec.json", bytes(range(256)) * 4, 1, "spec")
    add("empty file", "spec.yaml", b"", 1, "must be a mapping")
    add("yaml alias bomb (10^7 leaves)", "bomb.yaml", _alias_bomb(), 1, "aliases are expanded")
    add("200,000-deep arrays", "deep.json", b"[" * 200_000 + b"]" * 200_000, 1, "nested too deeply")
    add("3000-deep union", "union.json", _deep_union_json(3000), 1, "levels")
    add("yaml 10,000 deep", "deep.yaml", b"a: " + b"[" * 10_000 + b"]" * 10_000 + b"\n", 1, "nesting depth")
    add("python tag in yaml", "evil.yaml", b"name: !!python/object/apply:os.system ['true']\n", 1, "YAML")
    add("top-level list", "list.json", b"[1, 2, 3]", 1, "must be a mapping")
    add("camelCase typo", "typo.json", json.dumps(small_hek_spec(grid={"nx": 12, "ny": 10, "dxUM": 10})).encode(), 1,
        "did you mean 'dx_um'")
    add("nx -5", "neg.json", json.dumps(small_hek_spec(grid={"nx": -5, "ny": 10, "dx_um": 10})).encode(), 1,
        "grid.nx: -5 is not allowed; must be a whole number >= 1")
    add("every unknown field at once", "many.json", json.dumps(small_hek_spec(
        grid={"nx": 12, "ny": 10, "dx_um": 10, "nz": 1}, numerics={"dt_ms": 0.02, "duration_ms": 2, "dtt": 1})).encode(),
        1, "numerics.dtt")
    add("light off the sheet (warning)", "off.json", json.dumps(small_hek_spec(**_light(
        pattern=_disk(x=5000, y=5000)))).encode(), 0, "covers no cell of the sheet")
    add("pulse after the run (warning)", "late.json", json.dumps(small_hek_spec(**_light(
        waveform={"pulse": {"start_ms": 50, "width_ms": 1}}))).encode(), 0, "after the end of the run")
    add("sweep combine prodcut", "sweep.yaml", b"base: {grid: {nx: 4, ny: 4, dx_um: 0.5}, tissue: {model: {preset: "
        b"nagumo}}, numerics: {dt_ms: 0.02, duration_ms: 1}}\naxes: [{path: coupling.diffusivity_um2_per_ms, values: "
        b"[1, 2]}]\ncombine: prodcut\nmetrics: [propagated]\n", 1, "combine", command="sweep", extra=("-o", "{tmp}/s.zarr"))
    add("sweep num 2^32-1", "sweep2.yaml", b"base: {grid: {nx: 4, ny: 4, dx_um: 0.5}, tissue: {model: {preset: "
        b"nagumo}}, numerics: {dt_ms: 0.02, duration_ms: 1}}\naxes: [{path: coupling.diffusivity_um2_per_ms, "
        b"linspace: {start: 1, stop: 2, num: 4294967295}}]\nmetrics: [propagated]\n", 1, "4,294,967,295 runs",
        command="sweep", extra=("-o", "{tmp}/s2.zarr"))
    # the same files given to `optowave submit`: refused by the client before anything is sent (no server here)
    offline = ("--server", "127.0.0.1:9")
    add("submit: yaml alias bomb", "bomb.yaml", _alias_bomb(), 1, "aliases are expanded", command="submit",
        extra=offline)
    add("run: yaml alias bomb", "bomb.yaml", _alias_bomb(), 1, "aliases are expanded", command="run",
        extra=("-o", "{tmp}/bomb.zarr"))
    add("submit: 200,000-deep arrays", "deep.json", b"[" * 200_000 + b"]" * 200_000, 1, "nested too deeply",
        command="submit", extra=offline)
    add("submit: camelCase typo", "typo.json", json.dumps(small_hek_spec(grid={"nx": 12, "ny": 10, "dxUM": 10}))
        .encode(), 1, "grid.dxUM: unknown field 'dxUM' (did you mean 'dx_um'?)", command="submit", extra=offline)
    add("submit: latin-1 bytes", "spec.json", good.replace("test", "t\u00e9st").encode("latin-1"), 1,
        "not UTF-8 text", command="submit", extra=offline)
    return c


def _deep_union_json(depth: int) -> bytes:
    spec = small_hek_spec()
    text = json.dumps(spec)
    pattern = '{"union": {"patterns": [' * depth + json.dumps(_disk()) + "]}}" * depth
    light = '"light": [{"pattern": ' + pattern + ', "irradiance_mw_per_mm2": 1}]'
    return text.replace(text[text.index('"light"'):text.index(', "numerics"')], light).encode()
