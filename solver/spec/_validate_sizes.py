"""Sizes of a spec checked first, before any walk that could take long: pattern depth, shapes and polygon
vertices, labels and names (bounds: :class:`solver.spec.SpecLimits`). ``c`` is the validator's checker."""
from __future__ import annotations

from . import _types as t
from ._limits import SpecLimits


def check_sizes(c, spec: t.JobSpec, limits: SpecLimits) -> None:
    """Sizes first, before any walk that could take long: patterns' depth, leaves and vertices, labels, names."""
    patterns = [("tissue.mask", spec.tissue.mask)]
    patterns += [(f"tissue.initial.regions[{k}].pattern", r.pattern) for k, r in enumerate(spec.tissue.initial)]
    patterns += [("opsin.region", spec.opsin.region)] if spec.opsin.region is not None else []
    patterns += [(f"light[{k}].pattern", s.pattern) for k, s in enumerate(spec.light)]
    patterns += [(f"current[{k}].pattern", s.pattern) for k, s in enumerate(spec.current)]
    for path, p in patterns:
        _pattern_size(c, path, p, limits)
    if len(spec.labels) > limits.max_labels:
        c.error("labels", f"{len(spec.labels)} labels; the limit is {limits.max_labels}")
    label_bytes = sum(len(k.encode()) + len(v.encode()) for k, v in spec.labels)
    if label_bytes > limits.max_label_bytes:
        c.error("labels", f"{label_bytes:,} bytes of keys and values; the limit is {limits.max_label_bytes:,} bytes "
                "(labels are tags for listing jobs; keep data in the spec's fields)")
    names = [("name", spec.name)] + [(f"light[{k}].name", s.name) for k, s in enumerate(spec.light)]
    names += [(f"current[{k}].name", s.name) for k, s in enumerate(spec.current)]
    for path, name in names:
        if len(name.encode()) > limits.max_name_bytes:
            c.error(path, f"{len(name.encode()):,} bytes; the limit is {limits.max_name_bytes:,} bytes")


def _pattern_size(c, path: str, p, limits: SpecLimits) -> None:
    """Depth and leaves of a pattern tree, walked without recursion (a wire spec can nest 100 deep)."""
    leaves, deepest, stack = 0, 0, [(p, 1)]
    while stack:
        q, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > limits.max_pattern_depth:
            c.error(path, f"nests more than {limits.max_pattern_depth} levels of union, difference, sum or region; "
                    f"the limit is {limits.max_pattern_depth}")
            return
        if isinstance(q, (t.PatternUnion, t.PatternDifference)):
            stack += [(r, depth + 1) for r in q.patterns]
        elif isinstance(q, t.PatternSum):
            stack += [(term.pattern, depth + 1) for term in q.terms]
        elif isinstance(q, (t.Checkerboard, t.Grating)):
            leaves += 1
            stack.append((q.region, depth + 1))
        else:
            leaves += 1
            if isinstance(q, t.Polygon) and len(q.vertices_um) > limits.max_polygon_vertices:
                c.error(f"{path}.polygon.vertices_um", f"{len(q.vertices_um):,} vertices; the limit is "
                        f"{limits.max_polygon_vertices:,} per polygon")
        if leaves > limits.max_pattern_leaves:
            c.error(path, f"has more than {limits.max_pattern_leaves:,} shapes; the limit is "
                    f"{limits.max_pattern_leaves:,} (a raster or an image draws any number of cells in one)")
            return
