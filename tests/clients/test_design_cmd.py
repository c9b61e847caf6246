"""``optowave protocol`` and ``optowave design`` from the command line."""
from __future__ import annotations

import json

from clients.cli import main
from tests.solver.test_design import sheet


def test_protocol_writes_a_spec_that_loads(tmp_path, capsys):
    (tmp_path / "base.json").write_text(json.dumps(sheet()))
    out = tmp_path / "spiral.json"
    rc = main(["protocol", "s1s2_spiral", str(tmp_path / "base.json"), "--set", "interval_ms=60", "--set",
               "s2=\"quadrant\"", "-o", str(out)])
    assert rc == 0
    spec = json.loads(out.read_text())
    s2 = spec["light"][1]
    assert s2["waveform"]["pulse"]["start_ms"] == 61.0                 # S1 at 1 ms, 60 ms later
    assert s2["pattern"]["rectangle"] == {"min_um": {"x": 0.0, "y": 240.0}, "max_um": {"x": 240.0, "y": 480.0}}
    assert spec["labels"]["protocol.interval_ms"] == "60"
    assert main(["protocol", "pacing", "--list"]) == 0
    assert "period_ms = 500.0" in capsys.readouterr().out


def test_protocol_with_a_bad_parameter_names_it(tmp_path, capsys):
    (tmp_path / "base.json").write_text(json.dumps(sheet()))
    assert main(["protocol", "pacing", str(tmp_path / "base.json"), "--set", "site=\"corner\""]) == 1
    assert "site = 'corner' is not allowed" in capsys.readouterr().err


def test_design_here_writes_the_report_and_a_rerun_reuses_the_runs(tmp_path, capsys):
    (tmp_path / "base.json").write_text(json.dumps(sheet()))
    (tmp_path / "d.yaml").write_text(
        "name: spot threshold\nbase: base.json\nprotocol: pacing\n"
        "protocol_parameters: {site: spot, radius_um: 100, pulse_ms: 2}\nsearch: threshold\n"
        "parameter: irradiance_mw_per_mm2\nrange: [0.05, 5]\ntolerance: 0.05\n")
    args = ["design", str(tmp_path / "d.yaml"), "-o", str(tmp_path / "out"), "--quiet"]   # here, by default
    assert main(args) == 0
    first = capsys.readouterr().out
    assert "threshold of irradiance_mw_per_mm2" in first and "0 from earlier records" in first
    for name in ("report.json", "found.json", "runs.csv", "report.png"):
        assert (tmp_path / "out" / name).exists()
    # the threshold the report names is the least irradiance seen to pace, every weaker flash failed, and the
    # bracket [highest failure, threshold] is within the file's 5 %
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    threshold, (low, high) = report["summary"]["threshold"], report["summary"]["bracket"]
    paced = [r["irradiance_mw_per_mm2"] for r in report["runs"] if r["success"]]
    failed = [r["irradiance_mw_per_mm2"] for r in report["runs"] if not r["success"]]
    assert paced and failed and threshold == high == min(paced) and low == max(failed) < threshold
    assert threshold / low - 1 <= 0.05
    assert json.loads((tmp_path / "out" / "found.json").read_text())["light"][0]["irradiance_mw_per_mm2"] == threshold
    assert main(args) == 0
    assert "(0 simulated," in capsys.readouterr().out


def test_bad_design_file_exits_1_naming_the_field(tmp_path, capsys):
    (tmp_path / "d.yaml").write_text("base: {}\nsearch: bisect\n")
    assert main(["design", str(tmp_path / "d.yaml"), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "search: 'bisect' is not allowed" in err and "Traceback" not in err
