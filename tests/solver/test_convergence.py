"""The order of the time schemes, measured: CV on a HEK cable against scipy's BDF on the same cable.

The reference is the dt -> 0 limit of the same discrete cable (same dx, same coupling, the model's
physics functions), integrated by an implicit solver with tight tolerances; so the error left is
the time integrator's alone. Halving dt must halve it with first-order steps and quarter it with
second-order steps, on the exact kernel and on the lookup tables.
"""
from __future__ import annotations

import numpy as np
import pytest

from solver.numerics.convergence import Cable, run_bdf, run_kernel

CABLE = Cable(n=60, probes=(20, 45), t_end_ms=12.0)  # 35 C Gokhale, D 1000 µm²/ms, dx 10 µm


@pytest.fixture(scope="module")
def reference():
    ref = run_bdf(CABLE)
    assert 4.0 < ref.cv < 6.0  # cm/s: a wave crossed both probes (MODEL.md: ~5 cm/s at D = 1e3)
    return ref


def _cv_errors(ref, order, dts, **kw):
    return np.array([abs(run_kernel(CABLE, dt, order=order, **kw).cv / ref.cv - 1.0) for dt in dts])


def test_first_order_steps_halve_the_cv_error_when_dt_halves(reference):
    err = _cv_errors(reference, 1, (0.02, 0.01, 0.005))
    ratios = err[:-1] / err[1:]
    print(f"\nfirst order: CV errors {err} at dt 0.02/0.01/0.005 ms, ratios {ratios}")
    assert np.all((ratios > 1.8) & (ratios < 2.2))
    assert err[0] > 0.03  # 0.02 ms, the planar example's step, is > 3 % slow to first order


def test_second_order_steps_quarter_the_cv_error_when_dt_halves(reference):
    err = _cv_errors(reference, 2, (0.04, 0.02, 0.01))
    ratios = err[:-1] / err[1:]
    print(f"\nsecond order: CV errors {err} at dt 0.04/0.02/0.01 ms, ratios {ratios}")
    assert np.all((ratios > 3.4) & (ratios < 4.6))
    assert err[1] < 0.005  # 0.02 ms: within half a percent of the limit


def test_lookup_tables_converge_to_the_same_limit(reference):
    """The tables add an error of their own (interpolation in V), far below the 2 % budget."""
    err = np.array([run_kernel(CABLE, dt, order=2, lookup_tables=True).cv / reference.cv - 1.0
                    for dt in (0.02, 0.01)])  # fmt: skip
    exact = np.array([run_kernel(CABLE, dt, order=2).cv / reference.cv - 1.0 for dt in (0.02, 0.01)])
    print(f"\nlookup tables, second order: CV errors {err}, exact kernel {exact}")
    assert np.all(np.abs(err - exact) < 2e-4)
    assert abs(err[1]) < abs(err[0]) / 3
