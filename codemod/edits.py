"""Edit: merge byte-range edits from many fixes, reject overlaps, apply them."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from codemod.model import Edit


class OverlappingEdits(ValueError):
    pass


def conflicts(first: Edit, second: Edit) -> bool:
    """Two edits conflict when their ranges overlap, or both insert at one point (order unknown)."""
    if first == second:
        return False
    if first.start == first.end == second.start == second.end:
        return True
    return first.start < second.end and second.start < first.end


def normalize(edits: Iterable[Edit]) -> list[Edit]:
    """Sorted, duplicates removed; raises OverlappingEdits when two edits conflict."""
    ordered = sorted(set(edits))
    for before, after in itertools.pairwise(ordered):
        if conflicts(before, after) or before.end > after.start:
            raise OverlappingEdits(f"edits overlap at bytes {after.start}..{before.end}")
    return ordered


def apply_edits(source: bytes, edits: Iterable[Edit]) -> bytes:
    """Apply non-overlapping edits; the result does not depend on the order they were given in."""
    ordered = normalize(edits)
    if ordered and ordered[-1].end > len(source):
        raise ValueError(f"edit past end of source ({ordered[-1].end} > {len(source)})")
    pieces: list[bytes] = []
    cursor = 0
    for edit in ordered:
        pieces.append(source[cursor : edit.start])
        pieces.append(edit.text.encode("utf-8"))
        cursor = edit.end
    pieces.append(source[cursor:])
    return b"".join(pieces)
