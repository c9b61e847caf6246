"""``optowave preview``: writes the figure, summarises the light program, and fails cleanly on bad input."""
from __future__ import annotations

import json

from PIL import Image

from clients.cli import main

from tests.specs import EXAMPLES, small_hek_spec


def test_preview_of_the_spiral_example_writes_a_png_and_summarises_each_stimulus(tmp_path, capsys):
    out = tmp_path / "light.png"
    assert main(["preview", str(EXAMPLES / "spiral.json"), "-o", str(out)]) == 0
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size[0] >= 1000
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"wrote {out}: light program of 'spiral wave") and "200×200 cells" in lines[0]
    # S1: 100 × 4000 µm at 1 mW/mm² for 3 ms = 0.4 mm² · 1 mW/mm² · 3 ms = 1.2 µJ
    assert lines[1] == "  light[0] S1: bar on the left edge: peak 1 mW/mm² over 0.4 mm², on 3 ms, 0.0012 mJ"
    assert lines[2].startswith("  light[1] S2: lower-left quadrant") and lines[2].endswith("over 4 mm², on 3 ms, 0.012 mJ")


def test_preview_writes_svg_and_warns_about_a_pulse_the_time_steps_miss(tmp_path, capsys):
    spec = small_hek_spec()
    spec["light"][0]["waveform"] = {"pulse": {"start_ms": 1.003, "width_ms": 0.005}}
    path = tmp_path / "short.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "short.svg"
    assert main(["preview", str(path), "-o", str(out), "--t-max", "1.5"]) == 0
    assert out.read_text().lstrip().startswith("<?xml")
    captured = capsys.readouterr()
    assert "on 0.005 ms" in captured.out
    assert captured.err.startswith("warning: light[0]: the solver's steps of 0.02 ms deliver 0 mJ")


def test_a_bad_spec_exits_1_with_an_error_naming_the_field(tmp_path, capsys):
    spec = small_hek_spec()
    spec["grid"]["nx"] = -3
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))
    out = tmp_path / "light.png"
    assert main(["preview", str(path), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: invalid spec") and "grid.nx" in err and "-3" in err
    assert "Traceback" not in err and not out.exists()


def test_a_missing_spec_file_is_a_clean_error(tmp_path, capsys):
    assert main(["preview", str(tmp_path / "nowhere.json"), "-o", str(tmp_path / "light.png")]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"error: invalid spec (1 problem):\n  spec: file '{tmp_path / 'nowhere.json'}' does not exist"


def test_t_max_past_the_run_and_an_unknown_suffix_are_errors(tmp_path, capsys):
    spec = str(EXAMPLES / "planar_wave.json")
    assert main(["preview", spec, "-o", str(tmp_path / "light.png"), "--t-max", "61"]) == 1
    assert capsys.readouterr().err.strip() == ("error: --t-max 61 is out of range: allowed 0 < MS <= 60 "
                                               "(the run's numerics.duration_ms)")
    assert main(["preview", spec, "-o", str(tmp_path / "light.jpg")]) == 1
    assert "allowed suffixes .png, .svg, .pdf" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
