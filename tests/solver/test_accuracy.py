"""validate's CV error model: its warnings, and its time-step estimate against a cable it was not fitted on."""
from __future__ import annotations

import pytest

import solver
from solver.numerics.convergence import Cable, run_bdf, run_kernel
from solver.spec import accuracy_of
from solver.spec._accuracy import TIME_CONSTANTS
from tests.specs import small_hek_spec


def test_a_continuum_grid_too_coarse_warns_with_the_dx_for_one_percent():
    spec = small_hek_spec(grid={"nx": 40, "ny": 10, "dx_um": 9.0}, numerics={"dt_ms": 0.0125, "duration_ms": 1.0})
    report = solver.validate(solver.load_spec(spec, check_spec=False))
    (w,) = [w for w in report.warnings if w.field == "grid.dx_um"]
    assert "estimated CV error of this spec is 4.8%" in w.description and "use dx <= 4.15 µm for 1%" in w.description


def test_a_first_order_step_on_a_discrete_grid_warns_and_says_the_grid_is_the_tissue():
    spec = small_hek_spec(grid={"nx": 40, "ny": 10, "dx_um": 20.0},
                          numerics={"dt_ms": 0.04, "duration_ms": 1.0, "time_scheme": "TIME_SCHEME_FIRST_ORDER"})
    spec["coupling"] = {"gap_junction": {"conductance_ns": 37.5, "cell_size_um": 20.0, "capacitance_pf": 15.0}}
    report = solver.validate(solver.load_spec(spec, check_spec=False))
    (w,) = [w for w in report.warnings if w.field == "numerics.dt_ms"]
    assert "12.0% of it from the time step" in w.description
    assert "one node per cell: the grid is the tissue; the reference is the dt -> 0 limit at this dx" in w.description
    assert "use dt <= 0.00333 ms for 1%" in w.description and "TIME_SCHEME_SECOND_ORDER (1.49% at this dt)" in w.description
    acc = accuracy_of(solver.load_spec(spec, check_spec=False))
    assert acc.discrete and acc.grid == 0.0
    # the default, second order, at the same dt: within budget, no warning
    del spec["numerics"]["time_scheme"]
    assert not [w for w in solver.validate(solver.load_spec(spec, check_spec=False)).warnings
                if w.field == "numerics.dt_ms"]


@pytest.mark.parametrize("order, dt", [(1, 0.01), (2, 0.03)])
def test_the_time_estimate_holds_on_a_cable_it_was_not_fitted_on(order, dt):
    """Fitted at dx 9-10 µm, D 1000; here dx 14 µm, D 2000 µm²/ms: the estimate within 15 %."""
    cable = Cable(n=50, dx_um=14.0, diffusivity_um2_per_ms=2000.0, probes=(15, 40), t_end_ms=10.0)
    ref = run_bdf(cable)
    measured = abs(run_kernel(cable, dt, order=order).cv / ref.cv - 1)
    predicted = TIME_CONSTANTS["hek_gokhale2017_35c"][order] * dt**order
    print(f"\norder {order}, dt {dt}: CV error {measured:.4%}, estimated {predicted:.4%}")
    assert abs(predicted / measured - 1) < 0.15
