"""Every numba kernel against its NumPy reference step, and the coupling's charge conservation.

The sheet is small but has everything the driver can pass: a mask with a hole and an island, a
parameter map, non-uniform face weights (harmonic means of a random D map, zero across the tissue
edge), a current stimulus on part of the sheet, and for HEK the opsin with light on part of the
sheet and a conductance map.
"""

from __future__ import annotations

import numpy as np
import pytest

from solver.models import MODELS, get_model

NY, NX = 12, 10
CHERIFF_LIKE = np.array([5.0, 0.1, 0.8, 0.25, 0.104, 2e-4, 5e17, 43.0, 17.1, 0.0])  # PyRhO ChR2 fit
MAP_PARAM = {"nagumo": "a", "fitzhugh_nagumo": "eps", "aliev_panfilov": "k"}  # HEK presets: g_K1


def tissue_mask(ny: int = NY, nx: int = NX) -> np.ndarray:
    """Tissue with a hole, a notched corner and a 2x2 island cut off by a one-cell gap."""
    active = np.ones((ny, nx), np.uint8)
    active[ny // 3 : ny // 3 + 3, nx // 3 : nx // 3 + 3] = 0  # a hole
    active[ny - 3 :, nx - 3 :] = 0  # the gap around ...
    active[ny - 2 :, nx - 2 :] = 1  # ... an island in the far corner
    active[0, 0] = 0  # a notch
    return active


def face_weights(diff: np.ndarray, active: np.ndarray, dx: float) -> tuple[np.ndarray, np.ndarray]:
    """wx, wy = harmonic-mean D of the two cells / dx², zero unless both cells are tissue."""
    wx = np.zeros(diff.shape)
    wy = np.zeros(diff.shape)
    a, b = diff[:, :-1], diff[:, 1:]
    wx[:, :-1] = 2 * a * b / (a + b) / dx**2 * (active[:, :-1] & active[:, 1:])
    a, b = diff[:-1, :], diff[1:, :]
    wy[:-1, :] = 2 * a * b / (a + b) / dx**2 * (active[:-1, :] & active[1:, :])
    return wx, wy


def make_problem(name: str, dtype=np.float64, seed: int = 1, shape: tuple[int, int] = (NY, NX)):
    """A sheet, its arguments and an initial state for model ``name`` (mixed rest and excited)."""
    ny, nx = shape
    rng = np.random.default_rng(seed)
    model = get_model(name)
    active = tissue_mask(ny, nx)
    hek = model.supports_opsin
    d0, dx = (1000.0, 10.0) if hek else (1.0, 1.0)
    wx, wy = face_weights(d0 * rng.uniform(0.5, 2.0, (ny, nx)), active, dx)
    n_state = model.n_state + (2 if hek else 0)
    y = np.zeros((n_state, ny, nx))
    rest = model.rest_state()
    for k, s in enumerate(model.state_names):
        y[k] = rest[s]
    if hek:
        y[0] += rng.uniform(-3.0, 3.0, (ny, nx))
        y[9] = rng.uniform(0.0, 0.2, (ny, nx))
        y[10] = rng.uniform(0.0, 0.2, (ny, nx))
    else:
        y[0, :4, :4] = 1.0  # an excited corner
        y[0] += rng.uniform(0.0, 0.05, (ny, nx))
    params = model.params_array()
    pname = MAP_PARAM.get(name, "g_K1")
    k = model.param_names.index(pname)
    pidx = np.full(len(params), -1, np.int64)
    pidx[k] = 0
    pmaps = (params[k] * rng.uniform(0.8, 1.2, (ny, nx)))[None].copy()
    iext = np.zeros((ny, nx))
    iext[:4, nx // 2 :] = -200.0 if hek else -0.5
    gop = rng.uniform(0.0, 1.0, (ny, nx)) if hek else np.zeros((ny, nx))
    flux = np.zeros((ny, nx))
    flux[:, : nx // 2] = 2.37e16 if hek else 0.0  # 10 mW/mm² at 470 nm on the left half
    args = dict(wx=wx, wy=wy, active=active, params=params, pidx=pidx, pmaps=pmaps, iext=iext,
                has_opsin=hek, oparams=CHERIFF_LIKE.copy(), gop=gop, flux=flux)  # fmt: skip
    return model, y.astype(dtype), args


def run_kernel(model, y0, dt, segments, args, order=1):
    """Run the kernel over ``segments`` of (n_steps, iext scale); returns the final state."""
    ya, yb = y0.copy(), y0.copy()
    for n_steps, scale in segments:
        a = dict(args, iext=args["iext"] * scale)
        parity = model.kernel(ya, yb, n_steps, dt, a["wx"], a["wy"], a["active"], a["params"], a["pidx"],
                              a["pmaps"], a["iext"], a["has_opsin"], a["oparams"], a["gop"], a["flux"],
                              order=order)  # fmt: skip
        assert parity == (n_steps % 2 if order == 1 else 0)  # second order: always back in ya
        if parity:
            ya, yb = yb, ya
    return ya, yb


def run_reference(model, y0, dt, segments, args, order=1):
    y = y0.copy()
    for n_steps, scale in segments:
        a = dict(args, iext=args["iext"] * scale)
        for _ in range(n_steps):
            y = model.reference_step(y, dt, **a, order=order)
    return y


SEGMENTS = [(80, 1.0), (221, 0.0)]  # stimulus on for 80 steps, then off (odd total: parity 1)


def rel_diff(a: np.ndarray, b: np.ndarray, active: np.ndarray) -> float:
    """Max over state variables of max|a - b| / max|b| over the tissue."""
    cells = active.astype(bool)
    return max(
        float(np.abs(a[k][cells] - b[k][cells]).max() / max(np.abs(b[k][cells]).max(), 1e-300))
        for k in range(a.shape[0])
    )


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_kernel_matches_reference_float64(name, order):
    model, y0, args = make_problem(name)
    dt = 0.01 if model.supports_opsin else model.default_dt_ms  # HEK: 3 ms, an upstroke
    final, other = run_kernel(model, y0, dt, SEGMENTS, args, order)
    ref = run_reference(model, y0, dt, SEGMENTS, args, order)
    err = rel_diff(final, ref, args["active"])
    print(f"\n{name} order {order}: max relative difference kernel vs reference {err:.2e}")
    assert err <= 1e-10
    # the run did something: excitation spread from where it started
    v = ref[0][args["active"] == 1]
    if name.startswith("hek_gokhale"):
        assert v.max() > -20.0  # an upstroke is under way
    assert np.ptp(v) > (20.0 if model.supports_opsin else 0.2)
    # cells outside the tissue were never written, in either buffer
    out = args["active"] == 0
    assert np.array_equal(final[:, out], y0[:, out]) and np.array_equal(other[:, out], y0[:, out])


@pytest.mark.parametrize(
    ("name", "shape"),
    [("hek_gokhale2017_35c", (70, 64)), ("hek_bistable", (70, 64)), ("nagumo", (70, 64)),
     ("fitzhugh_nagumo", (70, 64)), ("aliev_panfilov", (70, 64))],
)  # fmt: skip
def test_threaded_path_matches_reference(name, shape):
    """Sheets above the kernels' serial-size threshold take the threaded path: same answer, both orders."""
    model, y0, args = make_problem(name, shape=shape)
    # generated from the description: the threshold is its module's
    assert shape[0] * shape[1] >= model.kernel.module.__globals__["SERIAL_BELOW_CELLS"]
    dt = 0.01 if model.supports_opsin else model.default_dt_ms
    segments = [(20, 1.0), (31, 0.0)]
    for order in (1, 2):
        final, _ = run_kernel(model, y0, dt, segments, args, order)
        ref = run_reference(model, y0, dt, segments, args, order)
        assert rel_diff(final, ref, args["active"]) <= 1e-10, order


@pytest.mark.parametrize("name", ["hek_gokhale2017_35c", "aliev_panfilov"])
def test_second_order_differs_from_first_and_is_independent_of_the_cut(name):
    """The two schemes are different computations (the order is honoured), and a second-order run is
    the same to the bit however it is cut into calls (a step never straddles two calls)."""
    model, y0, args = make_problem(name)
    dt = 0.01 if model.supports_opsin else model.default_dt_ms
    one, _ = run_kernel(model, y0, dt, [(101, 0.0)], args, 2)
    cut, _ = run_kernel(model, y0, dt, [(1, 0.0), (37, 0.0), (63, 0.0)], args, 2)
    assert np.array_equal(one, cut)
    first, _ = run_kernel(model, y0, dt, [(101, 0.0)], args, 1)
    assert rel_diff(first, one, args["active"]) > 1e-6


def test_kernels_refuse_an_unknown_order():
    model, y0, args = make_problem("nagumo")
    with pytest.raises(ValueError, match="order is 3; allowed: 1"):
        run_kernel(model, y0, 0.01, [(1, 0.0)], args, 3)


@pytest.mark.parametrize("name", ["hek_gokhale2017_35c", "nagumo", "fitzhugh_nagumo", "aliev_panfilov"])
def test_float32_buffers_stay_close_to_float64(name):
    model, y64, args = make_problem(name)
    dt = 0.01 if model.supports_opsin else model.default_dt_ms
    f64, _ = run_kernel(model, y64, dt, SEGMENTS, args)
    f32, _ = run_kernel(model, y64.astype(np.float32), dt, SEGMENTS, args)
    assert f32.dtype == np.float32
    cells = args["active"] == 1
    scale = 100.0 if model.supports_opsin else 1.0  # mV or model units
    dv = np.abs(f32[0][cells] - f64[0][cells]).max() / scale
    print(f"\n{name}: float32 vs float64 max |dV| / scale = {dv:.2e}")
    assert dv < 1e-4


@pytest.mark.parametrize("name", ["nagumo", "hek_gokhale2017_35c"])
def test_coupling_conserves_charge_and_respects_gaps(name):
    """All currents off: the tissue sum of V is constant and an island separated by a gap gets nothing."""
    model, y0, args = make_problem(name, seed=3)
    off = {"k": 0.0} if name == "nagumo" else {g: 0.0 for g in ("g_Na", "g_K1", "g_Na_wt", "g_K_wt", "g_L")}
    args = dict(args, params=model.params_array(off), pidx=np.full(len(model.param_names), -1, np.int64),
                iext=np.zeros((NY, NX)), has_opsin=False)  # fmt: skip
    rng = np.random.default_rng(4)
    y0[0] = rng.uniform(-80.0, 40.0, (NY, NX)) if model.supports_opsin else rng.uniform(0.0, 1.0, (NY, NX))
    island = np.zeros((NY, NX), bool)
    island[NY - 2 :, NX - 2 :] = True
    y0[0][island] = 7.0
    dt = 0.01 if model.supports_opsin else 0.1
    final, _ = run_kernel(model, y0, dt, [(500, 0.0)], args)
    main = (args["active"] == 1) & ~island
    total0, total = y0[0][main].sum(), final[0][main].sum()
    assert abs(total - total0) <= 1e-12 * np.abs(y0[0][main]).sum()
    assert np.ptp(final[0][main]) < 0.5 * np.ptp(y0[0][main])  # it did diffuse
    assert np.all(final[0][island] == 7.0)


def test_hek_kernel_refuses_opsin_without_its_states():
    model, y0, args = make_problem("hek_gokhale2017_35c")
    y = y0[:9].copy()
    with pytest.raises(ValueError, match="has_opsin needs two more state variables"):
        run_kernel(model, y, 0.01, [(1, 0.0)], args)
