"""Designing light patterns: protocols that write a light program, and searches that find the one that works.

>>> from solver.design import find_threshold, protocols, spec_maker                   # doctest: +SKIP
>>> base = protocols.pacing("examples/planar_wave.json", site="spot", radius_um=100)   # doctest: +SKIP
>>> make = spec_maker(base, "light[0].irradiance_mw_per_mm2")                          # doctest: +SKIP
>>> find_threshold(make, 0.01, 10, criterion="propagated >= 1").summary["threshold"]   # doctest: +SKIP

Searches run their rounds through an evaluator: :class:`LocalEvaluator` here, one run after another, or
``service.sweep.SweepEvaluator`` on the sweep runner (a Dask cluster); ``optowave design`` runs a design file
(:mod:`solver.design.plan`) either way and writes the report (:mod:`solver.design.report`).
"""
from . import protocols
from .evaluate import Criterion, Evaluator, LocalEvaluator, RunResult, parse_criteria
from .plan import DesignSpec, DesignSpecError, load_design, run_design
from .protocols import PROTOCOLS, apply_protocol
from .report import report_figure, write_report
from .search import (DesignError, DesignResult, Run, find_threshold, find_window, minimise, spec_maker,
                     strength_duration)

__all__ = [
    "PROTOCOLS", "Criterion", "DesignError", "DesignResult", "DesignSpec", "DesignSpecError", "Evaluator",
    "LocalEvaluator", "Run", "RunResult", "apply_protocol", "find_threshold", "find_window", "load_design",
    "minimise", "parse_criteria", "protocols", "report_figure", "run_design", "spec_maker", "strength_duration",
    "write_report",
]
