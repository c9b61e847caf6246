from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Interpolation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTERPOLATION_UNSPECIFIED: _ClassVar[Interpolation]
    INTERPOLATION_STEP: _ClassVar[Interpolation]
    INTERPOLATION_LINEAR: _ClassVar[Interpolation]

class Precision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRECISION_UNSPECIFIED: _ClassVar[Precision]
    PRECISION_FLOAT64: _ClassVar[Precision]
    PRECISION_FLOAT32: _ClassVar[Precision]

class Backend(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BACKEND_UNSPECIFIED: _ClassVar[Backend]
    BACKEND_CPU: _ClassVar[Backend]
    BACKEND_CUDA: _ClassVar[Backend]

class TimeScheme(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIME_SCHEME_UNSPECIFIED: _ClassVar[TimeScheme]
    TIME_SCHEME_FIRST_ORDER: _ClassVar[TimeScheme]
    TIME_SCHEME_SECOND_ORDER: _ClassVar[TimeScheme]
INTERPOLATION_UNSPECIFIED: Interpolation
INTERPOLATION_STEP: Interpolation
INTERPOLATION_LINEAR: Interpolation
PRECISION_UNSPECIFIED: Precision
PRECISION_FLOAT64: Precision
PRECISION_FLOAT32: Precision
BACKEND_UNSPECIFIED: Backend
BACKEND_CPU: Backend
BACKEND_CUDA: Backend
TIME_SCHEME_UNSPECIFIED: TimeScheme
TIME_SCHEME_FIRST_ORDER: TimeScheme
TIME_SCHEME_SECOND_ORDER: TimeScheme

class JobSpec(_message.Message):
    __slots__ = ("name", "grid", "tissue", "coupling", "opsin", "light", "current", "readout", "output", "numerics", "seed", "labels", "analysis")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    GRID_FIELD_NUMBER: _ClassVar[int]
    TISSUE_FIELD_NUMBER: _ClassVar[int]
    COUPLING_FIELD_NUMBER: _ClassVar[int]
    OPSIN_FIELD_NUMBER: _ClassVar[int]
    LIGHT_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    READOUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    NUMERICS_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    name: str
    grid: Grid
    tissue: Tissue
    coupling: Coupling
    opsin: Opsin
    light: _containers.RepeatedCompositeFieldContainer[LightStimulus]
    current: _containers.RepeatedCompositeFieldContainer[CurrentStimulus]
    readout: Readout
    output: Output
    numerics: Numerics
    seed: int
    labels: _containers.ScalarMap[str, str]
    analysis: Analysis
    def __init__(self, name: _Optional[str] = ..., grid: _Optional[_Union[Grid, _Mapping]] = ..., tissue: _Optional[_Union[Tissue, _Mapping]] = ..., coupling: _Optional[_Union[Coupling, _Mapping]] = ..., opsin: _Optional[_Union[Opsin, _Mapping]] = ..., light: _Optional[_Iterable[_Union[LightStimulus, _Mapping]]] = ..., current: _Optional[_Iterable[_Union[CurrentStimulus, _Mapping]]] = ..., readout: _Optional[_Union[Readout, _Mapping]] = ..., output: _Optional[_Union[Output, _Mapping]] = ..., numerics: _Optional[_Union[Numerics, _Mapping]] = ..., seed: _Optional[int] = ..., labels: _Optional[_Mapping[str, str]] = ..., analysis: _Optional[_Union[Analysis, _Mapping]] = ...) -> None: ...

class Grid(_message.Message):
    __slots__ = ("nx", "ny", "dx_um")
    NX_FIELD_NUMBER: _ClassVar[int]
    NY_FIELD_NUMBER: _ClassVar[int]
    DX_UM_FIELD_NUMBER: _ClassVar[int]
    nx: int
    ny: int
    dx_um: float
    def __init__(self, nx: _Optional[int] = ..., ny: _Optional[int] = ..., dx_um: _Optional[float] = ...) -> None: ...

class Tissue(_message.Message):
    __slots__ = ("mask", "model", "initial")
    MASK_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INITIAL_FIELD_NUMBER: _ClassVar[int]
    mask: Pattern
    model: CellModel
    initial: InitialState
    def __init__(self, mask: _Optional[_Union[Pattern, _Mapping]] = ..., model: _Optional[_Union[CellModel, _Mapping]] = ..., initial: _Optional[_Union[InitialState, _Mapping]] = ...) -> None: ...

class CellModel(_message.Message):
    __slots__ = ("preset", "parameters", "maps", "ions", "definition", "mmt_path")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    PRESET_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    MAPS_FIELD_NUMBER: _ClassVar[int]
    IONS_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    MMT_PATH_FIELD_NUMBER: _ClassVar[int]
    preset: str
    parameters: _containers.ScalarMap[str, float]
    maps: _containers.RepeatedCompositeFieldContainer[ParameterMap]
    ions: Ions
    definition: ModelDefinition
    mmt_path: str
    def __init__(self, preset: _Optional[str] = ..., parameters: _Optional[_Mapping[str, float]] = ..., maps: _Optional[_Iterable[_Union[ParameterMap, _Mapping]]] = ..., ions: _Optional[_Union[Ions, _Mapping]] = ..., definition: _Optional[_Union[ModelDefinition, _Mapping]] = ..., mmt_path: _Optional[str] = ...) -> None: ...

class ModelDefinition(_message.Message):
    __slots__ = ("name", "description", "voltage", "parameters", "states", "intermediates", "currents", "source")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    VOLTAGE_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    INTERMEDIATES_FIELD_NUMBER: _ClassVar[int]
    CURRENTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    voltage: ModelVoltage
    parameters: _containers.RepeatedCompositeFieldContainer[ModelParameter]
    states: _containers.RepeatedCompositeFieldContainer[ModelState]
    intermediates: _containers.RepeatedCompositeFieldContainer[ModelExpression]
    currents: _containers.RepeatedCompositeFieldContainer[ModelExpression]
    source: ModelSource
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., voltage: _Optional[_Union[ModelVoltage, _Mapping]] = ..., parameters: _Optional[_Iterable[_Union[ModelParameter, _Mapping]]] = ..., states: _Optional[_Iterable[_Union[ModelState, _Mapping]]] = ..., intermediates: _Optional[_Iterable[_Union[ModelExpression, _Mapping]]] = ..., currents: _Optional[_Iterable[_Union[ModelExpression, _Mapping]]] = ..., source: _Optional[_Union[ModelSource, _Mapping]] = ...) -> None: ...

class ModelVoltage(_message.Message):
    __slots__ = ("name", "units", "initial")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_FIELD_NUMBER: _ClassVar[int]
    name: str
    units: str
    initial: float
    def __init__(self, name: _Optional[str] = ..., units: _Optional[str] = ..., initial: _Optional[float] = ...) -> None: ...

class ModelParameter(_message.Message):
    __slots__ = ("name", "value", "units", "min", "max", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    units: str
    min: float
    max: float
    description: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., units: _Optional[str] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., description: _Optional[str] = ...) -> None: ...

class ModelGate(_message.Message):
    __slots__ = ("inf", "tau", "alpha", "beta", "instantaneous")
    INF_FIELD_NUMBER: _ClassVar[int]
    TAU_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    BETA_FIELD_NUMBER: _ClassVar[int]
    INSTANTANEOUS_FIELD_NUMBER: _ClassVar[int]
    inf: str
    tau: str
    alpha: str
    beta: str
    instantaneous: bool
    def __init__(self, inf: _Optional[str] = ..., tau: _Optional[str] = ..., alpha: _Optional[str] = ..., beta: _Optional[str] = ..., instantaneous: _Optional[bool] = ...) -> None: ...

class ModelState(_message.Message):
    __slots__ = ("name", "units", "initial", "gate", "derivative", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_FIELD_NUMBER: _ClassVar[int]
    GATE_FIELD_NUMBER: _ClassVar[int]
    DERIVATIVE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    units: str
    initial: float
    gate: ModelGate
    derivative: str
    description: str
    def __init__(self, name: _Optional[str] = ..., units: _Optional[str] = ..., initial: _Optional[float] = ..., gate: _Optional[_Union[ModelGate, _Mapping]] = ..., derivative: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ModelExpression(_message.Message):
    __slots__ = ("name", "expression", "units", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    expression: str
    units: str
    description: str
    def __init__(self, name: _Optional[str] = ..., expression: _Optional[str] = ..., units: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ModelSource(_message.Message):
    __slots__ = ("file", "sha256")
    FILE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    file: str
    sha256: str
    def __init__(self, file: _Optional[str] = ..., sha256: _Optional[str] = ...) -> None: ...

class Ions(_message.Message):
    __slots__ = ("temperature_c", "na_out_mm", "na_in_mm", "k_out_mm", "k_in_mm")
    TEMPERATURE_C_FIELD_NUMBER: _ClassVar[int]
    NA_OUT_MM_FIELD_NUMBER: _ClassVar[int]
    NA_IN_MM_FIELD_NUMBER: _ClassVar[int]
    K_OUT_MM_FIELD_NUMBER: _ClassVar[int]
    K_IN_MM_FIELD_NUMBER: _ClassVar[int]
    temperature_c: float
    na_out_mm: float
    na_in_mm: float
    k_out_mm: float
    k_in_mm: float
    def __init__(self, temperature_c: _Optional[float] = ..., na_out_mm: _Optional[float] = ..., na_in_mm: _Optional[float] = ..., k_out_mm: _Optional[float] = ..., k_in_mm: _Optional[float] = ...) -> None: ...

class ParameterMap(_message.Message):
    __slots__ = ("parameter", "field")
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    parameter: str
    field: Field
    def __init__(self, parameter: _Optional[str] = ..., field: _Optional[_Union[Field, _Mapping]] = ...) -> None: ...

class Field(_message.Message):
    __slots__ = ("raster", "gradient", "random")
    RASTER_FIELD_NUMBER: _ClassVar[int]
    GRADIENT_FIELD_NUMBER: _ClassVar[int]
    RANDOM_FIELD_NUMBER: _ClassVar[int]
    raster: Raster
    gradient: LinearGradient
    random: RandomVariation
    def __init__(self, raster: _Optional[_Union[Raster, _Mapping]] = ..., gradient: _Optional[_Union[LinearGradient, _Mapping]] = ..., random: _Optional[_Union[RandomVariation, _Mapping]] = ...) -> None: ...

class Raster(_message.Message):
    __slots__ = ("shape", "values", "npy_path")
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    NPY_PATH_FIELD_NUMBER: _ClassVar[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    npy_path: str
    def __init__(self, shape: _Optional[_Iterable[int]] = ..., values: _Optional[_Iterable[float]] = ..., npy_path: _Optional[str] = ...) -> None: ...

class LinearGradient(_message.Message):
    __slots__ = ("start_um", "end_um", "start_value", "end_value")
    START_UM_FIELD_NUMBER: _ClassVar[int]
    END_UM_FIELD_NUMBER: _ClassVar[int]
    START_VALUE_FIELD_NUMBER: _ClassVar[int]
    END_VALUE_FIELD_NUMBER: _ClassVar[int]
    start_um: Point
    end_um: Point
    start_value: float
    end_value: float
    def __init__(self, start_um: _Optional[_Union[Point, _Mapping]] = ..., end_um: _Optional[_Union[Point, _Mapping]] = ..., start_value: _Optional[float] = ..., end_value: _Optional[float] = ...) -> None: ...

class RandomVariation(_message.Message):
    __slots__ = ("cv", "correlation_length_um")
    CV_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_LENGTH_UM_FIELD_NUMBER: _ClassVar[int]
    cv: float
    correlation_length_um: float
    def __init__(self, cv: _Optional[float] = ..., correlation_length_um: _Optional[float] = ...) -> None: ...

class Point(_message.Message):
    __slots__ = ("x", "y")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ...) -> None: ...

class InitialState(_message.Message):
    __slots__ = ("regions",)
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    regions: _containers.RepeatedCompositeFieldContainer[InitialRegion]
    def __init__(self, regions: _Optional[_Iterable[_Union[InitialRegion, _Mapping]]] = ...) -> None: ...

class InitialRegion(_message.Message):
    __slots__ = ("pattern", "values")
    class ValuesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    pattern: Pattern
    values: _containers.ScalarMap[str, float]
    def __init__(self, pattern: _Optional[_Union[Pattern, _Mapping]] = ..., values: _Optional[_Mapping[str, float]] = ...) -> None: ...

class Coupling(_message.Message):
    __slots__ = ("diffusivity_um2_per_ms", "gap_junction", "diffusivity_map")
    DIFFUSIVITY_UM2_PER_MS_FIELD_NUMBER: _ClassVar[int]
    GAP_JUNCTION_FIELD_NUMBER: _ClassVar[int]
    DIFFUSIVITY_MAP_FIELD_NUMBER: _ClassVar[int]
    diffusivity_um2_per_ms: float
    gap_junction: GapJunction
    diffusivity_map: Field
    def __init__(self, diffusivity_um2_per_ms: _Optional[float] = ..., gap_junction: _Optional[_Union[GapJunction, _Mapping]] = ..., diffusivity_map: _Optional[_Union[Field, _Mapping]] = ...) -> None: ...

class GapJunction(_message.Message):
    __slots__ = ("conductance_ns", "cell_size_um", "capacitance_pf")
    CONDUCTANCE_NS_FIELD_NUMBER: _ClassVar[int]
    CELL_SIZE_UM_FIELD_NUMBER: _ClassVar[int]
    CAPACITANCE_PF_FIELD_NUMBER: _ClassVar[int]
    conductance_ns: float
    cell_size_um: float
    capacitance_pf: float
    def __init__(self, conductance_ns: _Optional[float] = ..., cell_size_um: _Optional[float] = ..., capacitance_pf: _Optional[float] = ...) -> None: ...

class Opsin(_message.Message):
    __slots__ = ("preset", "parameters", "density", "density_map", "region", "spectrum")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    PRESET_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    DENSITY_FIELD_NUMBER: _ClassVar[int]
    DENSITY_MAP_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SPECTRUM_FIELD_NUMBER: _ClassVar[int]
    preset: str
    parameters: _containers.ScalarMap[str, float]
    density: float
    density_map: Field
    region: Pattern
    spectrum: OpsinSpectrum
    def __init__(self, preset: _Optional[str] = ..., parameters: _Optional[_Mapping[str, float]] = ..., density: _Optional[float] = ..., density_map: _Optional[_Union[Field, _Mapping]] = ..., region: _Optional[_Union[Pattern, _Mapping]] = ..., spectrum: _Optional[_Union[OpsinSpectrum, _Mapping]] = ...) -> None: ...

class OpsinSpectrum(_message.Message):
    __slots__ = ("peak_nm", "fwhm_nm")
    PEAK_NM_FIELD_NUMBER: _ClassVar[int]
    FWHM_NM_FIELD_NUMBER: _ClassVar[int]
    peak_nm: float
    fwhm_nm: float
    def __init__(self, peak_nm: _Optional[float] = ..., fwhm_nm: _Optional[float] = ...) -> None: ...

class LightStimulus(_message.Message):
    __slots__ = ("name", "pattern", "waveform", "irradiance_mw_per_mm2", "wavelength_nm")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    WAVEFORM_FIELD_NUMBER: _ClassVar[int]
    IRRADIANCE_MW_PER_MM2_FIELD_NUMBER: _ClassVar[int]
    WAVELENGTH_NM_FIELD_NUMBER: _ClassVar[int]
    name: str
    pattern: Pattern
    waveform: Waveform
    irradiance_mw_per_mm2: float
    wavelength_nm: float
    def __init__(self, name: _Optional[str] = ..., pattern: _Optional[_Union[Pattern, _Mapping]] = ..., waveform: _Optional[_Union[Waveform, _Mapping]] = ..., irradiance_mw_per_mm2: _Optional[float] = ..., wavelength_nm: _Optional[float] = ...) -> None: ...

class CurrentStimulus(_message.Message):
    __slots__ = ("name", "pattern", "waveform", "amplitude_a_per_f")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    WAVEFORM_FIELD_NUMBER: _ClassVar[int]
    AMPLITUDE_A_PER_F_FIELD_NUMBER: _ClassVar[int]
    name: str
    pattern: Pattern
    waveform: Waveform
    amplitude_a_per_f: float
    def __init__(self, name: _Optional[str] = ..., pattern: _Optional[_Union[Pattern, _Mapping]] = ..., waveform: _Optional[_Union[Waveform, _Mapping]] = ..., amplitude_a_per_f: _Optional[float] = ...) -> None: ...

class Pattern(_message.Message):
    __slots__ = ("everywhere", "disk", "rectangle", "ring", "polygon", "raster", "union", "difference", "line", "checkerboard", "grating", "image", "sum")
    EVERYWHERE_FIELD_NUMBER: _ClassVar[int]
    DISK_FIELD_NUMBER: _ClassVar[int]
    RECTANGLE_FIELD_NUMBER: _ClassVar[int]
    RING_FIELD_NUMBER: _ClassVar[int]
    POLYGON_FIELD_NUMBER: _ClassVar[int]
    RASTER_FIELD_NUMBER: _ClassVar[int]
    UNION_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    CHECKERBOARD_FIELD_NUMBER: _ClassVar[int]
    GRATING_FIELD_NUMBER: _ClassVar[int]
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    SUM_FIELD_NUMBER: _ClassVar[int]
    everywhere: Everywhere
    disk: Disk
    rectangle: Rectangle
    ring: Ring
    polygon: Polygon
    raster: Raster
    union: PatternList
    difference: PatternList
    line: Line
    checkerboard: Checkerboard
    grating: Grating
    image: Image
    sum: PatternSum
    def __init__(self, everywhere: _Optional[_Union[Everywhere, _Mapping]] = ..., disk: _Optional[_Union[Disk, _Mapping]] = ..., rectangle: _Optional[_Union[Rectangle, _Mapping]] = ..., ring: _Optional[_Union[Ring, _Mapping]] = ..., polygon: _Optional[_Union[Polygon, _Mapping]] = ..., raster: _Optional[_Union[Raster, _Mapping]] = ..., union: _Optional[_Union[PatternList, _Mapping]] = ..., difference: _Optional[_Union[PatternList, _Mapping]] = ..., line: _Optional[_Union[Line, _Mapping]] = ..., checkerboard: _Optional[_Union[Checkerboard, _Mapping]] = ..., grating: _Optional[_Union[Grating, _Mapping]] = ..., image: _Optional[_Union[Image, _Mapping]] = ..., sum: _Optional[_Union[PatternSum, _Mapping]] = ...) -> None: ...

class Everywhere(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Disk(_message.Message):
    __slots__ = ("center_um", "radius_um")
    CENTER_UM_FIELD_NUMBER: _ClassVar[int]
    RADIUS_UM_FIELD_NUMBER: _ClassVar[int]
    center_um: Point
    radius_um: float
    def __init__(self, center_um: _Optional[_Union[Point, _Mapping]] = ..., radius_um: _Optional[float] = ...) -> None: ...

class Rectangle(_message.Message):
    __slots__ = ("min_um", "max_um")
    MIN_UM_FIELD_NUMBER: _ClassVar[int]
    MAX_UM_FIELD_NUMBER: _ClassVar[int]
    min_um: Point
    max_um: Point
    def __init__(self, min_um: _Optional[_Union[Point, _Mapping]] = ..., max_um: _Optional[_Union[Point, _Mapping]] = ...) -> None: ...

class Ring(_message.Message):
    __slots__ = ("center_um", "inner_radius_um", "outer_radius_um")
    CENTER_UM_FIELD_NUMBER: _ClassVar[int]
    INNER_RADIUS_UM_FIELD_NUMBER: _ClassVar[int]
    OUTER_RADIUS_UM_FIELD_NUMBER: _ClassVar[int]
    center_um: Point
    inner_radius_um: float
    outer_radius_um: float
    def __init__(self, center_um: _Optional[_Union[Point, _Mapping]] = ..., inner_radius_um: _Optional[float] = ..., outer_radius_um: _Optional[float] = ...) -> None: ...

class Polygon(_message.Message):
    __slots__ = ("vertices_um",)
    VERTICES_UM_FIELD_NUMBER: _ClassVar[int]
    vertices_um: _containers.RepeatedCompositeFieldContainer[Point]
    def __init__(self, vertices_um: _Optional[_Iterable[_Union[Point, _Mapping]]] = ...) -> None: ...

class Line(_message.Message):
    __slots__ = ("start_um", "end_um", "width_um")
    START_UM_FIELD_NUMBER: _ClassVar[int]
    END_UM_FIELD_NUMBER: _ClassVar[int]
    WIDTH_UM_FIELD_NUMBER: _ClassVar[int]
    start_um: Point
    end_um: Point
    width_um: float
    def __init__(self, start_um: _Optional[_Union[Point, _Mapping]] = ..., end_um: _Optional[_Union[Point, _Mapping]] = ..., width_um: _Optional[float] = ...) -> None: ...

class PatternList(_message.Message):
    __slots__ = ("patterns",)
    PATTERNS_FIELD_NUMBER: _ClassVar[int]
    patterns: _containers.RepeatedCompositeFieldContainer[Pattern]
    def __init__(self, patterns: _Optional[_Iterable[_Union[Pattern, _Mapping]]] = ...) -> None: ...

class Checkerboard(_message.Message):
    __slots__ = ("square_um", "origin_um", "region")
    SQUARE_UM_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_UM_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    square_um: float
    origin_um: Point
    region: Pattern
    def __init__(self, square_um: _Optional[float] = ..., origin_um: _Optional[_Union[Point, _Mapping]] = ..., region: _Optional[_Union[Pattern, _Mapping]] = ...) -> None: ...

class Grating(_message.Message):
    __slots__ = ("period_um", "duty_cycle", "angle_deg", "phase_um", "region")
    PERIOD_UM_FIELD_NUMBER: _ClassVar[int]
    DUTY_CYCLE_FIELD_NUMBER: _ClassVar[int]
    ANGLE_DEG_FIELD_NUMBER: _ClassVar[int]
    PHASE_UM_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    period_um: float
    duty_cycle: float
    angle_deg: float
    phase_um: float
    region: Pattern
    def __init__(self, period_um: _Optional[float] = ..., duty_cycle: _Optional[float] = ..., angle_deg: _Optional[float] = ..., phase_um: _Optional[float] = ..., region: _Optional[_Union[Pattern, _Mapping]] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ("pixels", "png_path", "pixel_pitch_um", "rotation_deg", "offset_um")
    PIXELS_FIELD_NUMBER: _ClassVar[int]
    PNG_PATH_FIELD_NUMBER: _ClassVar[int]
    PIXEL_PITCH_UM_FIELD_NUMBER: _ClassVar[int]
    ROTATION_DEG_FIELD_NUMBER: _ClassVar[int]
    OFFSET_UM_FIELD_NUMBER: _ClassVar[int]
    pixels: Raster
    png_path: str
    pixel_pitch_um: float
    rotation_deg: float
    offset_um: Point
    def __init__(self, pixels: _Optional[_Union[Raster, _Mapping]] = ..., png_path: _Optional[str] = ..., pixel_pitch_um: _Optional[float] = ..., rotation_deg: _Optional[float] = ..., offset_um: _Optional[_Union[Point, _Mapping]] = ...) -> None: ...

class PatternSum(_message.Message):
    __slots__ = ("terms",)
    TERMS_FIELD_NUMBER: _ClassVar[int]
    terms: _containers.RepeatedCompositeFieldContainer[ScaledPattern]
    def __init__(self, terms: _Optional[_Iterable[_Union[ScaledPattern, _Mapping]]] = ...) -> None: ...

class ScaledPattern(_message.Message):
    __slots__ = ("pattern", "scale")
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    pattern: Pattern
    scale: float
    def __init__(self, pattern: _Optional[_Union[Pattern, _Mapping]] = ..., scale: _Optional[float] = ...) -> None: ...

class Waveform(_message.Message):
    __slots__ = ("pulse", "pulse_train", "ramp", "sine", "sampled")
    PULSE_FIELD_NUMBER: _ClassVar[int]
    PULSE_TRAIN_FIELD_NUMBER: _ClassVar[int]
    RAMP_FIELD_NUMBER: _ClassVar[int]
    SINE_FIELD_NUMBER: _ClassVar[int]
    SAMPLED_FIELD_NUMBER: _ClassVar[int]
    pulse: Pulse
    pulse_train: PulseTrain
    ramp: Ramp
    sine: Sine
    sampled: Sampled
    def __init__(self, pulse: _Optional[_Union[Pulse, _Mapping]] = ..., pulse_train: _Optional[_Union[PulseTrain, _Mapping]] = ..., ramp: _Optional[_Union[Ramp, _Mapping]] = ..., sine: _Optional[_Union[Sine, _Mapping]] = ..., sampled: _Optional[_Union[Sampled, _Mapping]] = ...) -> None: ...

class Pulse(_message.Message):
    __slots__ = ("start_ms", "width_ms")
    START_MS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_MS_FIELD_NUMBER: _ClassVar[int]
    start_ms: float
    width_ms: float
    def __init__(self, start_ms: _Optional[float] = ..., width_ms: _Optional[float] = ...) -> None: ...

class PulseTrain(_message.Message):
    __slots__ = ("start_ms", "width_ms", "period_ms", "count")
    START_MS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_MS_FIELD_NUMBER: _ClassVar[int]
    PERIOD_MS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    start_ms: float
    width_ms: float
    period_ms: float
    count: int
    def __init__(self, start_ms: _Optional[float] = ..., width_ms: _Optional[float] = ..., period_ms: _Optional[float] = ..., count: _Optional[int] = ...) -> None: ...

class Ramp(_message.Message):
    __slots__ = ("start_ms", "end_ms")
    START_MS_FIELD_NUMBER: _ClassVar[int]
    END_MS_FIELD_NUMBER: _ClassVar[int]
    start_ms: float
    end_ms: float
    def __init__(self, start_ms: _Optional[float] = ..., end_ms: _Optional[float] = ...) -> None: ...

class Sine(_message.Message):
    __slots__ = ("frequency_hz", "amplitude", "offset", "phase_deg", "start_ms", "duration_ms")
    FREQUENCY_HZ_FIELD_NUMBER: _ClassVar[int]
    AMPLITUDE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    PHASE_DEG_FIELD_NUMBER: _ClassVar[int]
    START_MS_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    frequency_hz: float
    amplitude: float
    offset: float
    phase_deg: float
    start_ms: float
    duration_ms: float
    def __init__(self, frequency_hz: _Optional[float] = ..., amplitude: _Optional[float] = ..., offset: _Optional[float] = ..., phase_deg: _Optional[float] = ..., start_ms: _Optional[float] = ..., duration_ms: _Optional[float] = ...) -> None: ...

class Sampled(_message.Message):
    __slots__ = ("times_ms", "values", "interpolation")
    TIMES_MS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    INTERPOLATION_FIELD_NUMBER: _ClassVar[int]
    times_ms: _containers.RepeatedScalarFieldContainer[float]
    values: _containers.RepeatedScalarFieldContainer[float]
    interpolation: Interpolation
    def __init__(self, times_ms: _Optional[_Iterable[float]] = ..., values: _Optional[_Iterable[float]] = ..., interpolation: _Optional[_Union[Interpolation, str]] = ...) -> None: ...

class Readout(_message.Message):
    __slots__ = ("enabled", "dye", "camera")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    DYE_FIELD_NUMBER: _ClassVar[int]
    CAMERA_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    dye: Dye
    camera: Camera
    def __init__(self, enabled: _Optional[bool] = ..., dye: _Optional[_Union[Dye, _Mapping]] = ..., camera: _Optional[_Union[Camera, _Mapping]] = ...) -> None: ...

class Dye(_message.Message):
    __slots__ = ("sensitivity_per_100mv", "v_ref_mv", "bleach_tau_ms", "brightness_map")
    SENSITIVITY_PER_100MV_FIELD_NUMBER: _ClassVar[int]
    V_REF_MV_FIELD_NUMBER: _ClassVar[int]
    BLEACH_TAU_MS_FIELD_NUMBER: _ClassVar[int]
    BRIGHTNESS_MAP_FIELD_NUMBER: _ClassVar[int]
    sensitivity_per_100mv: float
    v_ref_mv: float
    bleach_tau_ms: float
    brightness_map: Field
    def __init__(self, sensitivity_per_100mv: _Optional[float] = ..., v_ref_mv: _Optional[float] = ..., bleach_tau_ms: _Optional[float] = ..., brightness_map: _Optional[_Union[Field, _Mapping]] = ...) -> None: ...

class Camera(_message.Message):
    __slots__ = ("frame_rate_hz", "exposure_ms", "psf_sigma_um", "binning", "photons_per_pixel", "read_noise_e", "crosstalk_fraction", "imaging_irradiance_mw_per_mm2", "imaging_wavelength_nm")
    FRAME_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    EXPOSURE_MS_FIELD_NUMBER: _ClassVar[int]
    PSF_SIGMA_UM_FIELD_NUMBER: _ClassVar[int]
    BINNING_FIELD_NUMBER: _ClassVar[int]
    PHOTONS_PER_PIXEL_FIELD_NUMBER: _ClassVar[int]
    READ_NOISE_E_FIELD_NUMBER: _ClassVar[int]
    CROSSTALK_FRACTION_FIELD_NUMBER: _ClassVar[int]
    IMAGING_IRRADIANCE_MW_PER_MM2_FIELD_NUMBER: _ClassVar[int]
    IMAGING_WAVELENGTH_NM_FIELD_NUMBER: _ClassVar[int]
    frame_rate_hz: float
    exposure_ms: float
    psf_sigma_um: float
    binning: int
    photons_per_pixel: float
    read_noise_e: float
    crosstalk_fraction: float
    imaging_irradiance_mw_per_mm2: float
    imaging_wavelength_nm: float
    def __init__(self, frame_rate_hz: _Optional[float] = ..., exposure_ms: _Optional[float] = ..., psf_sigma_um: _Optional[float] = ..., binning: _Optional[int] = ..., photons_per_pixel: _Optional[float] = ..., read_noise_e: _Optional[float] = ..., crosstalk_fraction: _Optional[float] = ..., imaging_irradiance_mw_per_mm2: _Optional[float] = ..., imaging_wavelength_nm: _Optional[float] = ...) -> None: ...

class Analysis(_message.Message):
    __slots__ = ("enabled", "sources", "measures", "threshold", "tip_stride")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    MEASURES_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    TIP_STRIDE_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    sources: _containers.RepeatedScalarFieldContainer[str]
    measures: _containers.RepeatedScalarFieldContainer[str]
    threshold: float
    tip_stride: int
    def __init__(self, enabled: _Optional[bool] = ..., sources: _Optional[_Iterable[str]] = ..., measures: _Optional[_Iterable[str]] = ..., threshold: _Optional[float] = ..., tip_stride: _Optional[int] = ...) -> None: ...

class Output(_message.Message):
    __slots__ = ("variables", "sample_interval_ms")
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    variables: _containers.RepeatedScalarFieldContainer[str]
    sample_interval_ms: float
    def __init__(self, variables: _Optional[_Iterable[str]] = ..., sample_interval_ms: _Optional[float] = ...) -> None: ...

class Numerics(_message.Message):
    __slots__ = ("dt_ms", "duration_ms", "precision", "chunk_ms", "backend", "lookup_tables", "time_scheme")
    DT_MS_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    PRECISION_FIELD_NUMBER: _ClassVar[int]
    CHUNK_MS_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    LOOKUP_TABLES_FIELD_NUMBER: _ClassVar[int]
    TIME_SCHEME_FIELD_NUMBER: _ClassVar[int]
    dt_ms: float
    duration_ms: float
    precision: Precision
    chunk_ms: float
    backend: Backend
    lookup_tables: bool
    time_scheme: TimeScheme
    def __init__(self, dt_ms: _Optional[float] = ..., duration_ms: _Optional[float] = ..., precision: _Optional[_Union[Precision, str]] = ..., chunk_ms: _Optional[float] = ..., backend: _Optional[_Union[Backend, str]] = ..., lookup_tables: _Optional[bool] = ..., time_scheme: _Optional[_Union[TimeScheme, str]] = ...) -> None: ...
