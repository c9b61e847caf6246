"""Validation of spec objects: every problem names the field path, the value and the bound.

Nothing is clipped or guessed: a spec either runs as written or is rejected with the full
list of what is wrong. Warnings (e.g. a grid too coarse for the electrotonic length) do not
stop a run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _types as t
from ._accuracy import NO_CV_MODEL, SINGLE_CELL_NOTE, check_accuracy, estimate_cv_error
from ._errors import FieldViolation
from ._limits import DEFAULT_SPEC_LIMITS, MAX_MAGNITUDE, SpecLimits
from ._schema import closest
from ._validate_sizes import check_sizes as _check_sizes
from ._validate_stimuli import check_sampling as _check_sampling
from ._validate_stimuli import warn_unseen as _warn_unseen
from ._validate_patterns import check_pattern as _check_pattern
from ._validate_patterns import check_raster as _check_raster
from ._validate_patterns import contains_sum

#: Default ceiling on the state and output memory of one job (bytes).
DEFAULT_MEMORY_LIMIT_BYTES = 16 * 2**30
OUTPUT_EXTRA_VARIABLES = ("irradiance",)
#: Above this fraction of dx²/(4·D_max), dt draws a warning: the ionic conductance adds to the
#: diffusive one in the explicit step's stability bound.
STABILITY_MARGIN = 0.8
#: Shortest time step (ms); a step of a femtosecond has no physical use and its step count overflows.
MIN_DT_MS = 1e-6
#: Most time steps of one run.
MAX_STEPS = 10**12
#: Wavelengths (nm) a light stimulus or the imaging light may name (where the action spectra are defined).
WAVELENGTH_RANGE_NM = (350.0, 750.0)
#: An opsin spectrum's full width at half maximum (nm): published ones span about 60 to 150 nm.
SPECTRUM_FWHM_RANGE_NM = (10.0, 400.0)


@dataclass(frozen=True)
class Report:
    """What validation found: ``errors`` stop the job, ``warnings`` do not."""

    errors: tuple[FieldViolation, ...]
    warnings: tuple[FieldViolation, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


class _Checker:
    def __init__(self):
        self.errors: list[FieldViolation] = []
        self.warnings: list[FieldViolation] = []

    def error(self, path, msg):
        self.errors.append(FieldViolation(path, msg))

    def warn(self, path, msg):
        self.warnings.append(FieldViolation(path, msg))

    def number(self, path, value, *, gt=None, ge=None, le=None, lt=None, what="") -> bool:
        """Check a finite number against bounds; report and return False when it breaks one."""
        if value is None or not math.isfinite(value):
            self.error(path, f"{value!r} is not a finite number{what}")
            return False
        if abs(value) > MAX_MAGNITUDE:
            self.error(path, f"{value!r} is not allowed; must be within ±{MAX_MAGNITUDE:g}{what}")
            return False
        for op, bound, ok in (
            (">", gt, gt is None or value > gt),
            (">=", ge, ge is None or value >= ge),
            ("<=", le, le is None or value <= le),
            ("<", lt, lt is None or value < lt),
        ):
            if not ok:
                self.error(path, f"{value!r} is not allowed; must be {op} {bound:g}{what}")
                return False
        return True


def validate(spec: t.JobSpec, *, memory_limit_bytes: int = DEFAULT_MEMORY_LIMIT_BYTES,
             limits: SpecLimits = DEFAULT_SPEC_LIMITS) -> Report:
    """Check a spec completely; return every error and warning (see :class:`Report`).

    ``limits`` bounds the sizes (pattern depth and leaves, polygon vertices, labels) checked before
    anything is rasterised.
    """
    from ..models import MODELS
    from ..models import opsin as opsin_mod

    c = _Checker()
    c.limits = limits
    _check_sizes(c, spec, limits)
    if c.errors:     # a pattern too large to walk, labels too large to keep: nothing else is looked at
        return Report(tuple(c.errors), ())
    g = spec.grid
    grid_ok = True
    for name, value in (("nx", g.nx), ("ny", g.ny)):
        if value < 1:
            c.error(f"grid.{name}", f"{value} is not allowed; must be >= 1 (a grid needs at least one cell)")
            grid_ok = False
    grid_ok &= c.number("grid.dx_um", g.dx_um, gt=0, what=" µm")

    model = _check_model_source(c, spec, MODELS)

    # memory: refuse before anything is rasterised
    if grid_ok and model is not None:
        opsin_states = 0 if (spec.opsin.preset == "none" or not model.supports_opsin) else 2
        n_state = len(model.state_names) + opsin_states
        item = 4 if spec.numerics.precision == "float32" else 8
        state_bytes = (2 * n_state * item + 6 * 8) * g.nx * g.ny
        if state_bytes > memory_limit_bytes:
            c.error("grid", f"{g.ny}×{g.nx} cells need {state_bytes / 2**30:.1f} GiB of state; the limit is "
                    f"{memory_limit_bytes / 2**30:.1f} GiB (use a smaller grid or float32)")
            grid_ok = False

    # parameters and their maps
    if model is not None:
        for name, value in spec.tissue.model.parameters:
            path = f"tissue.model.parameters.{name}"
            if name not in model.defaults:
                c.error(path, f"unknown parameter {name!r} of {model.name}{closest(name, model.param_names)}; "
                        f"allowed: {', '.join(model.param_names)}")
                continue
            lo, hi = model.param_bounds.get(name, (-math.inf, math.inf))
            c.number(path, value, ge=lo if math.isfinite(lo) else None, le=hi if math.isfinite(hi) else None,
                     what=f" {model.param_units.get(name, '')}".rstrip())
        for k, m in enumerate(spec.tissue.model.maps):
            path = f"tissue.model.maps[{k}]"
            if m.parameter not in model.defaults and m.parameter != "opsin.g":
                c.error(f"{path}.parameter", f"unknown parameter {m.parameter!r} of {model.name}; allowed: "
                        f"{', '.join(model.param_names)}, opsin.g")
            _check_field(c, f"{path}.field", m.field, g, spec.base_dir, grid_ok)
        if spec.tissue.model.ions.given():
            _check_ions(c, spec.tissue.model.ions, model)

    # tissue mask and initial state
    _check_pattern(c, "tissue.mask", spec.tissue.mask, g, spec.base_dir, grid_ok)
    if grid_ok and not c.errors:
        from ..stimulus.patterns import rasterise

        try:
            mask = rasterise(spec.tissue.mask, g.ny, g.nx, g.dx_um, base_dir=spec.base_dir) >= 0.5
            if not mask.any():
                c.error("tissue.mask", "the tissue is empty: the mask covers no grid cell (a cell counts when its "
                        "centre half is covered)")
        except (OSError, ValueError) as exc:
            c.error("tissue.mask", str(exc))
    for k, region in enumerate(spec.tissue.initial):
        path = f"tissue.initial.regions[{k}]"
        _check_pattern(c, f"{path}.pattern", region.pattern, g, spec.base_dir, grid_ok)
        for name, value in region.values:
            if model is not None and name not in model.state_names:
                c.error(f"{path}.values.{name}", f"unknown state variable {name!r}; allowed: {', '.join(model.state_names)}")
            else:
                c.number(f"{path}.values.{name}", value)

    # coupling
    D = _check_coupling(c, spec, model, grid_ok)

    # opsin
    opsin_name = spec.opsin.preset or ("cheriff" if model is not None and model.supports_opsin else "none")
    op = spec.opsin
    if opsin_name not in opsin_mod.OPSINS:
        c.error("opsin.preset", f"unknown opsin {opsin_name!r}{closest(opsin_name, opsin_mod.OPSINS)}; allowed: "
                f"{', '.join(sorted(opsin_mod.OPSINS))}")
    elif opsin_name != "none" and model is not None and not model.supports_opsin:
        c.error("opsin.preset", f"{opsin_name!r} needs a membrane model in mV; {model.name} is dimensionless "
                "(allowed here: none)")
    else:
        for name, value in op.parameters:
            if name not in opsin_mod.OPSIN_PARAM_NAMES:
                c.error(f"opsin.parameters.{name}", f"unknown opsin parameter {name!r}; allowed: "
                        f"{', '.join(opsin_mod.OPSIN_PARAM_NAMES)}")
            else:
                lo, hi = opsin_mod.OPSIN_PARAM_BOUNDS.get(name, (-math.inf, math.inf))
                c.number(f"opsin.parameters.{name}", value, ge=lo if math.isfinite(lo) else None,
                         le=hi if math.isfinite(hi) else None)
    c.number("opsin.density", op.density, ge=0)
    if op.spectrum is not None:
        if opsin_name == "none":
            c.error("opsin.spectrum", "is given but the opsin is 'none'; allowed: leave it out, or name an opsin")
        c.number("opsin.spectrum.peak_nm", op.spectrum[0], ge=WAVELENGTH_RANGE_NM[0], le=WAVELENGTH_RANGE_NM[1],
                 what=" nm")
        c.number("opsin.spectrum.fwhm_nm", op.spectrum[1], ge=SPECTRUM_FWHM_RANGE_NM[0], le=SPECTRUM_FWHM_RANGE_NM[1],
                 what=" nm")
    if op.density_map is not None:
        _check_field(c, "opsin.density_map", op.density_map, g, spec.base_dir, grid_ok, nonnegative=True)
    if op.region is not None:
        n_before = len(c.errors)
        _check_pattern(c, "opsin.region", op.region, g, spec.base_dir, grid_ok)
        if grid_ok and len(c.errors) == n_before and contains_sum(op.region):
            _check_region_at_most_one(c, "opsin.region", op.region, g, spec.base_dir)

    # stimuli
    stimuli = []
    for k, s in enumerate(spec.light):
        path = f"light[{k}]"
        if model is not None and not model.supports_opsin:
            c.error(path, f"light needs an opsin and a membrane model in mV; {model.name} is dimensionless "
                    "(use a current stimulus)")
        elif opsin_name == "none" and s.irradiance_mw_per_mm2 > 0:
            c.warn(path, "light is given but the opsin is 'none': it will have no effect")
        c.number(f"{path}.irradiance_mw_per_mm2", s.irradiance_mw_per_mm2, ge=0, what=" mW/mm²")
        c.number(f"{path}.wavelength_nm", s.wavelength_nm, ge=WAVELENGTH_RANGE_NM[0], le=WAVELENGTH_RANGE_NM[1],
                 what=" nm")
        _check_pattern(c, f"{path}.pattern", s.pattern, g, spec.base_dir, grid_ok)
        _check_waveform(c, f"{path}.waveform", s.waveform, light=True)
        stimuli.append((path, s))
    for k, s in enumerate(spec.current):
        path = f"current[{k}]"
        c.number(f"{path}.amplitude_a_per_f", s.amplitude_a_per_f)
        _check_pattern(c, f"{path}.pattern", s.pattern, g, spec.base_dir, grid_ok)
        _check_waveform(c, f"{path}.waveform", s.waveform, light=False)
        stimuli.append((path, s))

    # numerics
    n = spec.numerics
    dur_ok = c.number("numerics.duration_ms", n.duration_ms, gt=0, what=" ms")
    if n.precision not in ("float64", "float32"):
        c.error("numerics.precision", f"{n.precision} is not a precision; allowed: PRECISION_FLOAT64, PRECISION_FLOAT32")
    dt = n.dt_ms if n.dt_ms is not None else (model.default_dt_ms if model is not None else None)
    dt_ok = dt is not None and c.number("numerics.dt_ms", dt, ge=MIN_DT_MS, what=" ms")
    if dt_ok and model is not None and dt > model.dt_max_ms:
        c.error("numerics.dt_ms", f"{dt:g} ms is above the accuracy limit of {model.name}; must be <= "
                f"{model.dt_max_ms:g} ms")
        dt_ok = False
    if dt_ok and D is not None and grid_ok and D > 0 and g.nx * g.ny > 1:
        limit = g.dx_um**2 / (4.0 * D)
        if dt > limit * (1 + 1e-12):
            c.error("numerics.dt_ms", f"{dt:g} ms breaks the diffusion stability limit dt <= dx²/(4·D_max) = "
                    f"{g.dx_um:g}²/(4·{D:g}) = {limit:.4g} ms; lower dt_ms, raise grid.dx_um or lower the diffusivity")
            dt_ok = False
        elif dt > STABILITY_MARGIN * limit:
            c.warn("numerics.dt_ms", f"{dt:g} ms is within {100 * (1 - STABILITY_MARGIN):.0f} % of the diffusion "
                   f"stability limit {limit:.4g} ms; the membrane conductance during an upstroke can tip such a "
                   f"run into a checkerboard instability (use dt <= {STABILITY_MARGIN * limit:.3g} ms)")
    if dt_ok and dur_ok and n.duration_ms / dt > MAX_STEPS:
        c.error("numerics.duration_ms", f"{n.duration_ms:g} ms is {n.duration_ms / dt:.3g} steps of dt_ms = {dt:g} ms; "
                f"the limit is {MAX_STEPS:.0e} steps")
        dur_ok = False
    if dt_ok and dur_ok and not _is_multiple(n.duration_ms, dt):
        c.error("numerics.duration_ms", f"{n.duration_ms:g} ms is not a whole number of steps of dt_ms = {dt:g} ms")
    if n.chunk_ms is not None:
        chunk_ok = c.number("numerics.chunk_ms", n.chunk_ms, gt=0, what=" ms")
        if dt_ok and chunk_ok and not _is_multiple(n.chunk_ms, dt):
            c.error("numerics.chunk_ms", f"{n.chunk_ms:g} ms is not a whole number of steps of dt_ms = {dt:g} ms")
    if n.time_order not in (None, 1, 2):
        c.error("numerics.time_scheme", f"enum value {n.time_order} is not a time scheme; allowed: "
                "TIME_SCHEME_FIRST_ORDER, TIME_SCHEME_SECOND_ORDER (or leave it unset)")
    _check_backend(c, n, model, spec)
    if dt_ok:
        for path, s in stimuli:
            _check_sampling(c, f"{path}.waveform", s.waveform, dt)
    if dur_ok and grid_ok and not c.errors:
        _warn_unseen(c, stimuli, spec, n.duration_ms)

    # output
    o = spec.output
    if c.number("output.sample_interval_ms", o.sample_interval_ms, gt=0, what=" ms") and dt_ok:
        if not _is_multiple(o.sample_interval_ms, dt):
            c.error("output.sample_interval_ms", f"{o.sample_interval_ms:g} ms is not a whole number of steps of "
                    f"dt_ms = {dt:g} ms")
    if not o.variables:
        c.error("output.variables", "no variable selected; allowed: the model's state variables and irradiance")
    seen = set()
    for k, name in enumerate(o.variables):
        # the membrane variable is stored as "v" for every model (u of the dimensionless media too)
        allowed = ("v",) + (model.state_names[1:] if model is not None else ()) + OUTPUT_EXTRA_VARIABLES
        if model is not None and model.supports_opsin and opsin_name != "none":
            allowed += ("opsin_o", "opsin_d")
        if name not in allowed:
            c.error(f"output.variables[{k}]", f"unknown variable {name!r}; allowed: {', '.join(allowed)}")
        if name in seen:
            c.error(f"output.variables[{k}]", f"{name!r} is selected twice")
        seen.add(name)

    # readout
    if spec.readout.enabled:
        _check_readout(c, spec, model, grid_ok)
    _check_analysis(c, spec)

    # resolution
    if grid_ok and model is not None:
        gj = spec.coupling.gap_junction
        one_node_per_cell = gj is not None and math.isclose(gj.cell_size_um, g.dx_um, rel_tol=1e-9)
        # in the discrete-cell view (one node per cell) the grid is the tissue, not a discretised continuum
        if D is not None and D > 0 and not model.dimensionless and g.nx * g.ny > 1 and not one_node_per_cell:
            gm = model.resting_conductance(dict(model.defaults))
            if gm > 0:
                lam = math.sqrt(D / gm)
                if g.dx_um > lam / 2:
                    c.warn("grid.dx_um", f"{g.dx_um:g} µm is coarser than half the electrotonic length "
                           f"λ = sqrt(D/g_m) = {lam:.3g} µm; waves will be under-resolved (use dx <= {lam / 2:.3g} µm)")
        if dt_ok and D is not None and D > 0 and g.nx * g.ny > 1:
            grid_warned = any(w.field == "grid.dx_um" for w in c.warnings)
            check_accuracy(c, accuracy_of(spec, model, D, dt), grid_warned=grid_warned)
    return Report(tuple(c.errors), tuple(c.warnings))


def accuracy_of(spec: t.JobSpec, model=None, diffusivity: float | None = None, dt: float | None = None):
    """The estimated CV error of a (valid) spec's dt and dx (:mod:`._accuracy`), or None where the
    model has no error model or the sheet is a single cell."""
    from ..engine.backends import time_order_of
    from ..models.resolve import model_of

    model = model if model is not None else model_of(spec.tissue.model, spec.base_dir)
    g = spec.grid
    if g.nx * g.ny <= 1:
        return None
    if diffusivity is None:
        cp = spec.coupling
        diffusivity = (cp.gap_junction.diffusivity_um2_per_ms if cp.gap_junction is not None
                       else cp.diffusivity_um2_per_ms if cp.diffusivity_um2_per_ms is not None
                       else model.default_diffusivity_um2_per_ms)  # fmt: skip
    dt = dt if dt is not None else (spec.numerics.dt_ms if spec.numerics.dt_ms is not None else model.default_dt_ms)
    gj = spec.coupling.gap_junction
    discrete = gj is not None and math.isclose(gj.cell_size_um, g.dx_um, rel_tol=1e-9)
    return estimate_cv_error(model.name, time_order_of(spec.numerics), dt, g.dx_um, diffusivity, discrete=discrete)


def accuracy_note(spec: t.JobSpec) -> str | None:
    """Why a (valid) spec has no CV error estimate: a single cell, or a preset without a CV error
    model (:data:`._accuracy.NO_CV_MODEL`); None where it has one or no model was measured."""
    g = spec.grid
    if g.nx * g.ny <= 1:
        return SINGLE_CELL_NOTE
    name = spec.tissue.model.preset
    if name in NO_CV_MODEL:
        return f"{name} has no CV error model: {NO_CV_MODEL[name]}"
    return None


def validate_pattern(pattern: t.Pattern, grid: t.Grid, *, path: str = "pattern", base_dir: str = ".") -> Report:
    """Check one pattern on a grid, as :func:`validate` checks a spec's patterns; fields are named under ``path``."""
    c = _Checker()
    grid_ok = grid.nx >= 1 and grid.ny >= 1
    for name, value in (("nx", grid.nx), ("ny", grid.ny)):
        if value < 1:
            c.error(f"grid.{name}", f"{value} is not allowed; must be >= 1 (a grid needs at least one cell)")
    grid_ok &= c.number("grid.dx_um", grid.dx_um, gt=0, what=" µm")
    _check_pattern(c, path, pattern, grid, base_dir, grid_ok)
    return Report(tuple(c.errors), tuple(c.warnings))


def _check_model_source(c, spec: t.JobSpec, presets):
    """The cell model of ``tissue.model`` (one of preset, definition, mmt_path), or None after an error."""
    from ..models.resolve import ModelSourceError, model_of

    m = spec.tissue.model
    given = [name for name, value in (("preset", m.preset), ("definition", m.definition), ("mmt_path", m.mmt_path))
             if value]
    if len(given) > 1:
        c.error("tissue.model", f"{' and '.join(given)} are both given; a model comes from one of preset, definition "
                "and mmt_path")
        return None
    if not m.definition and not m.mmt_path and m.preset not in presets:
        c.error("tissue.model.preset", f"unknown preset {m.preset!r}{closest(m.preset, presets)}; allowed: "
                f"{', '.join(sorted(presets))}")
        return None
    try:
        return model_of(m, spec.base_dir)
    except ModelSourceError as err:
        c.error(err.field, str(err))
        return None


def _check_backend(c, n: t.Numerics, model, spec: t.JobSpec) -> None:
    """numerics.backend and numerics.lookup_tables: what this machine and this model can run."""
    from ..engine.backends import cuda_usable, has_lookup_tables, tabulated_params

    if n.backend not in ("cpu", "cuda"):
        c.error("numerics.backend", f"{n.backend} is not a backend; allowed: BACKEND_CPU, BACKEND_CUDA")
    elif n.backend == "cuda" and not cuda_usable():
        c.error("numerics.backend", "BACKEND_CUDA needs a CUDA GPU, and numba.cuda.is_available() is false on this "
                "machine (numba's CUDA simulator, NUMBA_ENABLE_CUDASIM=1, is not enabled either); allowed here: "
                "BACKEND_CPU (or leave numerics.backend unset)")
    if n.lookup_tables and model is not None:
        if not has_lookup_tables(model):
            c.error("numerics.lookup_tables", f"true, but cell model {model.name!r} has no lookup tables (they "
                    "tabulate the voltage-dependent gates of the models in mV: the HEK presets and models given by "
                    "tissue.model.definition or mmt_path); allowed: false or unset")
        elif n.backend == "cuda":
            c.error("numerics.lookup_tables", "true, but lookup tables are a CPU path (the CUDA kernels evaluate "
                    "the gates exactly); allowed with BACKEND_CUDA: false or unset")
        else:
            gate_params = tabulated_params(model)
            mapped = [m.parameter for m in spec.tissue.model.maps if m.parameter in gate_params]
            if mapped:
                c.error("numerics.lookup_tables", f"true, but tissue.model.maps varies the gate parameter(s) "
                        f"{', '.join(mapped)} from cell to cell, and a table holds one value; allowed with such "
                        "maps: false or unset (the exact kernel then runs)")


def _is_multiple(value: float, dt: float) -> bool:
    q = value / dt
    return abs(q - round(q)) < 1e-6 * max(1.0, q) and round(q) >= 1


def _check_ions(c, ions: t.Ions, model):
    from ..models import MODELS

    if model.dimensionless or "E_K" not in model.defaults or model.name not in MODELS:
        c.error("tissue.model.ions", f"ion concentrations apply to the HEK models only, not {model.name}")
        return
    if ions.temperature_c is not None:
        c.number("tissue.model.ions.temperature_c", ions.temperature_c, ge=0, le=45, what=" °C")
    ok = True
    for name in ("na_out_mm", "na_in_mm", "k_out_mm", "k_in_mm"):
        value = getattr(ions, name)
        if value is not None:
            ok &= c.number(f"tissue.model.ions.{name}", value, gt=0, what=" mM")
    if ok and not c.errors:
        _check_reversal(c, ions, model)


def _check_coupling(c, spec, model, grid_ok) -> float | None:
    """Check the coupling; return the largest D (µm²/ms) or None when it cannot be known."""
    cp = spec.coupling
    if cp.gap_junction is not None:
        gj = cp.gap_junction
        ok = all([
            c.number("coupling.gap_junction.conductance_ns", gj.conductance_ns, ge=0, what=" nS"),
            c.number("coupling.gap_junction.cell_size_um", gj.cell_size_um, gt=0, what=" µm"),
            c.number("coupling.gap_junction.capacitance_pf", gj.capacitance_pf, gt=0, what=" pF"),
        ])
        D = gj.diffusivity_um2_per_ms if ok else None
    elif cp.diffusivity_um2_per_ms is not None:
        D = cp.diffusivity_um2_per_ms if c.number("coupling.diffusivity_um2_per_ms", cp.diffusivity_um2_per_ms,
                                                  ge=0, what=" µm²/ms") else None
    else:
        D = model.default_diffusivity_um2_per_ms if model is not None else None
    if cp.diffusivity_map is not None:
        values = _check_field(c, "coupling.diffusivity_map", cp.diffusivity_map, spec.grid, spec.base_dir, grid_ok,
                              nonnegative=True, base=D if D is not None else 1.0, seed=spec.seed)
        if values is not None:
            D = float(np.max(values))
    return D


def _check_field(c, path, f, g, base_dir, grid_ok, *, nonnegative=False, base=1.0, seed=0):
    """Check a field; return its values when they could be computed (for D_max)."""
    if f is None:
        c.error(path, "missing: give one of raster, gradient, random")
        return None
    if isinstance(f, t.Raster):
        values = _check_raster(c, f"{path}.raster", f, g, base_dir, grid_ok)
        if values is not None and nonnegative and (values < 0).any():
            i, j = np.argwhere(values < 0)[0]
            c.error(f"{path}.raster.values", f"{values[i, j]:g} at (row {i}, column {j}) is negative; must be >= 0")
        return values
    if isinstance(f, t.LinearGradient):
        ok = all(c.number(f"{path}.gradient.{n}", getattr(f, n)) for n in ("start_value", "end_value"))
        ok &= all(c.number(f"{path}.gradient.{p}.{a}", getattr(getattr(f, p), a))
                  for p in ("start_um", "end_um") for a in ("x", "y"))
        if ok and f.start_um == f.end_um:
            c.error(f"{path}.gradient.end_um", "equals start_um; a gradient needs two distinct points")
            return None
        if ok and nonnegative and min(f.start_value, f.end_value) < 0:
            c.error(f"{path}.gradient", f"values from {f.start_value:g} to {f.end_value:g} go negative; must be >= 0")
        return np.array([f.start_value, f.end_value]) if ok else None
    if isinstance(f, t.RandomVariation):
        ok = c.number(f"{path}.random.cv", f.cv, ge=0, le=10)
        # beyond the sheet's extent the smoothed field is uniform; a longer length only grows the filter
        extent = max(g.nx, g.ny) * g.dx_um if grid_ok else None
        ok &= c.number(f"{path}.random.correlation_length_um", f.correlation_length_um, ge=0, le=extent,
                       what=" µm" + (f" (the sheet's extent, {max(g.nx, g.ny)} cells × {g.dx_um:g} µm)"
                                     if extent is not None and f.correlation_length_um > extent else ""))
        # the log-normal factor is unbounded above; a D map's maximum is only known once drawn
        if grid_ok and ok:
            from ..stimulus.patterns import field_values

            return field_values(f, base, g.ny, g.nx, g.dx_um, rng=np.random.default_rng(seed), base_dir=base_dir)
        return None
    c.error(path, f"unsupported field {type(f).__name__}")
    return None


def _check_region_at_most_one(c, path, region, g, base_dir):
    """An opsin region is where the opsin is expressed: weights up to 1 (a sum could exceed it)."""
    from ..stimulus.patterns import rasterise

    w = rasterise(region, g.ny, g.nx, g.dx_um, base_dir=base_dir)
    if w.max() > 1 + 1e-9:
        i, j = np.unravel_index(int(np.argmax(w)), w.shape)
        c.error(path, f"weight {w[i, j]:g} at (row {i}, column {j}) is above 1; a region's weight must be <= 1 "
                "(it says where the opsin is expressed; for more expression use opsin.density or opsin.density_map)")


def _check_waveform(c, path, w, *, light: bool):
    if isinstance(w, t.Constant):
        return
    if isinstance(w, t.Pulse):
        c.number(f"{path}.pulse.start_ms", w.start_ms, ge=0, what=" ms")
        c.number(f"{path}.pulse.width_ms", w.width_ms, gt=0, what=" ms")
    elif isinstance(w, t.PulseTrain):
        c.number(f"{path}.pulse_train.start_ms", w.start_ms, ge=0, what=" ms")
        ok = c.number(f"{path}.pulse_train.width_ms", w.width_ms, gt=0, what=" ms")
        if c.number(f"{path}.pulse_train.period_ms", w.period_ms, gt=0, what=" ms") and ok and w.period_ms < w.width_ms:
            c.error(f"{path}.pulse_train.period_ms", f"{w.period_ms:g} ms is shorter than width_ms ({w.width_ms:g} ms)")
    elif isinstance(w, t.Ramp):
        ok = c.number(f"{path}.ramp.start_ms", w.start_ms, ge=0, what=" ms")
        if c.number(f"{path}.ramp.end_ms", w.end_ms, what=" ms") and ok and w.end_ms <= w.start_ms:
            c.error(f"{path}.ramp.end_ms", f"{w.end_ms:g} ms must be after start_ms ({w.start_ms:g} ms)")
    elif isinstance(w, t.Sine):
        c.number(f"{path}.sine.frequency_hz", w.frequency_hz, gt=0, what=" Hz")
        for n in ("amplitude", "offset", "phase_deg"):
            c.number(f"{path}.sine.{n}", getattr(w, n))
        c.number(f"{path}.sine.start_ms", w.start_ms, ge=0, what=" ms")
        c.number(f"{path}.sine.duration_ms", w.duration_ms, ge=0, what=" ms")
        if light and w.offset - abs(w.amplitude) < 0:
            c.error(f"{path}.sine.offset", f"offset {w.offset:g} − |amplitude| {abs(w.amplitude):g} < 0: light "
                    "cannot be negative; must have offset >= |amplitude|")
    elif isinstance(w, t.Sampled):
        if not w.times_ms:
            c.error(f"{path}.sampled.times_ms", "empty; give at least one sample")
        if len(w.times_ms) != len(w.values):
            c.error(f"{path}.sampled.values", f"{len(w.values)} values for {len(w.times_ms)} times; must be equal")
        for k, (a, b) in enumerate(zip(w.times_ms, w.times_ms[1:])):
            if not b > a:
                c.error(f"{path}.sampled.times_ms[{k + 1}]", f"{b:g} ms is not after {a:g} ms; times must increase")
                break
        for k, v in enumerate(w.values):
            if c.number(f"{path}.sampled.values[{k}]", v) and light and v < 0:
                c.error(f"{path}.sampled.values[{k}]", f"{v:g} is negative; light factors must be >= 0")


def _check_analysis(c, spec) -> None:
    a = spec.analysis
    for k, src in enumerate(a.sources or ()):
        if src not in t.ANALYSIS_SOURCES:
            c.error(f"analysis.sources[{k}]", f"{src!r} is not a source; allowed: {', '.join(t.ANALYSIS_SOURCES)}"
                    + _did_you_mean(src, t.ANALYSIS_SOURCES))
        elif src == "dff" and not spec.readout.enabled:
            c.error(f"analysis.sources[{k}]", "'dff' needs the camera: set readout.enabled = true")
        elif src == "v" and "v" not in spec.output.variables:
            c.error(f"analysis.sources[{k}]", "'v' is analysed from the stored samples: add \"v\" to output.variables")
    for k, m in enumerate(a.measures):
        if m not in t.ANALYSIS_MEASURES:
            c.error(f"analysis.measures[{k}]", f"{m!r} is not a measure; allowed: {', '.join(t.ANALYSIS_MEASURES)}"
                    + _did_you_mean(m, t.ANALYSIS_MEASURES))
    c.number("analysis.threshold", a.threshold, gt=0, lt=1)
    if a.tip_stride < 1:
        c.error("analysis.tip_stride", f"{a.tip_stride} is not allowed; must be >= 1")


def _did_you_mean(word: str, allowed) -> str:
    import difflib

    close = difflib.get_close_matches(word, allowed, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_readout(c, spec, model, grid_ok):
    r = spec.readout
    if model is not None and model.dimensionless:
        c.error("readout.enabled", f"the voltage dye needs a membrane potential in mV; {model.name} is dimensionless")
    d, cam = r.dye, r.camera
    c.number("readout.dye.sensitivity_per_100mv", d.sensitivity_per_100mv, gt=-1, lt=1)
    c.number("readout.dye.v_ref_mv", d.v_ref_mv, what=" mV")
    c.number("readout.dye.bleach_tau_ms", d.bleach_tau_ms, ge=0, what=" ms")
    if d.brightness_map is not None:
        _check_field(c, "readout.dye.brightness_map", d.brightness_map, spec.grid, spec.base_dir, grid_ok, nonnegative=True)
    ok = c.number("readout.camera.frame_rate_hz", cam.frame_rate_hz, gt=0, what=" Hz")
    if c.number("readout.camera.exposure_ms", cam.exposure_ms, gt=0, what=" ms") and ok:
        if cam.exposure_ms > 1000.0 / cam.frame_rate_hz * (1 + 1e-9):
            c.error("readout.camera.exposure_ms", f"{cam.exposure_ms:g} ms is longer than the frame period "
                    f"{1000.0 / cam.frame_rate_hz:g} ms at {cam.frame_rate_hz:g} Hz")
    c.number("readout.camera.psf_sigma_um", cam.psf_sigma_um, ge=0, what=" µm")
    if cam.binning < 1:
        c.error("readout.camera.binning", f"{cam.binning} is not allowed; must be >= 1")
    elif grid_ok and (spec.grid.nx % cam.binning or spec.grid.ny % cam.binning):
        c.error("readout.camera.binning", f"{cam.binning} does not divide the grid {spec.grid.ny}×{spec.grid.nx}")
    c.number("readout.camera.photons_per_pixel", cam.photons_per_pixel, gt=0)
    c.number("readout.camera.read_noise_e", cam.read_noise_e, ge=0)
    c.number("readout.camera.crosstalk_fraction", cam.crosstalk_fraction, ge=0, le=1)
    c.number("readout.camera.imaging_irradiance_mw_per_mm2", cam.imaging_irradiance_mw_per_mm2, ge=0, what=" mW/mm²")
    c.number("readout.camera.imaging_wavelength_nm", cam.imaging_wavelength_nm, ge=WAVELENGTH_RANGE_NM[0],
             le=WAVELENGTH_RANGE_NM[1], what=" nm")


def _check_reversal(c, ions: t.Ions, model) -> None:
    """The reversal potentials the concentrations give must lie in the model's bounds (a concentration of
    5e-324 mM is positive, and makes E_Na infinite): the error names the concentrations, not E_Na."""
    from ..models.ions import reversal_potentials
    from ..engine.problem import PRESET_TEMPERATURE_C

    try:
        e_na, e_k, _ = reversal_potentials(ions.given(), PRESET_TEMPERATURE_C.get(model.name, 35.0),
                                           model.defaults["E_Na"], model.defaults["E_K"])
    except (ValueError, OverflowError, ZeroDivisionError) as exc:
        c.error("tissue.model.ions", str(exc))
        return
    for e_name, value, fields in (("E_Na", e_na, ("na_out_mm", "na_in_mm")), ("E_K", e_k, ("k_out_mm", "k_in_mm"))):
        lo, hi = model.param_bounds.get(e_name, (-200.0, 200.0))
        if not (math.isfinite(value) and lo <= value <= hi):
            given = [f for f in fields if getattr(ions, f) is not None] or list(fields)
            shown = ", ".join(f"{f} = {getattr(ions, f)!r}" for f in given if getattr(ions, f) is not None)
            c.error(f"tissue.model.ions.{given[-1]}", f"{shown} give {e_name} = {value:.4g} mV by Nernst; the "
                    f"concentrations must give {e_name} within [{lo:g}, {hi:g}] mV")
