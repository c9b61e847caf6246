"""Source of the exact numba kernel of a :class:`~solver.models.description.ModelDescription`.

The model's arithmetic is emitted into one function ``_update`` (scalars in, a tuple of the new
state out); the sweep over the sheet (masked 5-point coupling, per-cell parameter maps, the opsin
coupling, first- and second-order time schemes, the thread team) is the template of
:mod:`._template`, written once for every model. Its semantics are those of the NumPy reference
(:mod:`solver.models.reference`): Rush–Larsen gates (τ clamped at ``TAU_MIN``), forward Euler for V and
the other states, the exponential midpoint rule for ``order=2``.
"""

from __future__ import annotations

import numpy as np

from .. import expr
from ..description import ModelDescription
from ._template import MODULE_TEMPLATE

__all__ = ["FieldCache", "cell_source", "entries", "exact_kernel_source", "model_lines", "module_source",
           "vectorisable"]



def _local(kind: str, index: int) -> str:
    # a user's names never appear in the source, only these locals: no name can shadow the template's
    return f"z_{kind}{index}"


def model_lines(desc: ModelDescription, *, target: str, old, gates: bool = True, trees=None,
                extra_names=None) -> tuple[list[str], list[str]]:
    """The model's arithmetic as statements over the locals ``z_s<k>`` (states, V first) and ``z_p<k>``
    (parameters), and the expressions of the new state; ``old(k)`` reads state ``k`` at the step's
    start, ``drive`` is coupling − I_opsin − I_ext, ``dt`` the step. ``target``: "numba" or "cuda".
    ``gates=False`` leaves the kinetic gates' new values as ``None`` for the caller (the lookup tables; an
    instantaneous gate is computed here, at the state's V where the model reads it and at the new V);
    ``trees`` replaces some of ``desc.tree``'s, whose extra names ``extra_names`` says how to emit."""
    emit = expr.to_numba if target == "numba" else expr.to_cuda
    names: dict[str, str] = dict(extra_names or {})
    if trees:
        desc = _Retreed(desc, trees)
    for k, name in enumerate(desc.state_names):
        names[name] = _local("s", k)
    for k, p in enumerate(desc.parameters):
        names[p.name] = _local("p", k)
    lines: list[str] = []
    instant = [(k, s) for k, s in enumerate(desc.states, start=1) if s.gate is not None and s.gate.instantaneous]
    for k, s in instant:
        # the model reads an instantaneous gate at its steady state, whatever the state holds
        lines.append(f"{names[s.name]} = {emit(desc.tree(f'{s.name}.inf'), names.__getitem__)}")
    for k, x in enumerate(desc.intermediates):
        code = emit(desc.tree(x.name), names.__getitem__)
        names[x.name] = _local("x", k)
        lines.append(f"{names[x.name]} = {code}")
    total = []
    for k, c in enumerate(desc.currents):
        code = emit(desc.tree(c.name), names.__getitem__)
        names[c.name] = _local("c", k)
        lines.append(f"{names[c.name]} = {code}")
        total.append(names[c.name])
    lines.append(f"z_iion = {' + '.join(total) if total else '0.0'}")
    outs = [f"{old(0)} + dt * (drive - z_iion)"]
    if instant:
        lines.append(f"z_vnew = {outs[0]}")
        outs[0] = "z_vnew"
        at_new = {**names, desc.voltage.name: "z_vnew"}
    for k, s in enumerate(desc.states, start=1):
        if s.gate is not None and s.gate.instantaneous:
            # stored at the new V
            outs.append(emit(desc.tree(f"{s.name}.inf"), at_new.__getitem__))
        elif s.gate is None:
            lines.append(f"z_d{k} = {emit(desc.tree(f'{s.name}.derivative'), names.__getitem__)}")
            outs.append(f"{old(k)} + dt * z_d{k}")
        elif not gates:
            outs.append(None)
        elif s.gate.kind == "inf_tau":
            lines.append(f"z_inf{k} = {emit(desc.tree(f'{s.name}.inf'), names.__getitem__)}")
            lines.append(f"z_tau{k} = {emit(desc.tree(f'{s.name}.tau'), names.__getitem__)}")
            outs.append(f"_rl({old(k)}, z_inf{k}, z_tau{k}, dt)")
        else:
            lines.append(f"z_a{k} = {emit(desc.tree(f'{s.name}.alpha'), names.__getitem__)}")
            lines.append(f"z_b{k} = {emit(desc.tree(f'{s.name}.beta'), names.__getitem__)}")
            lines.append(f"z_tau{k} = 1.0 / (z_a{k} + z_b{k})")
            outs.append(f"_rl({old(k)}, z_a{k} * z_tau{k}, z_tau{k}, dt)")
    return lines, outs


class _Retreed:
    """``desc`` with some of its trees replaced (the lookup-table kernel's columns of V alone)."""

    def __init__(self, desc: ModelDescription, trees) -> None:
        self._desc, self._trees = desc, trees

    def __getattr__(self, name):
        return getattr(self._desc, name)

    def tree(self, key: str):
        return self._trees.get(key) or self._desc.tree(key)


def cell_source(desc: ModelDescription, body: list[str], outs: list[str], *, pre: list[str] = (),
                opsin_drive: str, opsin_rates: str) -> str:
    """The statements of the template's ``_cell``: the state loads (the rates' state from ``sc``, the
    step's start chosen by a select from ``dst``), the parameters (row scratch when ``mapped``, else the
    tuple ``cp``), ``pre`` (the table index), the opsin coupling (``opsin_drive``: f_v(V)·(V − E)
    normalised at −70 mV; ``opsin_rates``: the source of dO/dt given ``z_ga``), the model's ``body``,
    and the stores of ``outs``."""
    n_state = len(desc.state_names)
    n_params = len(desc.parameters)
    lines = [f"{_local('s', k)} = CT(sc[{k}, ic, j])" for k in range(n_state)]
    for k in range(n_state):
        lines.append(f"z_q{k} = CT(dst[{k}, idr, j])")
        lines.append(f"z_o{k} = z_q{k} if from_dst else {_local('s', k)}")
    if n_params:
        lines.append("if mapped:")
        lines += [f"    {_local('p', k)} = rp[{k}, j]" for k in range(n_params)]
        lines.append("else:")
        lines.append("    " + ", ".join(_local("p", k) for k in range(n_params)) + ", = cp")
    lines += list(pre)
    lines += [
        "if has_opsin:",
        "    z_oo = CT(sc[N_STATE, ic, j])",
        "    z_od = CT(sc[N_STATE + 1, ic, j])",
        "    z_qo = CT(dst[N_STATE, idr, j])",
        "    z_qd = CT(dst[N_STATE + 1, idr, j])",
        f"    drive = drive - g_op * z_oo * {opsin_drive}",
        "    z_ga = ga[i, j]",
        f"    dst[N_STATE, idr, j] = (z_qo if from_dst else z_oo) + dt * {opsin_rates}",
        "    dst[N_STATE + 1, idr, j] = (z_qd if from_dst else z_od) + dt * (gd * z_oo - gr[i, j] * z_od)",
    ]
    lines += body
    for k, out in enumerate(outs):
        lines.append(f"z_n{k} = {out}")
    # every cell is stored: _restore puts the cells outside the tissue back (a mask here would be a branch)
    lines += [f"dst[{k}, idr, j] = z_n{k}" for k in range(n_state)]
    return "\n".join("    " + ln for ln in lines)


_ENTRY = '''
@njit(nogil=True, cache=True)
def _block_{key}(ya, yb, task, r0, r1, n_steps, wx, wy, active, gaps, params, pidx, pmaps, mapped, iext, has_opsin,
                 gop, ga, gr, tab1, s1, tab2, s2, midpoint, plain):
    _block(ya, yb, task, r0, r1, n_steps, wx, wy, active, gaps, params, pidx, pmaps, {m}, iext, {o}, gop, ga, gr,
           tab1, s1, tab2, s2, {mid}, plain)


@njit(nogil=True, cache=True)
def _team_{key}(ya, yb, sync, record, plan, b, n_steps, *args):
    """Thread ``b``'s part of ``threads.step_in_pairs`` with ``_block_{key}`` (all its pairs)."""
    shares = team_start(plan, record.shape[1])
    for p in range(n_steps // 2):
        cuts = block_cuts(shares, ya.shape[1])
        _block_{key}(ya, yb, TASK_EDGES, cuts[b], cuts[b + 1], 0, *args)
        if not team_wait(sync):
            return
        c0 = cycles()
        _block_{key}(ya, yb, TASK_PAIRS, cuts[b], cuts[b + 1], 0, *args)
        record[0, b] = cycles() - c0
        if not team_wait(sync):
            return
        shares = team_next(shares, cuts, record, plan, p + 1, b)
    if n_steps % 2:
        cuts = block_cuts(shares, ya.shape[1])
        _block_{key}(ya, yb, TASK_SINGLE, cuts[b], cuts[b + 1], 0, *args)
'''


def entries(specialised: bool) -> str:
    """The module's entry points (``_block_<key>``, ``_team_<key>``) and ``_ENTRIES``, which maps
    ``(mapped, has_opsin, midpoint)`` to them. ``specialised``: one pair per combination, the switches passed
    down as compile-time constants (a vectorised loop must not branch on them, nor load the old state it
    does not use); numba compiles a pair on its first call, so a run compiles only the loop it uses.
    Otherwise one pair, the switches run-time values."""
    combos = [(m, o, q) for m in (False, True) for o in (False, True) for q in (False, True)]
    if not specialised:
        return (_ENTRY.format(key="any", m="mapped", o="has_opsin", mid="midpoint")
                + "\n\n_ENTRIES = {c: (_block_any, _team_any) for c in " + repr(combos) + "}")
    key = {c: f"{'m' if c[0] else 'u'}{'o' if c[1] else 'd'}{2 if c[2] else 1}" for c in combos}
    out = [_ENTRY.format(key=key[c], m=c[0], o=c[1], mid=c[2]) for c in combos]
    table = ", ".join(f"{c}: (_block_{key[c]}, _team_{key[c]})" for c in combos)
    return "\n\n".join(out) + f"\n\n_ENTRIES = {{{table}}}"


def module_source(desc: ModelDescription, cell: str, *, ct: str, n_cols: int, vectorised: bool, wide: bool = False,
                  n_decay: int = 0) -> str:
    """The template filled in: ``ct`` the compute type; ``vectorised`` a loop LLVM vectorises (contraction to
    FMA, one interior loop per switch combination), ``wide`` with 512-bit vectors (the lookup-table kernel's
    gathers: :class:`._machinery.WideNoAliasCompiler`); ``n_decay`` the pairs of scalars ``z_ea<q>, z_ec<q>``
    after the template's (the decay of the gates of constant τ)."""
    n_params = len(desc.parameters)
    params = ", ".join(f"rp[{k}, 0]" for k in range(n_params))

    def literally(third: str) -> str:
        if not vectorised:
            return "    # mapped, has_opsin and %s stay run-time switches: this loop is scalar (calls of exp)" % third
        return "\n".join(f"    numba.literally({x})" for x in ("mapped", "has_opsin", third))

    return MODULE_TEMPLATE.format(
        name=desc.name, hash=desc.content_hash[:16], n_state=len(desc.state_names), n_params=n_params,
        n_cols=n_cols, ct=ct, param_tuple=f"({params},)" if n_params else "()", cell_body=cell,
        interior_pipeline="WideNoAliasCompiler" if wide else "NoAliasCompiler",
        fastmath=', fastmath={"contract"}' if vectorised else "", literally_rows=literally("from_dst"),
        literally_block=literally("midpoint"),
        entries=entries(vectorised),
        scalars=", ".join([f"s[{q}]" for q in range(9)] + [f"s[{12 + q}]" for q in range(2 * n_decay)]),
        sca_names="".join(f", z_ea{q}, z_ec{q}" for q in range(n_decay)),
    )  # fmt: skip


def exact_kernel_source(desc: ModelDescription) -> str:
    """Python source of a module whose ``kernel`` is the exact numba kernel of ``desc`` (float64 arithmetic,
    stored in the buffers' dtype)."""
    body, outs = model_lines(desc, target="numba", old=lambda k: f"z_o{k}")
    cell = cell_source(desc, body, outs, opsin_drive="_fv_raw(z_s0, e_op, v0, v1) / fv70 * (z_s0 - e_op)",
                       opsin_rates="(z_ga * (1.0 - z_oo - z_od) - gd * z_oo)")
    return module_source(desc, cell, ct="np.float64", n_cols=1, vectorised=vectorisable(desc))


def vectorisable(desc: ModelDescription) -> bool:
    """Whether the exact kernel's interior loop can be vectorised: no gate (Rush–Larsen calls ``exp``) and no
    call into the maths library in any expression (the generic media: polynomials and quotients). Such a
    model's loop is vectorised at LLVM's own width (contraction to FMA, a loop per switch combination)."""
    if any(s.gate is not None for s in desc.states):
        return False
    keys = [x.name for x in desc.intermediates] + [c.name for c in desc.currents]
    keys += [f"{s.name}.derivative" for s in desc.states]
    return not any(expr.library_calls(desc.tree(k)) for k in keys)


class FieldCache:
    """A generated module's fields (:func:`fields_of` of the template: the arrays in the compute type, the opsin's
    rates, the plain rows) kept for one stepper, made again only when an input array is another object (the
    run loop builds a new array when a field changes; it never writes into one it handed over)."""

    def __init__(self) -> None:
        self._hit = None

    def get(self, module, wx, wy, iext, has_opsin, oparams, gop, flux, dtype):
        key = (wx, wy, iext, gop, flux, bool(has_opsin), tuple(np.asarray(oparams, float)), np.dtype(dtype), module)
        hit = self._hit
        if hit is None or any(a is not b if isinstance(a, np.ndarray) else a != b for a, b in zip(hit[0], key)):
            hit = self._hit = (key, module.fields_of(wx, wy, iext, has_opsin, oparams, gop, flux, True))
        return hit[1]
