import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from optowave.v1 import spec_pb2 as _spec_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]

class SweepCombine(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SWEEP_COMBINE_UNSPECIFIED: _ClassVar[SweepCombine]
    SWEEP_COMBINE_PRODUCT: _ClassVar[SweepCombine]
    SWEEP_COMBINE_ZIP: _ClassVar[SweepCombine]

class DesignSearch(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DESIGN_SEARCH_UNSPECIFIED: _ClassVar[DesignSearch]
    DESIGN_SEARCH_THRESHOLD: _ClassVar[DesignSearch]
    DESIGN_SEARCH_STRENGTH_DURATION: _ClassVar[DesignSearch]
    DESIGN_SEARCH_WINDOW: _ClassVar[DesignSearch]
    DESIGN_SEARCH_MINIMISE: _ClassVar[DesignSearch]

class DesignScale(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DESIGN_SCALE_UNSPECIFIED: _ClassVar[DesignScale]
    DESIGN_SCALE_LOG: _ClassVar[DesignScale]
    DESIGN_SCALE_LINEAR: _ClassVar[DesignScale]
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState
SWEEP_COMBINE_UNSPECIFIED: SweepCombine
SWEEP_COMBINE_PRODUCT: SweepCombine
SWEEP_COMBINE_ZIP: SweepCombine
DESIGN_SEARCH_UNSPECIFIED: DesignSearch
DESIGN_SEARCH_THRESHOLD: DesignSearch
DESIGN_SEARCH_STRENGTH_DURATION: DesignSearch
DESIGN_SEARCH_WINDOW: DesignSearch
DESIGN_SEARCH_MINIMISE: DesignSearch
DESIGN_SCALE_UNSPECIFIED: DesignScale
DESIGN_SCALE_LOG: DesignScale
DESIGN_SCALE_LINEAR: DesignScale

class Progress(_message.Message):
    __slots__ = ("simulated_ms", "duration_ms", "chunks_committed", "chunks_total", "cell_steps_per_second", "eta_seconds")
    SIMULATED_MS_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_COMMITTED_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    CELL_STEPS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    simulated_ms: float
    duration_ms: float
    chunks_committed: int
    chunks_total: int
    cell_steps_per_second: float
    eta_seconds: float
    def __init__(self, simulated_ms: _Optional[float] = ..., duration_ms: _Optional[float] = ..., chunks_committed: _Optional[int] = ..., chunks_total: _Optional[int] = ..., cell_steps_per_second: _Optional[float] = ..., eta_seconds: _Optional[float] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "state", "spec", "request_id", "labels", "progress", "error", "create_time", "start_time", "end_time")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: JobState
    spec: _spec_pb2.JobSpec
    request_id: str
    labels: _containers.ScalarMap[str, str]
    progress: Progress
    error: str
    create_time: _timestamp_pb2.Timestamp
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., spec: _Optional[_Union[_spec_pb2.JobSpec, _Mapping]] = ..., request_id: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., error: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CostEstimate(_message.Message):
    __slots__ = ("cell_steps", "output_bytes", "state_bytes", "seconds")
    CELL_STEPS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_BYTES_FIELD_NUMBER: _ClassVar[int]
    STATE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    cell_steps: int
    output_bytes: int
    state_bytes: int
    seconds: float
    def __init__(self, cell_steps: _Optional[int] = ..., output_bytes: _Optional[int] = ..., state_bytes: _Optional[int] = ..., seconds: _Optional[float] = ...) -> None: ...

class SpecProblem(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ValidateJobRequest(_message.Message):
    __slots__ = ("spec",)
    SPEC_FIELD_NUMBER: _ClassVar[int]
    spec: _spec_pb2.JobSpec
    def __init__(self, spec: _Optional[_Union[_spec_pb2.JobSpec, _Mapping]] = ...) -> None: ...

class ValidateJobResponse(_message.Message):
    __slots__ = ("ok", "errors", "warnings", "cost")
    OK_FIELD_NUMBER: _ClassVar[int]
    ERRORS_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    errors: _containers.RepeatedCompositeFieldContainer[SpecProblem]
    warnings: _containers.RepeatedCompositeFieldContainer[SpecProblem]
    cost: CostEstimate
    def __init__(self, ok: _Optional[bool] = ..., errors: _Optional[_Iterable[_Union[SpecProblem, _Mapping]]] = ..., warnings: _Optional[_Iterable[_Union[SpecProblem, _Mapping]]] = ..., cost: _Optional[_Union[CostEstimate, _Mapping]] = ...) -> None: ...

class SubmitJobRequest(_message.Message):
    __slots__ = ("spec", "request_id")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    spec: _spec_pb2.JobSpec
    request_id: str
    def __init__(self, spec: _Optional[_Union[_spec_pb2.JobSpec, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SubmitJobResponse(_message.Message):
    __slots__ = ("job", "warnings")
    JOB_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    job: Job
    warnings: _containers.RepeatedCompositeFieldContainer[SpecProblem]
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ..., warnings: _Optional[_Iterable[_Union[SpecProblem, _Mapping]]] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class GetJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "state", "labels")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    state: JobState
    labels: _containers.ScalarMap[str, str]
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., labels: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CancelJobResponse(_message.Message):
    __slots__ = ("job",)
    JOB_FIELD_NUMBER: _ClassVar[int]
    job: Job
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ...) -> None: ...

class DeleteJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class DeleteJobResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class WatchJobResponse(_message.Message):
    __slots__ = ("job", "event_time")
    JOB_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    job: Job
    event_time: _timestamp_pb2.Timestamp
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StreamResultsRequest(_message.Message):
    __slots__ = ("job_id", "from_chunk", "bulk")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_CHUNK_FIELD_NUMBER: _ClassVar[int]
    BULK_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    from_chunk: int
    bulk: bool
    def __init__(self, job_id: _Optional[str] = ..., from_chunk: _Optional[int] = ..., bulk: _Optional[bool] = ...) -> None: ...

class ResultArray(_message.Message):
    __slots__ = ("name", "dims", "shape", "chunks", "dtype", "attributes_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DIMS_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    dims: _containers.RepeatedScalarFieldContainer[str]
    shape: _containers.RepeatedScalarFieldContainer[int]
    chunks: _containers.RepeatedScalarFieldContainer[int]
    dtype: str
    attributes_json: str
    def __init__(self, name: _Optional[str] = ..., dims: _Optional[_Iterable[str]] = ..., shape: _Optional[_Iterable[int]] = ..., chunks: _Optional[_Iterable[int]] = ..., dtype: _Optional[str] = ..., attributes_json: _Optional[str] = ...) -> None: ...

class ResultLayout(_message.Message):
    __slots__ = ("arrays", "attributes_json")
    ARRAYS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_JSON_FIELD_NUMBER: _ClassVar[int]
    arrays: _containers.RepeatedCompositeFieldContainer[ResultArray]
    attributes_json: str
    def __init__(self, arrays: _Optional[_Iterable[_Union[ResultArray, _Mapping]]] = ..., attributes_json: _Optional[str] = ...) -> None: ...

class ResultHeader(_message.Message):
    __slots__ = ("dataset_json", "chunks_total", "layout")
    DATASET_JSON_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    LAYOUT_FIELD_NUMBER: _ClassVar[int]
    dataset_json: str
    chunks_total: int
    layout: ResultLayout
    def __init__(self, dataset_json: _Optional[str] = ..., chunks_total: _Optional[int] = ..., layout: _Optional[_Union[ResultLayout, _Mapping]] = ...) -> None: ...

class ResultChunk(_message.Message):
    __slots__ = ("chunk_index", "variable", "time_start_ms", "time_end_ms", "dtype", "shape", "byte_offset", "total_bytes", "data", "crc32c")
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    VARIABLE_FIELD_NUMBER: _ClassVar[int]
    TIME_START_MS_FIELD_NUMBER: _ClassVar[int]
    TIME_END_MS_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    BYTE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    CRC32C_FIELD_NUMBER: _ClassVar[int]
    chunk_index: int
    variable: str
    time_start_ms: float
    time_end_ms: float
    dtype: str
    shape: _containers.RepeatedScalarFieldContainer[int]
    byte_offset: int
    total_bytes: int
    data: bytes
    crc32c: int
    def __init__(self, chunk_index: _Optional[int] = ..., variable: _Optional[str] = ..., time_start_ms: _Optional[float] = ..., time_end_ms: _Optional[float] = ..., dtype: _Optional[str] = ..., shape: _Optional[_Iterable[int]] = ..., byte_offset: _Optional[int] = ..., total_bytes: _Optional[int] = ..., data: _Optional[bytes] = ..., crc32c: _Optional[int] = ...) -> None: ...

class StoredChunk(_message.Message):
    __slots__ = ("chunk_index", "key", "byte_offset", "total_bytes", "data", "crc32c")
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    BYTE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    CRC32C_FIELD_NUMBER: _ClassVar[int]
    chunk_index: int
    key: str
    byte_offset: int
    total_bytes: int
    data: bytes
    crc32c: int
    def __init__(self, chunk_index: _Optional[int] = ..., key: _Optional[str] = ..., byte_offset: _Optional[int] = ..., total_bytes: _Optional[int] = ..., data: _Optional[bytes] = ..., crc32c: _Optional[int] = ...) -> None: ...

class ChunkSent(_message.Message):
    __slots__ = ("chunk_index", "stored_chunks")
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    STORED_CHUNKS_FIELD_NUMBER: _ClassVar[int]
    chunk_index: int
    stored_chunks: int
    def __init__(self, chunk_index: _Optional[int] = ..., stored_chunks: _Optional[int] = ...) -> None: ...

class StreamResultsResponse(_message.Message):
    __slots__ = ("header", "chunk", "stored", "chunk_sent", "added", "bulk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELD_NUMBER: _ClassVar[int]
    CHUNK_SENT_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    BULK_FIELD_NUMBER: _ClassVar[int]
    header: ResultHeader
    chunk: ResultChunk
    stored: StoredChunk
    chunk_sent: ChunkSent
    added: ResultLayout
    bulk: BulkOffer
    def __init__(self, header: _Optional[_Union[ResultHeader, _Mapping]] = ..., chunk: _Optional[_Union[ResultChunk, _Mapping]] = ..., stored: _Optional[_Union[StoredChunk, _Mapping]] = ..., chunk_sent: _Optional[_Union[ChunkSent, _Mapping]] = ..., added: _Optional[_Union[ResultLayout, _Mapping]] = ..., bulk: _Optional[_Union[BulkOffer, _Mapping]] = ...) -> None: ...

class BulkOffer(_message.Message):
    __slots__ = ("port", "ticket", "ticket_ms", "chunks")
    PORT_FIELD_NUMBER: _ClassVar[int]
    TICKET_FIELD_NUMBER: _ClassVar[int]
    TICKET_MS_FIELD_NUMBER: _ClassVar[int]
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    port: int
    ticket: bytes
    ticket_ms: int
    chunks: _containers.RepeatedCompositeFieldContainer[BulkChunk]
    def __init__(self, port: _Optional[int] = ..., ticket: _Optional[bytes] = ..., ticket_ms: _Optional[int] = ..., chunks: _Optional[_Iterable[_Union[BulkChunk, _Mapping]]] = ...) -> None: ...

class BulkChunk(_message.Message):
    __slots__ = ("chunk_index", "files")
    CHUNK_INDEX_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    chunk_index: int
    files: _containers.RepeatedCompositeFieldContainer[BulkFile]
    def __init__(self, chunk_index: _Optional[int] = ..., files: _Optional[_Iterable[_Union[BulkFile, _Mapping]]] = ...) -> None: ...

class BulkFile(_message.Message):
    __slots__ = ("key", "size", "crc32c")
    KEY_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CRC32C_FIELD_NUMBER: _ClassVar[int]
    key: str
    size: int
    crc32c: int
    def __init__(self, key: _Optional[str] = ..., size: _Optional[int] = ..., crc32c: _Optional[int] = ...) -> None: ...

class SweepAxis(_message.Message):
    __slots__ = ("path", "values", "linspace", "logspace", "name")
    PATH_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    LINSPACE_FIELD_NUMBER: _ClassVar[int]
    LOGSPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    path: str
    values: _containers.RepeatedScalarFieldContainer[float]
    linspace: Range
    logspace: Range
    name: str
    def __init__(self, path: _Optional[str] = ..., values: _Optional[_Iterable[float]] = ..., linspace: _Optional[_Union[Range, _Mapping]] = ..., logspace: _Optional[_Union[Range, _Mapping]] = ..., name: _Optional[str] = ...) -> None: ...

class Range(_message.Message):
    __slots__ = ("start", "stop", "num")
    START_FIELD_NUMBER: _ClassVar[int]
    STOP_FIELD_NUMBER: _ClassVar[int]
    NUM_FIELD_NUMBER: _ClassVar[int]
    start: float
    stop: float
    num: int
    def __init__(self, start: _Optional[float] = ..., stop: _Optional[float] = ..., num: _Optional[int] = ...) -> None: ...

class SweepMetric(_message.Message):
    __slots__ = ("name", "points_um", "min_fraction", "max_gap_ms", "threshold_mv", "box_um", "time_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    POINTS_UM_FIELD_NUMBER: _ClassVar[int]
    MIN_FRACTION_FIELD_NUMBER: _ClassVar[int]
    MAX_GAP_MS_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_MV_FIELD_NUMBER: _ClassVar[int]
    BOX_UM_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    points_um: _containers.RepeatedCompositeFieldContainer[_spec_pb2.Point]
    min_fraction: float
    max_gap_ms: float
    threshold_mv: float
    box_um: _containers.RepeatedScalarFieldContainer[float]
    time_ms: float
    def __init__(self, name: _Optional[str] = ..., points_um: _Optional[_Iterable[_Union[_spec_pb2.Point, _Mapping]]] = ..., min_fraction: _Optional[float] = ..., max_gap_ms: _Optional[float] = ..., threshold_mv: _Optional[float] = ..., box_um: _Optional[_Iterable[float]] = ..., time_ms: _Optional[float] = ...) -> None: ...

class SweepSpec(_message.Message):
    __slots__ = ("name", "base", "axes", "combine", "keep_fields", "analysis", "zip_dim", "metrics")
    class AnalysisEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    AXES_FIELD_NUMBER: _ClassVar[int]
    COMBINE_FIELD_NUMBER: _ClassVar[int]
    KEEP_FIELDS_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    ZIP_DIM_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    name: str
    base: _spec_pb2.JobSpec
    axes: _containers.RepeatedCompositeFieldContainer[SweepAxis]
    combine: SweepCombine
    keep_fields: bool
    analysis: _containers.ScalarMap[str, float]
    zip_dim: str
    metrics: _containers.RepeatedCompositeFieldContainer[SweepMetric]
    def __init__(self, name: _Optional[str] = ..., base: _Optional[_Union[_spec_pb2.JobSpec, _Mapping]] = ..., axes: _Optional[_Iterable[_Union[SweepAxis, _Mapping]]] = ..., combine: _Optional[_Union[SweepCombine, str]] = ..., keep_fields: _Optional[bool] = ..., analysis: _Optional[_Mapping[str, float]] = ..., zip_dim: _Optional[str] = ..., metrics: _Optional[_Iterable[_Union[SweepMetric, _Mapping]]] = ...) -> None: ...

class SweepRunFailure(_message.Message):
    __slots__ = ("parameters", "error")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.Value
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    parameters: _containers.MessageMap[str, _struct_pb2.Value]
    error: str
    def __init__(self, parameters: _Optional[_Mapping[str, _struct_pb2.Value]] = ..., error: _Optional[str] = ...) -> None: ...

class Sweep(_message.Message):
    __slots__ = ("id", "state", "spec", "runs_total", "runs_done", "runs_failed", "error", "create_time", "request_id", "runs_per_second", "eta_seconds", "failed_runs", "end_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    RUNS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    RUNS_DONE_FIELD_NUMBER: _ClassVar[int]
    RUNS_FAILED_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RUNS_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    ETA_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FAILED_RUNS_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: JobState
    spec: SweepSpec
    runs_total: int
    runs_done: int
    runs_failed: int
    error: str
    create_time: _timestamp_pb2.Timestamp
    request_id: str
    runs_per_second: float
    eta_seconds: float
    failed_runs: _containers.RepeatedCompositeFieldContainer[SweepRunFailure]
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., spec: _Optional[_Union[SweepSpec, _Mapping]] = ..., runs_total: _Optional[int] = ..., runs_done: _Optional[int] = ..., runs_failed: _Optional[int] = ..., error: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ..., runs_per_second: _Optional[float] = ..., eta_seconds: _Optional[float] = ..., failed_runs: _Optional[_Iterable[_Union[SweepRunFailure, _Mapping]]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubmitSweepRequest(_message.Message):
    __slots__ = ("spec", "request_id")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    spec: SweepSpec
    request_id: str
    def __init__(self, spec: _Optional[_Union[SweepSpec, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SubmitSweepResponse(_message.Message):
    __slots__ = ("sweep",)
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    sweep: Sweep
    def __init__(self, sweep: _Optional[_Union[Sweep, _Mapping]] = ...) -> None: ...

class GetSweepRequest(_message.Message):
    __slots__ = ("sweep_id",)
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    sweep_id: str
    def __init__(self, sweep_id: _Optional[str] = ...) -> None: ...

class GetSweepResponse(_message.Message):
    __slots__ = ("sweep",)
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    sweep: Sweep
    def __init__(self, sweep: _Optional[_Union[Sweep, _Mapping]] = ...) -> None: ...

class ListSweepsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "state")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    state: JobState
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ...) -> None: ...

class ListSweepsResponse(_message.Message):
    __slots__ = ("sweeps", "next_page_token")
    SWEEPS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sweeps: _containers.RepeatedCompositeFieldContainer[Sweep]
    next_page_token: str
    def __init__(self, sweeps: _Optional[_Iterable[_Union[Sweep, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchSweepRequest(_message.Message):
    __slots__ = ("sweep_id",)
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    sweep_id: str
    def __init__(self, sweep_id: _Optional[str] = ...) -> None: ...

class WatchSweepResponse(_message.Message):
    __slots__ = ("sweep", "event_time")
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    sweep: Sweep
    event_time: _timestamp_pb2.Timestamp
    def __init__(self, sweep: _Optional[_Union[Sweep, _Mapping]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CancelSweepRequest(_message.Message):
    __slots__ = ("sweep_id",)
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    sweep_id: str
    def __init__(self, sweep_id: _Optional[str] = ...) -> None: ...

class CancelSweepResponse(_message.Message):
    __slots__ = ("sweep",)
    SWEEP_FIELD_NUMBER: _ClassVar[int]
    sweep: Sweep
    def __init__(self, sweep: _Optional[_Union[Sweep, _Mapping]] = ...) -> None: ...

class DeleteSweepRequest(_message.Message):
    __slots__ = ("sweep_id",)
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    sweep_id: str
    def __init__(self, sweep_id: _Optional[str] = ...) -> None: ...

class DeleteSweepResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamSweepSummaryRequest(_message.Message):
    __slots__ = ("sweep_id",)
    SWEEP_ID_FIELD_NUMBER: _ClassVar[int]
    sweep_id: str
    def __init__(self, sweep_id: _Optional[str] = ...) -> None: ...

class StreamSweepSummaryResponse(_message.Message):
    __slots__ = ("header", "chunk")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    header: ResultHeader
    chunk: ResultChunk
    def __init__(self, header: _Optional[_Union[ResultHeader, _Mapping]] = ..., chunk: _Optional[_Union[ResultChunk, _Mapping]] = ...) -> None: ...

class DesignSpec(_message.Message):
    __slots__ = ("base", "name", "set", "protocol", "protocol_parameters", "search", "parameter", "range", "tolerance", "scale", "criterion", "analysis", "durations", "duration_parameter", "values", "space", "log", "objective", "maximise", "points", "rounds", "expand")
    class AnalysisEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class SpaceEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _struct_pb2.ListValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.ListValue, _Mapping]] = ...) -> None: ...
    BASE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SET_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    CRITERION_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    DURATIONS_FIELD_NUMBER: _ClassVar[int]
    DURATION_PARAMETER_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    SPACE_FIELD_NUMBER: _ClassVar[int]
    LOG_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    MAXIMISE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_FIELD_NUMBER: _ClassVar[int]
    EXPAND_FIELD_NUMBER: _ClassVar[int]
    base: _spec_pb2.JobSpec
    name: str
    set: _struct_pb2.Struct
    protocol: str
    protocol_parameters: _struct_pb2.Struct
    search: DesignSearch
    parameter: str
    range: _containers.RepeatedScalarFieldContainer[float]
    tolerance: float
    scale: DesignScale
    criterion: _struct_pb2.Value
    analysis: _containers.ScalarMap[str, float]
    durations: _containers.RepeatedScalarFieldContainer[float]
    duration_parameter: str
    values: _struct_pb2.Value
    space: _containers.MessageMap[str, _struct_pb2.ListValue]
    log: _containers.RepeatedScalarFieldContainer[str]
    objective: str
    maximise: bool
    points: int
    rounds: int
    expand: int
    def __init__(self, base: _Optional[_Union[_spec_pb2.JobSpec, _Mapping]] = ..., name: _Optional[str] = ..., set: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., protocol: _Optional[str] = ..., protocol_parameters: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., search: _Optional[_Union[DesignSearch, str]] = ..., parameter: _Optional[str] = ..., range: _Optional[_Iterable[float]] = ..., tolerance: _Optional[float] = ..., scale: _Optional[_Union[DesignScale, str]] = ..., criterion: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., analysis: _Optional[_Mapping[str, float]] = ..., durations: _Optional[_Iterable[float]] = ..., duration_parameter: _Optional[str] = ..., values: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., space: _Optional[_Mapping[str, _struct_pb2.ListValue]] = ..., log: _Optional[_Iterable[str]] = ..., objective: _Optional[str] = ..., maximise: _Optional[bool] = ..., points: _Optional[int] = ..., rounds: _Optional[int] = ..., expand: _Optional[int] = ...) -> None: ...

class DesignBracket(_message.Message):
    __slots__ = ("parameter", "fixed", "low", "high", "status")
    class FixedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    PARAMETER_FIELD_NUMBER: _ClassVar[int]
    FIXED_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    parameter: str
    fixed: _containers.ScalarMap[str, float]
    low: float
    high: float
    status: str
    def __init__(self, parameter: _Optional[str] = ..., fixed: _Optional[_Mapping[str, float]] = ..., low: _Optional[float] = ..., high: _Optional[float] = ..., status: _Optional[str] = ...) -> None: ...

class DesignRun(_message.Message):
    __slots__ = ("round", "parameters", "success", "status", "error", "seconds", "metrics")
    class ParametersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class MetricsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ROUND_FIELD_NUMBER: _ClassVar[int]
    PARAMETERS_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    round: int
    parameters: _containers.ScalarMap[str, float]
    success: bool
    status: str
    error: str
    seconds: float
    metrics: _containers.ScalarMap[str, float]
    def __init__(self, round: _Optional[int] = ..., parameters: _Optional[_Mapping[str, float]] = ..., success: _Optional[bool] = ..., status: _Optional[str] = ..., error: _Optional[str] = ..., seconds: _Optional[float] = ..., metrics: _Optional[_Mapping[str, float]] = ...) -> None: ...

class Design(_message.Message):
    __slots__ = ("id", "state", "spec", "request_id", "name", "search", "rounds_done", "runs_done", "rounds_left", "brackets", "best", "best_objective", "result_json", "error", "create_time", "end_time")
    class BestEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEARCH_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_DONE_FIELD_NUMBER: _ClassVar[int]
    RUNS_DONE_FIELD_NUMBER: _ClassVar[int]
    ROUNDS_LEFT_FIELD_NUMBER: _ClassVar[int]
    BRACKETS_FIELD_NUMBER: _ClassVar[int]
    BEST_FIELD_NUMBER: _ClassVar[int]
    BEST_OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    RESULT_JSON_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: JobState
    spec: DesignSpec
    request_id: str
    name: str
    search: str
    rounds_done: int
    runs_done: int
    rounds_left: int
    brackets: _containers.RepeatedCompositeFieldContainer[DesignBracket]
    best: _containers.ScalarMap[str, float]
    best_objective: float
    result_json: str
    error: str
    create_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., spec: _Optional[_Union[DesignSpec, _Mapping]] = ..., request_id: _Optional[str] = ..., name: _Optional[str] = ..., search: _Optional[str] = ..., rounds_done: _Optional[int] = ..., runs_done: _Optional[int] = ..., rounds_left: _Optional[int] = ..., brackets: _Optional[_Iterable[_Union[DesignBracket, _Mapping]]] = ..., best: _Optional[_Mapping[str, float]] = ..., best_objective: _Optional[float] = ..., result_json: _Optional[str] = ..., error: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SubmitDesignRequest(_message.Message):
    __slots__ = ("spec", "request_id")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    spec: DesignSpec
    request_id: str
    def __init__(self, spec: _Optional[_Union[DesignSpec, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class SubmitDesignResponse(_message.Message):
    __slots__ = ("design",)
    DESIGN_FIELD_NUMBER: _ClassVar[int]
    design: Design
    def __init__(self, design: _Optional[_Union[Design, _Mapping]] = ...) -> None: ...

class GetDesignRequest(_message.Message):
    __slots__ = ("design_id",)
    DESIGN_ID_FIELD_NUMBER: _ClassVar[int]
    design_id: str
    def __init__(self, design_id: _Optional[str] = ...) -> None: ...

class GetDesignResponse(_message.Message):
    __slots__ = ("design",)
    DESIGN_FIELD_NUMBER: _ClassVar[int]
    design: Design
    def __init__(self, design: _Optional[_Union[Design, _Mapping]] = ...) -> None: ...

class ListDesignsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "state")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    state: JobState
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ...) -> None: ...

class ListDesignsResponse(_message.Message):
    __slots__ = ("designs", "next_page_token")
    DESIGNS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    designs: _containers.RepeatedCompositeFieldContainer[Design]
    next_page_token: str
    def __init__(self, designs: _Optional[_Iterable[_Union[Design, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchDesignRequest(_message.Message):
    __slots__ = ("design_id",)
    DESIGN_ID_FIELD_NUMBER: _ClassVar[int]
    design_id: str
    def __init__(self, design_id: _Optional[str] = ...) -> None: ...

class WatchDesignResponse(_message.Message):
    __slots__ = ("design", "runs", "event_time")
    DESIGN_FIELD_NUMBER: _ClassVar[int]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    design: Design
    runs: _containers.RepeatedCompositeFieldContainer[DesignRun]
    event_time: _timestamp_pb2.Timestamp
    def __init__(self, design: _Optional[_Union[Design, _Mapping]] = ..., runs: _Optional[_Iterable[_Union[DesignRun, _Mapping]]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CancelDesignRequest(_message.Message):
    __slots__ = ("design_id",)
    DESIGN_ID_FIELD_NUMBER: _ClassVar[int]
    design_id: str
    def __init__(self, design_id: _Optional[str] = ...) -> None: ...

class CancelDesignResponse(_message.Message):
    __slots__ = ("design",)
    DESIGN_FIELD_NUMBER: _ClassVar[int]
    design: Design
    def __init__(self, design: _Optional[_Union[Design, _Mapping]] = ...) -> None: ...

class DeleteDesignRequest(_message.Message):
    __slots__ = ("design_id",)
    DESIGN_ID_FIELD_NUMBER: _ClassVar[int]
    design_id: str
    def __init__(self, design_id: _Optional[str] = ...) -> None: ...

class DeleteDesignResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StreamDesignReportRequest(_message.Message):
    __slots__ = ("design_id",)
    DESIGN_ID_FIELD_NUMBER: _ClassVar[int]
    design_id: str
    def __init__(self, design_id: _Optional[str] = ...) -> None: ...

class DesignReportPiece(_message.Message):
    __slots__ = ("name", "byte_offset", "total_bytes", "data", "crc32c")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BYTE_OFFSET_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    CRC32C_FIELD_NUMBER: _ClassVar[int]
    name: str
    byte_offset: int
    total_bytes: int
    data: bytes
    crc32c: int
    def __init__(self, name: _Optional[str] = ..., byte_offset: _Optional[int] = ..., total_bytes: _Optional[int] = ..., data: _Optional[bytes] = ..., crc32c: _Optional[int] = ...) -> None: ...

class StreamDesignReportResponse(_message.Message):
    __slots__ = ("piece",)
    PIECE_FIELD_NUMBER: _ClassVar[int]
    piece: DesignReportPiece
    def __init__(self, piece: _Optional[_Union[DesignReportPiece, _Mapping]] = ...) -> None: ...

class InteractRequest(_message.Message):
    __slots__ = ("sequence", "start", "resume", "advance", "set_light", "clear_light", "finish", "recorded_spec")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    RESUME_FIELD_NUMBER: _ClassVar[int]
    ADVANCE_FIELD_NUMBER: _ClassVar[int]
    SET_LIGHT_FIELD_NUMBER: _ClassVar[int]
    CLEAR_LIGHT_FIELD_NUMBER: _ClassVar[int]
    FINISH_FIELD_NUMBER: _ClassVar[int]
    RECORDED_SPEC_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    start: InteractStart
    resume: InteractResume
    advance: InteractAdvance
    set_light: InteractSetLight
    clear_light: InteractClearLight
    finish: InteractFinish
    recorded_spec: InteractRecordedSpec
    def __init__(self, sequence: _Optional[int] = ..., start: _Optional[_Union[InteractStart, _Mapping]] = ..., resume: _Optional[_Union[InteractResume, _Mapping]] = ..., advance: _Optional[_Union[InteractAdvance, _Mapping]] = ..., set_light: _Optional[_Union[InteractSetLight, _Mapping]] = ..., clear_light: _Optional[_Union[InteractClearLight, _Mapping]] = ..., finish: _Optional[_Union[InteractFinish, _Mapping]] = ..., recorded_spec: _Optional[_Union[InteractRecordedSpec, _Mapping]] = ...) -> None: ...

class InteractStart(_message.Message):
    __slots__ = ("spec", "include_v", "request_id")
    SPEC_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_V_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    spec: _spec_pb2.JobSpec
    include_v: bool
    request_id: str
    def __init__(self, spec: _Optional[_Union[_spec_pb2.JobSpec, _Mapping]] = ..., include_v: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class InteractResume(_message.Message):
    __slots__ = ("session_id", "resume_token", "last_frame", "last_reply")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LAST_FRAME_FIELD_NUMBER: _ClassVar[int]
    LAST_REPLY_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    resume_token: str
    last_frame: int
    last_reply: int
    def __init__(self, session_id: _Optional[str] = ..., resume_token: _Optional[str] = ..., last_frame: _Optional[int] = ..., last_reply: _Optional[int] = ...) -> None: ...

class InteractAdvance(_message.Message):
    __slots__ = ("frames",)
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    frames: int
    def __init__(self, frames: _Optional[int] = ...) -> None: ...

class InteractSetLight(_message.Message):
    __slots__ = ("pattern", "raster", "irradiance_mw_per_mm2", "name")
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    RASTER_FIELD_NUMBER: _ClassVar[int]
    IRRADIANCE_MW_PER_MM2_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    pattern: _spec_pb2.Pattern
    raster: CameraRaster
    irradiance_mw_per_mm2: float
    name: str
    def __init__(self, pattern: _Optional[_Union[_spec_pb2.Pattern, _Mapping]] = ..., raster: _Optional[_Union[CameraRaster, _Mapping]] = ..., irradiance_mw_per_mm2: _Optional[float] = ..., name: _Optional[str] = ...) -> None: ...

class CameraRaster(_message.Message):
    __slots__ = ("shape", "dtype", "data")
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    dtype: str
    data: bytes
    def __init__(self, shape: _Optional[_Iterable[int]] = ..., dtype: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class InteractClearLight(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InteractFinish(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InteractRecordedSpec(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InteractResponse(_message.Message):
    __slots__ = ("started", "frame", "command_applied", "finished", "recorded_spec", "rejected")
    STARTED_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    COMMAND_APPLIED_FIELD_NUMBER: _ClassVar[int]
    FINISHED_FIELD_NUMBER: _ClassVar[int]
    RECORDED_SPEC_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    started: InteractStartedResponse
    frame: InteractFrame
    command_applied: InteractCommandApplied
    finished: InteractFinishedResponse
    recorded_spec: InteractRecordedSpecResponse
    rejected: InteractRejected
    def __init__(self, started: _Optional[_Union[InteractStartedResponse, _Mapping]] = ..., frame: _Optional[_Union[InteractFrame, _Mapping]] = ..., command_applied: _Optional[_Union[InteractCommandApplied, _Mapping]] = ..., finished: _Optional[_Union[InteractFinishedResponse, _Mapping]] = ..., recorded_spec: _Optional[_Union[InteractRecordedSpecResponse, _Mapping]] = ..., rejected: _Optional[_Union[InteractRejected, _Mapping]] = ...) -> None: ...

class InteractStartedResponse(_message.Message):
    __slots__ = ("session_id", "resume_token", "frame_period_ms", "shape", "next_frame", "last_sequence", "grace_s", "max_frames")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    RESUME_TOKEN_FIELD_NUMBER: _ClassVar[int]
    FRAME_PERIOD_MS_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    NEXT_FRAME_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    GRACE_S_FIELD_NUMBER: _ClassVar[int]
    MAX_FRAMES_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    resume_token: str
    frame_period_ms: float
    shape: _containers.RepeatedScalarFieldContainer[int]
    next_frame: int
    last_sequence: int
    grace_s: float
    max_frames: int
    def __init__(self, session_id: _Optional[str] = ..., resume_token: _Optional[str] = ..., frame_period_ms: _Optional[float] = ..., shape: _Optional[_Iterable[int]] = ..., next_frame: _Optional[int] = ..., last_sequence: _Optional[int] = ..., grace_s: _Optional[float] = ..., max_frames: _Optional[int] = ...) -> None: ...

class FrameArray(_message.Message):
    __slots__ = ("name", "dims", "shape", "dtype", "codec", "data", "attributes_json")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DIMS_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    DTYPE_FIELD_NUMBER: _ClassVar[int]
    CODEC_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_JSON_FIELD_NUMBER: _ClassVar[int]
    name: str
    dims: _containers.RepeatedScalarFieldContainer[str]
    shape: _containers.RepeatedScalarFieldContainer[int]
    dtype: str
    codec: str
    data: bytes
    attributes_json: str
    def __init__(self, name: _Optional[str] = ..., dims: _Optional[_Iterable[str]] = ..., shape: _Optional[_Iterable[int]] = ..., dtype: _Optional[str] = ..., codec: _Optional[str] = ..., data: _Optional[bytes] = ..., attributes_json: _Optional[str] = ...) -> None: ...

class InteractFrame(_message.Message):
    __slots__ = ("index", "time_ms", "arrays", "coords", "attributes_json")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    ARRAYS_FIELD_NUMBER: _ClassVar[int]
    COORDS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_JSON_FIELD_NUMBER: _ClassVar[int]
    index: int
    time_ms: float
    arrays: _containers.RepeatedCompositeFieldContainer[FrameArray]
    coords: _containers.RepeatedCompositeFieldContainer[FrameArray]
    attributes_json: str
    def __init__(self, index: _Optional[int] = ..., time_ms: _Optional[float] = ..., arrays: _Optional[_Iterable[_Union[FrameArray, _Mapping]]] = ..., coords: _Optional[_Iterable[_Union[FrameArray, _Mapping]]] = ..., attributes_json: _Optional[str] = ...) -> None: ...

class InteractCommandApplied(_message.Message):
    __slots__ = ("sequence", "frame", "time_ms", "recorded", "commands_total", "pattern_json", "applied_monotonic_ns")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    FRAME_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    PATTERN_JSON_FIELD_NUMBER: _ClassVar[int]
    APPLIED_MONOTONIC_NS_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    frame: int
    time_ms: float
    recorded: bool
    commands_total: int
    pattern_json: str
    applied_monotonic_ns: int
    def __init__(self, sequence: _Optional[int] = ..., frame: _Optional[int] = ..., time_ms: _Optional[float] = ..., recorded: _Optional[bool] = ..., commands_total: _Optional[int] = ..., pattern_json: _Optional[str] = ..., applied_monotonic_ns: _Optional[int] = ...) -> None: ...

class InteractFinishedResponse(_message.Message):
    __slots__ = ("sequence", "job_id")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    job_id: str
    def __init__(self, sequence: _Optional[int] = ..., job_id: _Optional[str] = ...) -> None: ...

class InteractRecordedSpecResponse(_message.Message):
    __slots__ = ("sequence", "spec")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    spec: _spec_pb2.JobSpec
    def __init__(self, sequence: _Optional[int] = ..., spec: _Optional[_Union[_spec_pb2.JobSpec, _Mapping]] = ...) -> None: ...

class InteractRejected(_message.Message):
    __slots__ = ("sequence", "code", "message", "violations")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    code: int
    message: str
    violations: _containers.RepeatedCompositeFieldContainer[SpecProblem]
    def __init__(self, sequence: _Optional[int] = ..., code: _Optional[int] = ..., message: _Optional[str] = ..., violations: _Optional[_Iterable[_Union[SpecProblem, _Mapping]]] = ...) -> None: ...
