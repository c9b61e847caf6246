"""Small valid specs for tests to start from."""
from __future__ import annotations

import copy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def small_hek_spec(**overrides) -> dict:
    """A tiny HEK sheet that validates and runs in a fraction of a second."""
    spec = {
        "name": "test",
        "grid": {"nx": 12, "ny": 10, "dx_um": 10.0},
        "tissue": {"model": {"preset": "hek_gokhale2017_35c"}},
        "coupling": {"diffusivity_um2_per_ms": 1000.0},
        "light": [{"pattern": {"rectangle": {"min_um": {"x": 0, "y": 0}, "max_um": {"x": 30, "y": 100}}},
                   "waveform": {"pulse": {"start_ms": 1, "width_ms": 2}}, "irradiance_mw_per_mm2": 1.0}],
        "numerics": {"dt_ms": 0.02, "duration_ms": 2.0},
        "output": {"sample_interval_ms": 0.5},
    }
    return _merge(spec, overrides)


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out
