"""The HEK lookup-table path: its tables, its accuracy against the exact path, and its dispatch.

The tables and their kernel are generated from the HEK description (solver.models.codegen._lut); their
columns are checked here against the hand-written physics functions of solver.models.hek. The
lookup-table kernel must keep the MODEL.md single-cell figures (rest, peak, max dV/dt, APD90) within
0.5 % of the exact kernel, which is what makes it the HEK presets' default (solver.engine.backends).
Steps go in pairs and in blocks of rows per thread: whatever the thread count and however a run is cut
into calls, the result is the same to the bit.
"""
from __future__ import annotations

import numba
import numpy as np
import pytest

import solver
from solver.engine import backends
from solver.engine.run import State
from solver.models import get_model, hek
from solver.models.codegen._layout import gate_layout
from solver.models.codegen._lut import packed_table
from solver.models.codegen._machinery import plain_rows

from tests.solver.test_kernel_vs_reference import CHERIFF_LIKE, SEGMENTS, face_weights, make_problem, run_kernel
from tests.solver.test_models_single_cell import STIMULUS, T_END, T_OFF, T_ON, _figures
from tests.specs import small_hek_spec

FIGURES = ("rest", "peak", "dvdt", "apd90")
N_PARAMS = len(hek.HEK_PARAM_NAMES)


def lut_stepper(name: str = "hek_gokhale2017_35c"):
    """The registry's lookup-table stepper of a HEK preset (what a run with the default numerics takes)."""
    return get_model(name).lookup_tables.stepper()


def run_lut(y0, dt, segments, args, order=1, name="hek_gokhale2017_35c"):
    """Like run_kernel, through the lookup-table stepper."""
    step = lut_stepper(name)
    ya, yb = y0.copy(), y0.copy()
    for n_steps, scale in segments:
        a = dict(args, iext=args["iext"] * scale)
        parity = step(ya, yb, n_steps, dt, a["wx"], a["wy"], a["active"], a["params"], a["pidx"], a["pmaps"],
                      a["iext"], a["has_opsin"], a["oparams"], a["gop"], a["flux"], order=order)  # fmt: skip
        assert parity == (n_steps % 2 if order == 1 else 0)
        if parity:
            ya, yb = yb, ya
    return ya, yb


def single_cell_figures(name: str, kernel, dtype=np.float64) -> dict:
    """MODEL.md's single-cell protocol through ``kernel`` (1 x 1 sheet, one step per call)."""
    model = get_model(name)
    dt = model.default_dt_ms
    rest = model.rest_state()
    ya = np.array([rest[s] for s in model.state_names], dtype=dtype).reshape(-1, 1, 1)
    yb = ya.copy()
    zero, one = np.zeros((1, 1)), np.ones((1, 1), np.uint8)
    params, pidx, pmaps = model.params_array(), np.full(N_PARAMS, -1, np.int64), np.zeros((0, 1, 1))
    n_on, n_off, n_end = (int(round(t / dt)) for t in (T_ON, T_OFF, T_END))
    v, dvdt = [float(ya[0, 0, 0])], []
    for step in range(n_end):
        iext = np.full((1, 1), STIMULUS[name][0] if n_on <= step < n_off else 0.0)
        if kernel(ya, yb, 1, dt, zero, zero, one, params, pidx, pmaps, iext, False, np.zeros(10), zero, zero):
            ya, yb = yb, ya
        dvdt.append((float(ya[0, 0, 0]) - v[-1]) / dt)
        v.append(float(ya[0, 0, 0]))
    v = np.array(v)
    t = dt * np.arange(v.size)
    return _figures(t[:-1], v[:-1], np.array(dvdt), rest["v"])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(STIMULUS))
def test_lookup_tables_keep_the_single_cell_figures_within_half_a_percent_of_the_exact_path(name, dtype):
    exact = single_cell_figures(name, get_model(name).kernel)
    tabulated = single_cell_figures(name, lut_stepper(name), dtype)
    rel = {k: tabulated[k] / exact[k] - 1 for k in FIGURES}
    print(f"\n{name} {dtype.__name__}: lookup tables vs exact " + ", ".join(f"{k} {r:+.4%}" for k, r in rel.items()))
    for k in FIGURES:
        assert abs(rel[k]) <= 0.005, (k, tabulated, exact)
    assert tabulated["peak"] > 20.0 and tabulated["apd90"] > 10.0  # an action potential, not a flat line
    # which is what makes the tables the default for this model
    assert backends.lookup_tables_default(get_model(name))


def test_table_columns_are_the_physics_functions_interpolated():
    """The packed table generated from the HEK description, column by column, against hek.py's hand-written
    steady states and time constants: one c per gate of V-dependent τ, one inf for h1/h2 and for n1/n2, b of
    the gates of constant τ (their decays as scalars), interpolated linearly on the 0.1 mV grid."""
    model = get_model("hek_gokhale2017_35c")
    p = dict(model.defaults)
    dt = 0.025
    desc = model.description
    tab, scalars = packed_table(desc, model.params_array()[: len(desc.parameters)], None, dt)
    columns = gate_layout(desc).columns
    assert columns == ("m.c", "m.b", "h1.inf", "h1.c", "h2.c", "n1.inf", "n1.c", "n2.c", "o.b", "p.b", "b.b")
    v_lo, inv_h = scalars[0], scalars[1]
    words = tab.reshape(-1, len(columns) + 1)  # the opsin's f_v(V)·(V − E) last
    value = (words & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.float32).astype(np.float64)
    slope = (words >> np.uint64(32)).astype(np.uint32).view(np.float32).astype(np.float64)
    v = np.random.default_rng(0).uniform(-150.0, 80.0, 2000)
    x = (v - v_lo) * inv_h
    k = np.floor(x).astype(int)
    got = value[k] + (x - k)[:, None] * slope[k]
    inf, tau = hek.gate_steady_states(v, p), hek.gate_time_constants(v, p)
    a = {g: np.exp(-dt / tau[g]) for g in tau}
    want = {"m.c": 1 - a["m"], "m.b": inf["m"] * (1 - a["m"]), "h1.inf": inf["h1"], "h1.c": 1 - a["h1"],
            "h2.c": 1 - a["h2"], "n1.inf": inf["n1"], "n1.c": 1 - a["n1"], "n2.c": 1 - a["n2"],
            "o.b": inf["o"] * (1 - a["o"]), "p.b": inf["p"] * (1 - a["p"]), "b.b": inf["b"] * (1 - a["b"])}  # fmt: skip
    for key, ref in want.items():
        col = got[:, columns.index(key)]
        assert np.abs(col - ref).max() < 2e-5, key  # linear interpolation at 0.1 mV: h²/8 · max|f''|
        nz = np.abs(ref) > 1e-6  # float32 storage keeps a slow gate's small rate c to its relative precision
        assert np.abs(col[nz] / ref[nz] - 1).max() < 2e-3, key
    # the decays of the gates of constant τ (o, p, b) as scalars, exp(-dt/τ) and 1 - exp(-dt/τ)
    np.testing.assert_allclose(scalars[3::2], [a["o"][0], a["p"][0], a["b"][0]], rtol=1e-12)
    np.testing.assert_allclose(scalars[3::2] + scalars[4::2], 1.0, rtol=1e-15)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", ["hek_gokhale2017_35c", "hek_bistable"])
def test_lookup_table_sheet_follows_the_exact_sheet(name, order):
    """The test sheet of the exact kernel (mask with a hole and an island, a g_K1 map, light and
    the opsin on part of it, an upstroke under way): the two paths stay within 0.01 mV, with
    first- and with second-order steps."""
    model, y0, args = make_problem(name)
    exact, _ = run_kernel(model, y0, 0.01, SEGMENTS, args, order)
    if order == 2:  # the order reached the tables' kernel: it differs from a first-order run
        first, _ = run_kernel(model, y0, 0.01, SEGMENTS, args, 1)
        assert np.abs(first[0] - exact[0])[args["active"] == 1].max() > 1e-3  # mV; far above the 1e-9 of a rerun
    for dtype, tol in ((np.float64, 0.01), (np.float32, 0.01)):
        tab, other = run_lut(y0.astype(dtype), 0.01, SEGMENTS, args, order, name)
        cells = args["active"] == 1
        dv = np.abs(tab[0][cells] - exact[0][cells]).max()
        print(f"\n{name} {dtype.__name__}: max |V_lut - V_exact| = {dv:.2e} mV")
        assert dv < tol
        assert np.ptp(exact[0][cells]) > 20.0
        out = args["active"] == 0
        y0d = y0.astype(dtype)
        assert np.array_equal(tab[:, out], y0d[:, out]) and np.array_equal(other[:, out], y0d[:, out])


def test_plain_rows_take_scalar_fields_and_follow_the_exact_sheet():
    """A uniform sheet with a hole, a stimulated block and the opsin on its left half: the rows that
    touch none of them stream no face weights, current or conductance (scalars instead), and the
    sheet still follows the exact kernel; forcing every row onto the general path changes nothing
    beyond rounding."""
    ny, nx = 24, 20
    model = get_model("hek_gokhale2017_35c")
    active = np.ones((ny, nx), np.uint8)
    active[10:13, 8:11] = 0  # a hole: rows 9..13 see a zero face weight
    wx, wy = face_weights(np.full((ny, nx), 1000.0), active, 10.0)
    wy *= 0.5  # anisotropic: half the coupling along y
    iext = np.zeros((ny, nx))
    iext[3:5, 2:6] = -150.0  # a stimulated block: rows 3 and 4
    gop = np.ones((ny, nx))
    gop[17, 5] = 0.5  # one cell of lower expression: row 17
    plain, (w_x, w_y, g_op) = plain_rows(wx, wy, iext, gop)
    assert (w_x, w_y, g_op) == (10.0, 5.0, 1.0)  # D / dx² in 1/ms
    assert [i for i in range(ny) if not plain[i]] == [0, 3, 4, 9, 10, 11, 12, 13, 17, ny - 1]
    y0 = np.zeros((model.n_state + 2, ny, nx))
    rest = model.rest_state()
    for k, name in enumerate(model.state_names):
        y0[k] = rest[name]
    flux = np.zeros((ny, nx))
    flux[:, : nx // 2] = 2.37e16
    args = dict(wx=wx, wy=wy, active=active, params=model.params_array(), pidx=np.full(N_PARAMS, -1, np.int64),
                pmaps=np.zeros((0, ny, nx)), iext=iext, has_opsin=True, oparams=CHERIFF_LIKE.copy(), gop=gop,
                flux=flux)  # fmt: skip
    segments = [(300, 1.0), (400, 0.0)]  # 7 ms at 0.01 ms: light and block fire, a wave is under way
    exact, _ = run_kernel(model, y0, 0.01, segments, args)
    tab, _ = run_lut(y0, 0.01, segments, args)
    cells = active == 1
    assert exact[0][cells].max() > 0.0 and np.ptp(exact[0][cells]) > 40.0
    assert np.abs(tab[0][cells] - exact[0][cells]).max() < 0.01
    # the general path on every row: the same arithmetic on the same values
    module = model.lookup_tables.module(np.float64)
    params = args["params"][: len(model.description.parameters)]
    table, scalars = packed_table(model.description, params, args["oparams"], 0.01)
    general = y0.copy()
    for n_steps, scale in segments:
        other = general.copy()
        fields = module.fields_of(wx, wy, iext * scale, True, args["oparams"], gop, flux, False)
        assert not fields[6].any()  # no plain row
        if module.kernel_tabulated(general, other, n_steps, 0.01, active, params, args["pidx"][: params.size],
                                   args["pmaps"], True, args["oparams"], fields, table, table, scalars, scalars):
            general = other
    assert np.abs(general - tab).max() < 1e-9


@pytest.mark.parametrize("order", [1, 2])
def test_lookup_table_results_do_not_depend_on_threads_or_cuts(order):
    model, y0, args = make_problem("hek_gokhale2017_35c", shape=(70, 64))
    assert 70 * 64 >= model.lookup_tables.module(np.float64).SERIAL_BELOW_CELLS  # the blocks-of-rows path
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one, _ = run_lut(y0, 0.01, [(61, 1.0)], args, order)
        numba.set_num_threads(max(2, threads) if numba.config.NUMBA_NUM_THREADS > 1 else 1)
        many, _ = run_lut(y0, 0.01, [(61, 1.0)], args, order)
        cut, _ = run_lut(y0, 0.01, [(1, 1.0), (20, 1.0), (33, 1.0), (7, 1.0)], args, order)
    finally:
        numba.set_num_threads(threads)
    assert np.array_equal(one, many) and np.array_equal(one, cut)
    assert not np.array_equal(one, y0)


def test_a_nan_stays_nan_and_a_wild_voltage_stays_finite():
    """V outside the table is clamped to its end rows (the gates stay finite); NaN is not hidden."""
    model, y0, args = make_problem("hek_gokhale2017_35c")
    y0[0, 5, 5] = np.nan
    y0[0, 1, 8] = 400.0
    out, _ = run_lut(y0, 0.01, [(1, 0.0)], args)
    assert np.isnan(out[0, 5, 5])
    assert np.all(np.isfinite(out[1:, 1, 8])) and np.all((out[1:9, 1, 8] >= 0) & (out[1:9, 1, 8] <= 1.2))


def test_dispatch_defaults_and_fallbacks():
    spec = small_hek_spec()
    p = solver.prepare(spec)
    assert backends.uses_lookup_tables(p) and backends.stepper(p).__qualname__.startswith("GeneratedLut.stepper")
    spec["numerics"]["lookup_tables"] = False
    p = solver.prepare(spec)
    assert not backends.uses_lookup_tables(p) and backends.stepper(p).__qualname__.startswith("_LazyKernel.stepper")
    # a map of a gate parameter: one table cannot hold it, so the default falls back to the exact kernel
    spec = small_hek_spec()
    spec["tissue"]["model"]["maps"] = [{"parameter": "V_h", "field": {"random": {"cv": 0.05}}}]
    p = solver.prepare(spec)
    assert backends.gate_maps(p.model, p.pidx) == ["V_h"] and not backends.uses_lookup_tables(p)
    # generic media have no tables
    fhn = solver.prepare({"grid": {"nx": 8, "ny": 8, "dx_um": 0.5}, "tissue": {"model": {"preset": "fitzhugh_nagumo"}},
                          "numerics": {"dt_ms": 0.02, "duration_ms": 0.2}})  # fmt: skip
    assert not backends.has_lookup_tables(fhn.model) and not backends.uses_lookup_tables(fhn)


def test_lookup_tables_refused_where_they_cannot_apply():
    spec = small_hek_spec()
    spec["numerics"]["lookup_tables"] = True
    spec["tissue"]["model"]["maps"] = [{"parameter": "V_h", "field": {"random": {"cv": 0.05}}}]
    with pytest.raises(solver.SpecError, match=r"numerics\.lookup_tables: true, but tissue\.model\.maps varies the "
                                               r"gate parameter\(s\) V_h.*allowed with such maps: false or unset"):
        solver.prepare(spec)
    spec = {"grid": {"nx": 8, "ny": 8, "dx_um": 0.5}, "tissue": {"model": {"preset": "nagumo"}},
            "numerics": {"dt_ms": 0.02, "duration_ms": 0.2, "lookup_tables": True}}  # fmt: skip
    with pytest.raises(solver.SpecError, match=r"numerics\.lookup_tables: true, but cell model 'nagumo' has no lookup "
                                               r"tables.*allowed: false or unset"):
        solver.prepare(spec)


def test_the_default_run_is_tabulated_and_resumes_bit_for_bit():
    spec = small_hek_spec(grid={"nx": 40, "ny": 36, "dx_um": 10.0}, numerics={"dt_ms": 0.02, "duration_ms": 4.0})
    spec["tissue"]["model"]["maps"] = [{"parameter": "g_K1", "field": {"random": {"cv": 0.2}}}]
    spec["current"] = [{"pattern": {"disk": {"center_um": {"x": 200, "y": 180}, "radius_um": 50}},
                        "waveform": {"pulse": {"start_ms": 0.5, "width_ms": 0.5}}, "amplitude_a_per_f": -200.0}]
    problem = solver.prepare(spec)
    assert backends.uses_lookup_tables(problem)
    whole = solver.advance(problem, solver.initial_state(problem), 150)
    state = solver.initial_state(problem)
    for n in (13, 50, 87):
        state = State.from_bytes(solver.advance(problem, state, n).to_bytes())
    assert np.array_equal(state.y, whole.y)
    spec["numerics"]["lookup_tables"] = False
    exact_problem = solver.prepare(spec)
    exact = solver.advance(exact_problem, solver.initial_state(exact_problem), 150)
    print(f"\nmax |V_lut - V_exact| = {np.abs(exact.y[0] - whole.y[0]).max():.2e} mV, V max {whole.y[0].max():.1f} mV")
    assert np.abs(exact.y[0] - whole.y[0]).max() < 0.01  # mV
    assert whole.y[0].max() > 0.0  # the current drove an action potential


def test_bistable_wall_stays_put_at_the_equal_area_leak_on_lookup_tables():
    """MODEL.md 3.2 through the tables: at the equal-area g_L a domain wall does not move."""
    model = get_model("hek_bistable")
    p = {**model.defaults, "g_L": hek.equal_area_g_L(dict(model.defaults))}
    ny, nx, dt, w = 4, 80, 0.02, 1000.0 / 10.0**2
    roots = hek.fixed_points(p)
    low, high = model.steady_state_at(roots[0], p), model.steady_state_at(roots[2], p)
    y = np.empty((model.n_state, ny, nx))
    for k, s in enumerate(model.state_names):
        y[k, :, : nx // 2], y[k, :, nx // 2 :] = low[s], high[s]
    wx, wy = np.full((ny, nx), w), np.full((ny, nx), w)
    wx[:, -1], wy[-1, :] = 0.0, 0.0
    zero = np.zeros((ny, nx))
    ya, yb = y.copy(), y.copy()
    parity = lut_stepper("hek_bistable")(ya, yb, int(round(200.0 / dt)), dt, wx, wy, np.ones((ny, nx), np.uint8),
                                      model.params_array(p), np.full(len(model.param_names), -1, np.int64),
                                      np.zeros((0, ny, nx)), zero, False, np.zeros(10), zero, zero)  # fmt: skip
    v = (yb if parity else ya)[0]
    mid = 0.5 * (roots[0] + roots[2])
    crossings = np.flatnonzero(np.diff(np.sign(v[0] - mid)))
    assert abs(v[0, 0] - roots[0]) < 2.0 and abs(v[0, -1] - roots[2]) < 2.0
    assert crossings.size == 1 and abs(crossings[0] + 0.5 - 40) < 2
