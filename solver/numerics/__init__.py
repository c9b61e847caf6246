"""How fast and how accurate the kernels are: the throughput benchmark and the time-step convergence study."""
