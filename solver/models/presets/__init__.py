"""Presets written as model descriptions (:mod:`solver.models.description`), one file per preset.

Each module offers ``description(...) -> dict`` in the JSON form of a ``ModelDefinition``. They run
on the generated kernels (:mod:`solver.models.codegen`) and are checked against the hand-written
kernels of the registry, which still serve the presets by name.
"""
