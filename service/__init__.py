"""optowave's service: the gRPC server, job store and Dask runner (built on :mod:`solver`)."""
