"""Source of the exact numba kernel of a :class:`~solver.models.description.ModelDescription`.

The model's arithmetic is emitted into one function ``_update`` (scalars in, a tuple of the new
state out); the sweep over the sheet (masked 5-point coupling, per-cell parameter maps, the opsin
coupling, first- and second-order time schemes, the thread team) is the template of
:mod:`._template`, written once for every model. Its semantics are those of the HEK exact
kernel (:mod:`solver.models.hek_kernel`): Rush–Larsen gates (τ clamped at ``TAU_MIN``), forward
Euler for V and the other states, the exponential midpoint rule for ``order=2``.
"""

from __future__ import annotations

from .. import expr
from ..description import ModelDescription
from ._template import MODULE_TEMPLATE

__all__ = ["exact_kernel_source", "model_lines"]



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


def exact_kernel_source(desc: ModelDescription) -> str:
    """Python source of a module whose ``kernel`` is the exact numba kernel of ``desc``."""
    n_state = len(desc.state_names)
    lines = [f"{_local('p', k)} = pc[i, {k}]" for k in range(len(desc.parameters))]
    body, outs = model_lines(desc, target="numba", old=lambda k: f"np.float64(base[{k}, bi, bj])")
    lines += body
    lines.append("return (" + ", ".join(outs) + ",)")
    body = "\n".join("    " + ln for ln in lines)
    state_args = ", ".join(_local("s", k) for k in range(n_state))
    src_args = ", ".join(f"np.float64(src[{k}, i, j])" for k in range(n_state))
    return MODULE_TEMPLATE.format(name=desc.name, hash=desc.content_hash[:16], n_state=n_state,
                            n_params=len(desc.parameters), state_args=state_args, body=body,
                            src_args=src_args)  # fmt: skip
