from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CellProtocol(_message.Message):
    __slots__ = ("name", "irradiance_mw_per_mm2", "holding_current_a_per_f", "current_clamp", "voltage_clamp", "steady_state", "continuation")
    NAME_FIELD_NUMBER: _ClassVar[int]
    IRRADIANCE_MW_PER_MM2_FIELD_NUMBER: _ClassVar[int]
    HOLDING_CURRENT_A_PER_F_FIELD_NUMBER: _ClassVar[int]
    CURRENT_CLAMP_FIELD_NUMBER: _ClassVar[int]
    VOLTAGE_CLAMP_FIELD_NUMBER: _ClassVar[int]
    STEADY_STATE_FIELD_NUMBER: _ClassVar[int]
    CONTINUATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    irradiance_mw_per_mm2: float
    holding_current_a_per_f: float
    current_clamp: CurrentClamp
    voltage_clamp: VoltageClamp
    steady_state: SteadyState
    continuation: Continuation
    def __init__(self, name: _Optional[str] = ..., irradiance_mw_per_mm2: _Optional[float] = ..., holding_current_a_per_f: _Optional[float] = ..., current_clamp: _Optional[_Union[CurrentClamp, _Mapping]] = ..., voltage_clamp: _Optional[_Union[VoltageClamp, _Mapping]] = ..., steady_state: _Optional[_Union[SteadyState, _Mapping]] = ..., continuation: _Optional[_Union[Continuation, _Mapping]] = ...) -> None: ...

class CurrentClamp(_message.Message):
    __slots__ = ("duration_ms", "sample_interval_ms", "current", "light")
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    LIGHT_FIELD_NUMBER: _ClassVar[int]
    duration_ms: float
    sample_interval_ms: float
    current: _containers.RepeatedCompositeFieldContainer[ClampPulse]
    light: _containers.RepeatedCompositeFieldContainer[ClampPulse]
    def __init__(self, duration_ms: _Optional[float] = ..., sample_interval_ms: _Optional[float] = ..., current: _Optional[_Iterable[_Union[ClampPulse, _Mapping]]] = ..., light: _Optional[_Iterable[_Union[ClampPulse, _Mapping]]] = ...) -> None: ...

class ClampPulse(_message.Message):
    __slots__ = ("start_ms", "width_ms", "amplitude", "period_ms", "count")
    START_MS_FIELD_NUMBER: _ClassVar[int]
    WIDTH_MS_FIELD_NUMBER: _ClassVar[int]
    AMPLITUDE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_MS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    start_ms: float
    width_ms: float
    amplitude: float
    period_ms: float
    count: int
    def __init__(self, start_ms: _Optional[float] = ..., width_ms: _Optional[float] = ..., amplitude: _Optional[float] = ..., period_ms: _Optional[float] = ..., count: _Optional[int] = ...) -> None: ...

class VoltageClamp(_message.Message):
    __slots__ = ("holding_mv", "hold_ms", "step_mv", "step_ms", "tail_ms", "sample_interval_ms", "ramp", "light")
    HOLDING_MV_FIELD_NUMBER: _ClassVar[int]
    HOLD_MS_FIELD_NUMBER: _ClassVar[int]
    STEP_MV_FIELD_NUMBER: _ClassVar[int]
    STEP_MS_FIELD_NUMBER: _ClassVar[int]
    TAIL_MS_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    RAMP_FIELD_NUMBER: _ClassVar[int]
    LIGHT_FIELD_NUMBER: _ClassVar[int]
    holding_mv: float
    hold_ms: float
    step_mv: _containers.RepeatedScalarFieldContainer[float]
    step_ms: float
    tail_ms: float
    sample_interval_ms: float
    ramp: VoltageRamp
    light: _containers.RepeatedCompositeFieldContainer[ClampPulse]
    def __init__(self, holding_mv: _Optional[float] = ..., hold_ms: _Optional[float] = ..., step_mv: _Optional[_Iterable[float]] = ..., step_ms: _Optional[float] = ..., tail_ms: _Optional[float] = ..., sample_interval_ms: _Optional[float] = ..., ramp: _Optional[_Union[VoltageRamp, _Mapping]] = ..., light: _Optional[_Iterable[_Union[ClampPulse, _Mapping]]] = ...) -> None: ...

class VoltageRamp(_message.Message):
    __slots__ = ("from_mv", "to_mv", "duration_ms")
    FROM_MV_FIELD_NUMBER: _ClassVar[int]
    TO_MV_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    from_mv: float
    to_mv: float
    duration_ms: float
    def __init__(self, from_mv: _Optional[float] = ..., to_mv: _Optional[float] = ..., duration_ms: _Optional[float] = ...) -> None: ...

class SteadyState(_message.Message):
    __slots__ = ("v_min_mv", "v_max_mv", "v_step_mv")
    V_MIN_MV_FIELD_NUMBER: _ClassVar[int]
    V_MAX_MV_FIELD_NUMBER: _ClassVar[int]
    V_STEP_MV_FIELD_NUMBER: _ClassVar[int]
    v_min_mv: float
    v_max_mv: float
    v_step_mv: float
    def __init__(self, v_min_mv: _Optional[float] = ..., v_max_mv: _Optional[float] = ..., v_step_mv: _Optional[float] = ...) -> None: ...

class Continuation(_message.Message):
    __slots__ = ("parameter", "start", "stop", "points", "log_spacing", "v_min_mv", "v_max_mv", "v_step_mv")
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    LOG_SPACING_FIELD_NUMBER: _ClassVar[int]
    V_MIN_MV_FIELD_NUMBER: _ClassVar[int]
    V_MAX_MV_FIELD_NUMBER: _ClassVar[int]
    V_STEP_MV_FIELD_NUMBER: _ClassVar[int]
    parameter: str
    start: float
    stop: float
    points: int
    log_spacing: bool
    v_min_mv: float
    v_max_mv: float
    v_step_mv: float
    def __init__(self, parameter: _Optional[str] = ..., start: _Optional[float] = ..., stop: _Optional[float] = ..., points: _Optional[int] = ..., log_spacing: _Optional[bool] = ..., v_min_mv: _Optional[float] = ..., v_max_mv: _Optional[float] = ..., v_step_mv: _Optional[float] = ...) -> None: ...
