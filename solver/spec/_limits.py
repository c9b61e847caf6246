"""Sizes a document or a spec may have, checked before anything is expanded or allocated.

A YAML file of a few hundred bytes can alias itself into ten million leaves, a JSON file can nest
deeper than Python recurses, and a wire spec can carry a polygon of a million vertices: each is
refused here with the figure and the limit, before a parser, a converter or a rasteriser walks it.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Largest magnitude of any number in a spec: far beyond any sheet, time or parameter, and small enough that
#: squares and products of two such numbers stay finite.
MAX_MAGNITUDE = 1e12
#: Deepest nesting of mappings and lists in a spec, sweep or design document.
MAX_DOCUMENT_DEPTH = 64
#: Most values (numbers, strings, mappings and lists, aliases counted as often as they are used) in a document.
MAX_DOCUMENT_VALUES = 4_000_000


@dataclass(frozen=True)
class SpecLimits:
    """Sizes of one job spec (a server can lower them; see ``optowave serve --help``)."""

    max_pattern_depth: int = 16            # nested unions, differences, sums, regions
    max_pattern_leaves: int = 4096         # shapes in one pattern
    max_polygon_vertices: int = 10_000     # vertices of one polygon
    max_label_bytes: int = 16 * 1024       # all labels' keys and values together (UTF-8)
    max_labels: int = 64
    max_name_bytes: int = 1024             # the spec's name, a stimulus' name


DEFAULT_SPEC_LIMITS = SpecLimits()


class DocumentTooLarge(ValueError):
    """A document over :data:`MAX_DOCUMENT_DEPTH` or :data:`MAX_DOCUMENT_VALUES`."""


def measure_document(obj, *, max_depth: int = MAX_DOCUMENT_DEPTH, max_values: int = MAX_DOCUMENT_VALUES) -> int:
    """The number of values ``obj`` holds once every alias is expanded; raises :class:`DocumentTooLarge`.

    Containers met again (YAML aliases) are counted from a memo, so a document that aliases itself
    into 10^7 leaves is measured in microseconds; recursion stops at ``max_depth``.
    """
    memo: dict[int, int] = {}

    def size(node, depth: int) -> int:
        if not isinstance(node, (dict, list, tuple)):
            return 1
        key = id(node)
        if key in memo:
            return memo[key]
        if depth > max_depth:
            raise DocumentTooLarge(f"is nested more than {max_depth} levels deep (mappings and lists); the limit is "
                                   f"{max_depth}")
        items = node.values() if isinstance(node, dict) else node
        n = 1
        for item in items:
            n += size(item, depth + 1)
            if n > max_values:
                break
        memo[key] = n
        if n > max_values:
            raise DocumentTooLarge(f"holds more than {max_values:,} values once its aliases are expanded; the limit "
                                   f"is {max_values:,}")
        return n

    return size(obj, 1)
