"""Machinery of the generated CPU kernels, written once: compiler pipelines, the packed tables, rows.

- :class:`NoAliasCompiler` and :class:`WideNoAliasCompiler`: numba pipelines for the row loops (every
  pointer argument ``noalias``; 512-bit vectors where the CPU has them).
- :func:`low_f32`, :func:`high_f32`, :func:`interpolate_packed`, :func:`pack_columns`: lookup tables
  packed one uint64 per column and row (value and slope as two float32: one load per column).
- :func:`row_gaps`, :func:`plain_rows`: which rows have cells outside the tissue, which interior rows
  read only uniform fields (their loop takes scalars).

numba's cache keys a compiled function on its own file: a change to an inlined helper here leaves
the callers' cached machine code stale until their files change (or the cache is cleared).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir as llvm_ir
from numba import njit
from numba.core import types
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import register_pass
from numba.core.lowering import Lower
from numba.core.typed_passes import NativeLowering
from numba.extending import intrinsic

__all__ = ["NoAliasCompiler", "WIDE_LOOP_CELLS", "WIDE_VECTORS_ATTRIBUTE", "WideNoAliasCompiler", "high_f32",
           "interpolate_packed", "low_f32", "pack_columns", "plain_rows", "row_gaps"]


class NoAliasCompiler(CompilerBase):
    """numba's nopython pipeline with every pointer argument ``noalias`` (C's ``restrict``).

    Only for functions whose array arguments never overlap where one is written (the row loops:
    ``dst`` is never ``src`` nor a field). Without it LLVM cannot rule out that a store to ``dst``
    changes a table entry it gathers, gives up on the runtime checks, and leaves the loop scalar;
    numba sets the same flag on its own parallel loop bodies.
    """

    def define_pipelines(self):
        self.state.flags.noalias = True
        return [DefaultPassBuilder.define_nopython_pipeline(self.state)]


#: LLVM's per-function attribute that lets the vectoriser use 512-bit registers where the CPU has
#: them (x86 subtargets prefer 256 bits by default); it changes nothing on a CPU without AVX-512.
WIDE_VECTORS_ATTRIBUTE = '"prefer-vector-width"="512"'

#: Cells per vectorised iteration of a :class:`WideNoAliasCompiler` loop on a CPU with AVX-512.
#: LLVM would take eight (one 512-bit vector of its widest element, the 64-bit table entry); with
#: sixteen, float32 fills its 512-bit lanes and both precisions spread each iteration's fixed cost
#: (constants reloaded from the stack, array addresses) over twice the cells: float32 +14 to +18 %,
#: float64 +13 % on the HEK lookup-table loop; thirty-two runs out of registers (-5 to -8 %).
#: The generated modules are cached by their source's hash, which this does not enter: after changing
#: it, clear the kernel cache (:func:`solver.models.codegen.cache_dir`) or the old width stays in use.
WIDE_LOOP_CELLS = 16


def _has_avx512() -> bool:
    from llvmlite import binding

    return bool(binding.get_host_cpu_features().get("avx512f", False))


class _WideLower(Lower):
    def lower_normal_function(self, fndesc):
        super().lower_normal_function(fndesc)
        # llvmlite's attribute set only accepts the attributes it knows by name: add the string
        # attribute as a plain set member (printed verbatim in the function's definition)
        set.add(self.function.attributes, WIDE_VECTORS_ATTRIBUTE)


@register_pass(mutates_CFG=True, analysis_only=False)
class _WideNativeLowering(NativeLowering):
    _name = "optowave_wide_native_lowering"

    @property
    def lowering_class(self):
        return _WideLower

    def run_pass(self, state):
        # The loop vectoriser's width is a process-wide LLVM option: set for this function's
        # optimisation only (its library is finalised within this pass, under numba's compiler
        # lock), then back to LLVM's own choice.
        if not _has_avx512():
            return super().run_pass(state)
        from llvmlite import binding

        binding.set_option("optowave", f"-force-vector-width={WIDE_LOOP_CELLS}")
        try:
            return super().run_pass(state)
        finally:
            binding.set_option("optowave", "-force-vector-width=0")


class WideNoAliasCompiler(CompilerBase):
    """:class:`NoAliasCompiler` whose loops may use 512-bit vectors (:data:`WIDE_VECTORS_ATTRIBUTE`),
    :data:`WIDE_LOOP_CELLS` cells per iteration on a CPU with AVX-512.

    For loops bound by gathers of 64-bit table entries: at 256 bits LLVM packs four per gather and
    works on float32 four lanes at a time; at 512 bits it gathers eight per instruction and, sixteen
    cells per iteration, uses all sixteen float32 lanes. Every loop of the function gets that
    width: keep it to the loops it was measured on. Should numba's pipeline no longer hold its
    lowering pass, the function compiles as with :class:`NoAliasCompiler` (same results, narrower
    vectors).
    """

    def define_pipelines(self):
        self.state.flags.noalias = True
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        pm.passes = [(_WideNativeLowering if cls is NativeLowering else cls, desc) for cls, desc in pm.passes]
        pm.finalize()
        return [pm]


@intrinsic
def low_f32(typingctx, word):
    """The float32 in the low 32 bits of a uint64 (a bit cast: numba has no scalar view)."""
    def codegen(context, builder, sig, args):
        return builder.bitcast(builder.trunc(args[0], llvm_ir.IntType(32)), llvm_ir.FloatType())

    return types.float32(types.uint64), codegen


@intrinsic
def high_f32(typingctx, word):
    """The float32 in the high 32 bits of a uint64."""
    def codegen(context, builder, sig, args):
        high = builder.lshr(args[0], llvm_ir.Constant(llvm_ir.IntType(64), 32))
        return builder.bitcast(builder.trunc(high, llvm_ir.IntType(32)), llvm_ir.FloatType())

    return types.float32(types.uint64), codegen


@njit(inline="always", cache=True)
def interpolate_packed(entry, f):
    # a packed table entry interpolated at fraction f (in f's dtype: float32 stays float32)
    return low_f32(entry) + f * high_f32(entry)


def pack_columns(values: np.ndarray) -> np.ndarray:
    """A table ``(n_rows, n_cols)`` as the kernels read it: ``(n_rows·n_cols,)`` uint64, entry
    ``k·n_cols + j`` holding column ``j`` of row ``k`` as float32 in its low 32 bits and its slope to row
    ``k + 1`` as float32 in its high 32 bits (the slope between the rounded values, so that an
    interpolation at the far end lands on the next row's stored value; zero on the last row)."""
    value = np.asarray(values, dtype=np.float64).astype(np.float32)
    slope = np.zeros_like(value)
    slope[:-1] = np.diff(value.astype(np.float64), axis=0).astype(np.float32)
    bits = lambda a: a.view(np.uint32).astype(np.uint64)  # noqa: E731
    out = np.ascontiguousarray((bits(value) | (bits(slope) << np.uint64(32))).reshape(-1))
    out.setflags(write=False)
    return out


_gaps_cache: list = [None, None]


def row_gaps(active: np.ndarray) -> np.ndarray:
    """Per row, whether it has cells outside the tissue (cached for the last mask seen)."""
    if _gaps_cache[0] is not active:
        _gaps_cache[1] = np.ascontiguousarray((active == 0).any(axis=1))
        _gaps_cache[0] = active
    return _gaps_cache[1]


def plain_rows(wx, wy, iext, gop):
    """Which interior rows are plain, and the scalars they share: ``(plain, (w_x, w_y, g_op))``.

    A row is plain when every face weight its interior loop reads is ``w_x`` (along x) and ``w_y``
    (along y), its current is zero and its opsin conductance is ``g_op``: the largest value of each
    field, so a uniform sheet is plain but for the rows that touch a hole, a map or a stimulus.
    ``plain`` is (ny,) uint8; the first and last rows never are (they take the edge path).
    """
    ny, nx = wx.shape
    scalars = tuple(float(a.max()) if a.size else 0.0 for a in (wx, wy, gop))
    plain = np.zeros(ny, np.uint8)
    if ny >= 3 and nx >= 3:
        w_x, w_y, g_op = scalars
        inner = slice(1, nx - 1)
        ok = (wx[1:-1, : nx - 1] == w_x).all(axis=1)
        ok &= (wy[:-2, inner] == w_y).all(axis=1) & (wy[1:-1, inner] == w_y).all(axis=1)
        ok &= (iext[1:-1, inner] == 0).all(axis=1) & (gop[1:-1, inner] == g_op).all(axis=1)
        plain[1:-1] = ok
    return plain, scalars
