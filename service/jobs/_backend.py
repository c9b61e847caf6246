"""Where the chunks run: a Dask cluster (an existing scheduler or a local one) or this process."""
from __future__ import annotations

from contextlib import ExitStack


class Backend:
    """Opens and closes the compute the job manager hands to the runner.

    Parameters
    ----------
    scheduler
        ``tcp://HOST:PORT`` of an existing Dask scheduler (its workers must see the data directory).
    workers
        Local Dask worker processes (default: one per core). ``0`` runs chunks in threads of the
        server process itself: for tests and tiny jobs only (a kernel that holds the GIL stalls
        the server while it runs).
    """

    def __init__(self, *, scheduler: str | None = None, workers: int | None = None):
        if scheduler and workers:
            raise ValueError("give either scheduler (an existing cluster) or workers (a local one), not both")
        if workers is not None and workers < 0:
            raise ValueError(f"workers = {workers} is not allowed; must be >= 0")
        self.scheduler, self.workers = scheduler, workers
        self.client = None
        self._stack = ExitStack()

    @property
    def in_process(self) -> bool:
        return not self.scheduler and self.workers == 0

    def open(self) -> "Backend":
        """Start or connect to the cluster (blocking: call it off the event loop)."""
        if not self.in_process:
            from service.runner import dask_client

            self.client = self._stack.enter_context(dask_client(scheduler=self.scheduler, workers=self.workers))
        return self

    def close(self) -> None:
        self.client = None
        self._stack.close()

    def describe(self) -> str:
        if self.in_process:
            return "chunks run in the server process"
        if self.scheduler:
            return f"chunks run on the Dask scheduler at {self.scheduler}"
        n = len(self.client.scheduler_info().get("workers", {})) if self.client is not None else self.workers
        return f"chunks run on a local Dask cluster of {n} worker(s)"
