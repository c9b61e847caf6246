"""The chunked runner: a job as a chain of checkpointed time chunks, in process or on Dask.

>>> job = open_job("examples/spiral.json", "out/spiral.zarr")          # doctest: +SKIP
>>> with dask_client(workers=2) as client:                             # doctest: +SKIP
...     for event in job.events(client):
...         print(f"{event.t_ms:g} ms, ETA {event.eta_s:.0f} s")

Each chunk restores the state from the last checkpoint, advances it, writes its samples into the
job's Zarr store (one Zarr chunk per time chunk, one writer at a time), saves a checkpoint and only
then commits; a job interrupted anywhere resumes from its last committed chunk and ends with the
store an uninterrupted run writes, bit for bit.
"""
from __future__ import annotations

from ._chunk import JobTicket, RunnerError, run_chunk
from ._cluster import apply_numba_threads, dask_client, machine_cores, worker_layout
from ._files import IntegrityError, read_record, runner_dir_for
from ._job import ChunkedJob, JobResult, Progress, final_state, open_job, run_job
from ._plan import ChunkPlan, default_chunk_steps, plan_chunks

__all__ = [
    "ChunkPlan", "ChunkedJob", "JobResult", "JobTicket", "Progress", "RunnerError", "apply_numba_threads",
    "dask_client",
    "default_chunk_steps", "final_state", "machine_cores", "open_job", "plan_chunks", "run_chunk", "run_job",
    "runner_dir_for", "worker_layout", "IntegrityError", "read_record",
]
