"""The presets written as model descriptions (:mod:`solver.models.description`), one file per family.

Each module offers ``description(preset) -> dict`` in the JSON form of a ``ModelDefinition`` and the
tuple ``PRESETS`` of the names it describes. The registry (:mod:`solver.models`) builds every preset
from its description (:mod:`solver.models.codegen`): the reference step, the exact and lookup-table CPU
kernels and the CUDA kernel are all generated (benchmarks/README.md: at least as fast as the hand-written
kernels they replaced).
"""

from __future__ import annotations

from . import generic_media, hek_gokhale2017

__all__ = ["PRESET_NAMES", "preset_description"]

_FAMILIES = (hek_gokhale2017, generic_media)

#: Every preset's name.
PRESET_NAMES = frozenset(name for family in _FAMILIES for name in family.PRESETS)


def preset_description(name: str) -> dict:
    """The JSON form of preset ``name``'s description, under the preset's own name."""
    for family in _FAMILIES:
        if name in family.PRESETS:
            d = family.description(name)
            d["name"] = name
            return d
    raise ValueError(f"no preset named {name!r}; allowed: {', '.join(sorted(PRESET_NAMES))}")
