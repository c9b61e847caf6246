"""optowave clients: the Python client of an optowave server and the ``optowave`` command line.

>>> from clients import Client
>>> job = Client("localhost:50051").submit("examples/spiral.json")   # doctest: +SKIP
>>> ds = job.result()                                                 # doctest: +SKIP

The lab client needs grpcio, grpcio-status, protobuf, google-crc32c, numpy, xarray, zarr and PyYAML; it never
imports the solver (numba, scipy, Dask): validation comes from the server (``Client.validate``).
"""
from __future__ import annotations

from .client import TLS, Client, Design, Job, JobError, ServiceError, Sweep, Validation

__all__ = ["Client", "Design", "Job", "JobError", "ServiceError", "Sweep", "TLS", "Validation"]
