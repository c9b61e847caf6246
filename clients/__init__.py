"""optowave clients: the ``optowave`` command line (and, with the service, the Python client)."""
