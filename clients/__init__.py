"""optowave clients: the Python client of an optowave server and the ``optowave`` command line.

>>> from clients import Client
>>> job = Client("localhost:50051").submit("examples/spiral.json")   # doctest: +SKIP
>>> ds = job.result()                                                 # doctest: +SKIP
"""
from __future__ import annotations

from .client import TLS, Client, Job, JobError, ServiceError, Sweep, Validation

__all__ = ["Client", "Job", "JobError", "ServiceError", "Sweep", "TLS", "Validation"]
