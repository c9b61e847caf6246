"""From a validated spec to the plain arrays and scalars the kernels see.

Nothing here steps time: :func:`build` rasterises the tissue, the parameter maps, the
coupling faces and the stimulus patterns once; :mod:`solver.engine.run` drives the kernel.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ..models import opsin as opsin_mod
from ..models.ions import reversal_potentials
from .backends import time_order_of
from ..models import CellModel, hek
from ..models.resolve import model_of
from ..stimulus.patterns import field_values, rasterise
from ..spec import JobSpec
from ..stimulus.waveforms import evaluate

#: Temperature (°C) at which each HEK preset's published reversal potentials hold.
PRESET_TEMPERATURE_C = {"hek_gokhale2017_35c": 35.0, "hek_gokhale2017_23c": 23.0, "hek_bistable": 35.0}
OPSIN_STATE_NAMES = ("opsin_o", "opsin_d")


@dataclass
class Problem:
    """Everything one run needs, as arrays. Built once per spec by :func:`build`."""

    spec: JobSpec
    model: CellModel
    ny: int
    nx: int
    dx_um: float
    dt_ms: float
    n_steps: int                  # steps in the whole run
    sample_every: int             # steps between output samples
    dtype: np.dtype
    state_names: tuple[str, ...]
    active: np.ndarray            # uint8 (ny, nx)
    wx: np.ndarray                # face weights D/dx² (1/ms), (ny, nx)
    wy: np.ndarray
    diffusivity: np.ndarray       # per-cell D (µm²/ms), for the record
    params: np.ndarray            # (n_params,)
    param_values: dict[str, float]
    pidx: np.ndarray              # (n_params,) int64
    pmaps: np.ndarray             # (n_maps, ny, nx)
    opsin_name: str
    oparams: np.ndarray           # (10,)
    gop: np.ndarray               # opsin conductance per cell (nS/pF)
    light_weights: np.ndarray     # (n_light, ny, nx): irradiance (mW/mm²) at factor 1
    light_waveforms: tuple
    current_weights: np.ndarray   # (n_current, ny, nx): current density at factor 1
    current_waveforms: tuple
    background_irradiance: float  # imaging light that reaches the opsin (crosstalk), mW/mm²
    initial: np.ndarray           # (n_state, ny, nx) initial state
    warnings: tuple = field(default=())
    light_drive: np.ndarray | None = None  # (n_light,) each stimulus' drive per mW/mm² relative to 470 nm
    background_drive: float = 1.0          # the same for the imaging light (solver.models.spectra)
    time_order: int = 1           # 1: Rush-Larsen/forward Euler; 2: exponential midpoint (solver.engine.backends)
    opsin_spectrum: tuple[float, float] | None = None  # the spec's (peak nm, FWHM nm); None: the preset's

    @property
    def has_opsin(self) -> bool:
        return self.opsin_name != "none"

    def stimulus_factors(self, step0: int, step1: int) -> tuple[np.ndarray, np.ndarray]:
        """Waveform factors for steps ``[step0, step1)``, evaluated at each step's midpoint.

        Returns ``(light, current)`` of shapes ``(n, n_light)`` and ``(n, n_current)``.
        """
        tm = (np.arange(step0, step1, dtype=np.float64) + 0.5) * self.dt_ms
        light = np.stack([evaluate(w, tm) for w in self.light_waveforms], axis=1) if self.light_waveforms \
            else np.zeros((tm.size, 0))
        cur = np.stack([evaluate(w, tm) for w in self.current_waveforms], axis=1) if self.current_waveforms \
            else np.zeros((tm.size, 0))
        return light, cur

    def irradiance(self, light_factors: np.ndarray) -> np.ndarray:
        """Irradiance map (mW/mm²) for one row of light factors, crosstalk included."""
        return self._lit(np.asarray(light_factors, dtype=np.float64)) + self.background_irradiance

    def opsin_irradiance(self, light_factors: np.ndarray) -> np.ndarray:
        """What the opsin sees (mW/mm² of 470 nm light): :meth:`irradiance` with each stimulus and the
        imaging light weighted by the opsin's action spectrum at its wavelength."""
        drive = self.light_drive if self.light_drive is not None else np.ones(len(light_factors))
        factors = np.asarray(light_factors, dtype=np.float64) * drive
        return self._lit(factors) + self.background_irradiance * self.background_drive

    def light_weight(self, k: int) -> np.ndarray:
        """Stimulus ``k``'s irradiance map (mW/mm²) at factor 1 (a live session's program overrides this)."""
        return self.light_weights[k]

    def _lit(self, factors: np.ndarray) -> np.ndarray:
        """``Σ factor_k · weight_k`` over the stimuli that are on, added in stimulus order.

        Stimuli that are off add nothing, not even a rounding: a light program with more stimuli that are off
        (a live session's, whose later commands are still to come) gives the same bits.
        """
        irr = np.zeros((self.ny, self.nx))
        for k in np.flatnonzero(factors):
            irr += factors[k] * self.light_weight(int(k))
        return irr

    def current(self, current_factors: np.ndarray) -> np.ndarray:
        """External current density map for one row of current factors."""
        if not len(current_factors):
            return np.zeros((self.ny, self.nx))
        return np.tensordot(current_factors, self.current_weights, axes=(0, 0))


def build(spec: JobSpec) -> Problem:
    """Rasterise a (validated) spec into a :class:`Problem`."""
    g = spec.grid
    ny, nx, dx = g.ny, g.nx, g.dx_um
    model = model_of(spec.tissue.model, spec.base_dir)
    dt = spec.numerics.dt_ms if spec.numerics.dt_ms is not None else model.default_dt_ms
    n_steps = int(round(spec.numerics.duration_ms / dt))
    sample_every = int(round(spec.output.sample_interval_ms / dt))
    dtype = np.dtype(np.float32 if spec.numerics.precision == "float32" else np.float64)
    base_dir = spec.base_dir
    rng_for = lambda k: np.random.default_rng([spec.seed, k])  # noqa: E731 - one stream per random field

    active = (rasterise(spec.tissue.mask, ny, nx, dx, base_dir=base_dir) >= 0.5).astype(np.uint8)

    values = model_values(model, spec.tissue.model.parameters, spec.tissue.model.ions.given())
    params = model.params_array(values)
    pidx = np.full(len(model.param_names), -1, dtype=np.int64)
    maps = []
    opsin_g_map = None
    for k, m in enumerate(spec.tissue.model.maps):
        if m.parameter == "opsin.g":
            opsin_g_map = (k, m.field)
            continue
        base = values[m.parameter]
        arr = field_values(m.field, base, ny, nx, dx, rng=rng_for(100 + k), base_dir=base_dir)
        pidx[model.param_names.index(m.parameter)] = len(maps)
        maps.append(arr)
    pmaps = np.ascontiguousarray(np.stack(maps)) if maps else np.zeros((0, ny, nx))

    # coupling: per-cell D, faces by harmonic mean, none across the tissue edge
    cp = spec.coupling
    if cp.gap_junction is not None:
        D0 = cp.gap_junction.diffusivity_um2_per_ms
    elif cp.diffusivity_um2_per_ms is not None:
        D0 = cp.diffusivity_um2_per_ms
    else:
        D0 = model.default_diffusivity_um2_per_ms
    D = np.full((ny, nx), float(D0))
    if cp.diffusivity_map is not None:
        D = field_values(cp.diffusivity_map, D0, ny, nx, dx, rng=rng_for(1), base_dir=base_dir)
    D = np.where(active > 0, D, 0.0)
    wx, wy = face_weights(D, active, dx)

    # opsin
    opsin_name = spec.opsin.preset or ("cheriff" if model.supports_opsin else "none")
    preset = opsin_mod.get_opsin(opsin_name)
    if preset is not None:
        op_over = dict(spec.opsin.parameters)
        oparams = opsin_mod.opsin_params_array(preset, {k: v for k, v in op_over.items() if k != "g"})
        g_op = op_over.get("g", preset.params["g"])
        density = np.full((ny, nx), spec.opsin.density)
        if spec.opsin.density_map is not None:
            density = field_values(spec.opsin.density_map, spec.opsin.density, ny, nx, dx, rng=rng_for(2),
                                   base_dir=base_dir)
        gmap = np.full((ny, nx), float(g_op))
        if opsin_g_map is not None:
            k, f = opsin_g_map
            gmap = field_values(f, g_op, ny, nx, dx, rng=rng_for(100 + k), base_dir=base_dir)
        region = np.ones((ny, nx)) if spec.opsin.region is None else rasterise(spec.opsin.region, ny, nx, dx,
                                                                                base_dir=base_dir)
        gop = np.ascontiguousarray(gmap * density * region * active)
    else:
        oparams = np.zeros(10)
        gop = np.zeros((ny, nx))

    # stimuli
    light_w = np.stack([rasterise(s.pattern, ny, nx, dx, base_dir=base_dir) * s.irradiance_mw_per_mm2
                        for s in spec.light]) if spec.light else np.zeros((0, ny, nx))
    cur_w = np.stack([rasterise(s.pattern, ny, nx, dx, base_dir=base_dir) * s.amplitude_a_per_f
                      for s in spec.current]) if spec.current else np.zeros((0, ny, nx))
    cam = spec.readout.camera
    background = cam.crosstalk_fraction * cam.imaging_irradiance_mw_per_mm2 if spec.readout.enabled else 0.0

    # initial state: rest, then the initial regions in order
    state_names = model.state_names + (OPSIN_STATE_NAMES if preset is not None else ())
    rest = model.rest_state(values)
    y0 = np.empty((len(state_names), ny, nx))
    for k, name in enumerate(state_names):
        y0[k] = rest.get(name, 0.0)
    for region in spec.tissue.initial:
        where = rasterise(region.pattern, ny, nx, dx, base_dir=base_dir) >= 0.5
        given_vals = dict(region.values)
        v = given_vals.get(model.state_names[0], float(rest[model.state_names[0]]))
        at = {**model.steady_state_at(v, values), **given_vals}
        for k, name in enumerate(model.state_names):
            if name in at:
                y0[k][where] = at[name]

    return Problem(
        spec=spec, model=model, ny=ny, nx=nx, dx_um=dx, dt_ms=dt, n_steps=n_steps, sample_every=sample_every,
        dtype=dtype, state_names=state_names, active=active, wx=wx, wy=wy, diffusivity=D, params=params,
        param_values=values, pidx=pidx, pmaps=pmaps, opsin_name=opsin_name, oparams=np.asarray(oparams, float),
        gop=gop, light_weights=light_w, light_waveforms=tuple(s.waveform for s in spec.light),
        current_weights=cur_w, current_waveforms=tuple(s.waveform for s in spec.current),
        background_irradiance=float(background), initial=y0.astype(dtype),
        time_order=time_order_of(spec.numerics),
        light_drive=np.array([_drive(opsin_name, s.wavelength_nm, spec.opsin.spectrum) for s in spec.light],
                             dtype=np.float64),
        background_drive=_drive(opsin_name, spec.readout.camera.imaging_wavelength_nm, spec.opsin.spectrum),
        opsin_spectrum=spec.opsin.spectrum,
    )


def model_values(model: CellModel, parameters, ions: dict[str, float]) -> dict[str, float]:
    """The model's parameter values for a spec: the preset, then the bath (``ions``: Nernst, and the
    temperature's Q10 on the gating kinetics), then the explicit ``parameters`` overrides (pairs or a mapping)."""
    values = dict(model.defaults)
    if ions and "E_K" in values:
        preset_t = PRESET_TEMPERATURE_C.get(model.name, 35.0)
        e_na, e_k, k_o = reversal_potentials(ions, preset_t, model.defaults["E_Na"], model.defaults["E_K"])
        values.update(E_Na=e_na, E_K=e_k, K_o=k_o)
        if ions.get("temperature_c", preset_t) != preset_t:
            # the gating kinetics follow the temperature too (Q10 per current, solver.models.hek)
            values = hek.temperature_scaled(values, preset_t, ions["temperature_c"])
    values.update(dict(parameters))
    return values


def _drive(opsin_name: str, wavelength_nm: float, spectrum: tuple[float, float] | None = None) -> float:
    """Drive per mW/mm² at ``wavelength_nm`` relative to 470 nm (:func:`solver.models.spectra.relative_drive`);
    ``spectrum`` is the spec's ``opsin.spectrum`` (None: the preset's)."""
    from ..models.spectra import ACTION_SPECTRA, REFERENCE_WAVELENGTH_NM, relative_drive

    if wavelength_nm == REFERENCE_WAVELENGTH_NM or (spectrum is None and opsin_name not in ACTION_SPECTRA):
        return 1.0
    return float(relative_drive(opsin_name, wavelength_nm, spectrum))


def face_weights(D: np.ndarray, active: np.ndarray, dx_um: float) -> tuple[np.ndarray, np.ndarray]:
    """Coupling weights (1/ms) of the x- and y-faces: harmonic mean of D over dx², 0 off-tissue.

    ``wx[i, j]`` couples (i, j) with (i, j+1) and ``wy[i, j]`` couples (i, j) with (i+1, j);
    the last column of ``wx`` and the last row of ``wy`` are 0 (no flux at the grid edge).
    """
    on = active > 0
    wx = np.zeros_like(D, dtype=np.float64)
    wy = np.zeros_like(D, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        a, b = D[:, :-1], D[:, 1:]
        wx[:, :-1] = np.where(on[:, :-1] & on[:, 1:] & (a + b > 0), 2 * a * b / (a + b), 0.0)
        a, b = D[:-1, :], D[1:, :]
        wy[:-1, :] = np.where(on[:-1, :] & on[1:, :] & (a + b > 0), 2 * a * b / (a + b), 0.0)
    return wx / dx_um**2, wy / dx_um**2


def describe_parameters(problem: Problem) -> str:
    """The model's parameters as JSON (for the result's attributes)."""
    return json.dumps({k: float(v) for k, v in problem.param_values.items()}, sort_keys=True)
