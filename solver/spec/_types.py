"""Frozen spec objects: the solver's view of a ``optowave.v1.JobSpec``.

They mirror the proto messages field for field (same names, same units), with every
default applied. They are made by :func:`solver.spec.load_spec` and never by hand: the
proto is the one schema, and each spec keeps its canonical JSON in ``JobSpec.json``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

import numpy as np


@dataclass(frozen=True)
class Point:
    x: float
    y: float


# ---------------------------------------------------------------- patterns


@dataclass(frozen=True)
class Everywhere:
    pass


@dataclass(frozen=True)
class Disk:
    center_um: Point
    radius_um: float


@dataclass(frozen=True)
class Rectangle:
    min_um: Point
    max_um: Point


@dataclass(frozen=True)
class Ring:
    center_um: Point
    inner_radius_um: float
    outer_radius_um: float


@dataclass(frozen=True)
class Polygon:
    vertices_um: tuple[Point, ...]


@dataclass(frozen=True)
class Line:
    start_um: Point
    end_um: Point
    width_um: float


@dataclass(frozen=True, eq=False)
class Raster:
    """Values on the grid, row-major ``shape = (rows, columns)``."""

    shape: tuple[int, ...]
    values: np.ndarray | None
    npy_path: str = ""


@dataclass(frozen=True)
class PatternUnion:
    patterns: tuple["Pattern", ...]


@dataclass(frozen=True)
class PatternDifference:
    patterns: tuple["Pattern", ...]


@dataclass(frozen=True)
class Checkerboard:
    """Squares of side ``square_um``; the one right of and below ``origin_um`` is lit."""

    square_um: float
    origin_um: Point
    region: "Pattern"


@dataclass(frozen=True)
class Grating:
    """Stripes lit where ``(n·(x, y) − phase_um) mod period_um < duty_cycle·period_um``,
    ``n = (cos angle, −sin angle)`` (angles counter-clockwise as the sheet is drawn, y down)."""

    period_um: float
    duty_cycle: float
    angle_deg: float
    phase_um: float
    region: "Pattern"


@dataclass(frozen=True, eq=False)
class Image:
    """An image on the sheet: pixel (u, v) lands at ``offset + pitch·(u cos θ + v sin θ, −u sin θ + v cos θ)``.

    Exactly one of ``pixels`` and ``png_path`` is given (validation checks it).
    """

    pixels: Raster | None
    png_path: str
    pixel_pitch_um: float
    rotation_deg: float
    offset_um: Point


@dataclass(frozen=True)
class ScaledPattern:
    pattern: "Pattern"
    scale: float = 1.0


@dataclass(frozen=True)
class PatternSum:
    terms: tuple[ScaledPattern, ...]


Pattern = Union[Everywhere, Disk, Rectangle, Ring, Polygon, Line, Raster, PatternUnion, PatternDifference,
                Checkerboard, Grating, Image, PatternSum]


# ---------------------------------------------------------------- fields


@dataclass(frozen=True)
class LinearGradient:
    start_um: Point
    end_um: Point
    start_value: float
    end_value: float


@dataclass(frozen=True)
class RandomVariation:
    cv: float
    correlation_length_um: float = 0.0


Field = Union[Raster, LinearGradient, RandomVariation]


@dataclass(frozen=True)
class ParameterMap:
    parameter: str
    field: Field


# ---------------------------------------------------------------- waveforms


@dataclass(frozen=True)
class Constant:
    """Always on (the waveform of a stimulus that gives none)."""


@dataclass(frozen=True)
class Pulse:
    start_ms: float
    width_ms: float


@dataclass(frozen=True)
class PulseTrain:
    start_ms: float
    width_ms: float
    period_ms: float
    count: int = 0


@dataclass(frozen=True)
class Ramp:
    start_ms: float
    end_ms: float


@dataclass(frozen=True)
class Sine:
    frequency_hz: float
    amplitude: float
    offset: float = 0.0
    phase_deg: float = 0.0
    start_ms: float = 0.0
    duration_ms: float = 0.0


@dataclass(frozen=True)
class Sampled:
    times_ms: tuple[float, ...]
    values: tuple[float, ...]
    interpolation: str = "step"   # "step" or "linear"


Waveform = Union[Constant, Pulse, PulseTrain, Ramp, Sine, Sampled]


# ---------------------------------------------------------------- the job


@dataclass(frozen=True)
class Grid:
    nx: int
    ny: int
    dx_um: float


@dataclass(frozen=True)
class Ions:
    temperature_c: float | None = None
    na_out_mm: float | None = None
    na_in_mm: float | None = None
    k_out_mm: float | None = None
    k_in_mm: float | None = None

    def given(self) -> dict[str, float]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class CellModelSpec:
    preset: str                                       # "" when definition or mmt_path is given
    parameters: tuple[tuple[str, float], ...] = ()
    maps: tuple[ParameterMap, ...] = ()
    ions: Ions = field(default_factory=Ions)
    definition: str = ""    # a ModelDefinition's JSON form (sorted keys); see solver.models.description
    mmt_path: str = ""      # a Myokit .mmt file, relative to the spec's base_dir


@dataclass(frozen=True)
class InitialRegion:
    pattern: Pattern
    values: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Tissue:
    mask: Pattern
    model: CellModelSpec
    initial: tuple[InitialRegion, ...] = ()


@dataclass(frozen=True)
class GapJunction:
    conductance_ns: float
    cell_size_um: float
    capacitance_pf: float

    @property
    def diffusivity_um2_per_ms(self) -> float:
        """D = g_j·a²/C (nS·µm²/pF = µm²/ms)."""
        return self.conductance_ns * self.cell_size_um**2 / self.capacitance_pf


@dataclass(frozen=True)
class Coupling:
    diffusivity_um2_per_ms: float | None = None      # None: the model's default
    gap_junction: GapJunction | None = None
    diffusivity_map: Field | None = None


@dataclass(frozen=True)
class OpsinSpec:
    preset: str                                       # "" resolves to the model's default
    parameters: tuple[tuple[str, float], ...] = ()
    density: float = 1.0
    density_map: Field | None = None
    region: Pattern | None = None
    spectrum: tuple[float, float] | None = None       # (peak nm, FWHM nm); None: the preset's


@dataclass(frozen=True)
class LightStimulus:
    name: str
    pattern: Pattern
    waveform: Waveform
    irradiance_mw_per_mm2: float
    wavelength_nm: float = 470.0


@dataclass(frozen=True)
class CurrentStimulus:
    name: str
    pattern: Pattern
    waveform: Waveform
    amplitude_a_per_f: float


@dataclass(frozen=True)
class DyeSpec:
    sensitivity_per_100mv: float = 0.24
    v_ref_mv: float = -70.0
    bleach_tau_ms: float = 0.0
    brightness_map: Field | None = None


@dataclass(frozen=True)
class CameraSpec:
    frame_rate_hz: float = 500.0
    exposure_ms: float | None = None                 # None: 1000/frame_rate_hz
    psf_sigma_um: float = 0.0
    binning: int = 1
    photons_per_pixel: float = 1000.0
    read_noise_e: float = 2.0
    crosstalk_fraction: float = 0.0
    imaging_irradiance_mw_per_mm2: float = 0.0
    imaging_wavelength_nm: float = 470.0


@dataclass(frozen=True)
class Readout:
    enabled: bool = False
    dye: DyeSpec = field(default_factory=DyeSpec)
    camera: CameraSpec = field(default_factory=CameraSpec)


#: Measures an ``analysis`` block may ask for (MODEL.md section 6).
ANALYSIS_MEASURES = ("activation_time", "conduction_velocity", "apd", "dominant_frequency", "phase_singularities",
                     "fraction_activated")
ANALYSIS_SOURCES = ("v", "dff")


@dataclass(frozen=True)
class AnalysisSpec:
    """What the job measures at its end (``sources`` None: ``v``, plus ``dff`` with the readout on)."""

    enabled: bool = True
    sources: tuple[str, ...] | None = None
    measures: tuple[str, ...] = ANALYSIS_MEASURES
    threshold: float = 0.5
    tip_stride: int = 1


@dataclass(frozen=True)
class Output:
    variables: tuple[str, ...] = ("v",)
    sample_interval_ms: float = 1.0


@dataclass(frozen=True)
class Numerics:
    dt_ms: float | None          # None: the model's default step
    duration_ms: float
    precision: str = "float64"   # "float64" or "float32"
    chunk_ms: float | None = None
    backend: str = "cpu"         # "cpu" or "cuda"
    lookup_tables: bool | None = None   # None: the model's default
    time_order: int | None = None       # 1 or 2 (TimeScheme); None: the model's default


@dataclass(frozen=True)
class JobSpec:
    name: str
    grid: Grid
    tissue: Tissue
    coupling: Coupling
    opsin: OpsinSpec
    light: tuple[LightStimulus, ...]
    current: tuple[CurrentStimulus, ...]
    readout: Readout
    output: Output
    numerics: Numerics
    seed: int
    labels: tuple[tuple[str, str], ...] = ()
    analysis: AnalysisSpec = field(default_factory=AnalysisSpec)
    json: str = field(default="{}", compare=False, repr=False)   # canonical proto JSON
    base_dir: str = field(default=".", compare=False, repr=False)  # where relative paths resolve
