"""Edit: merge byte-range edits from many fixes, reject overlaps, apply them."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from codemod.model import Edit

_BARE_LF = re.compile(r"(?<!\r)\n")


class OverlappingEdits(ValueError):
    pass


def uses_crlf(source: bytes) -> bool:
    """Whether most lines of the file end in "\\r\\n": the ending its new lines must follow."""
    return source.count(b"\r\n") * 2 > source.count(b"\n")


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
    """Apply non-overlapping edits; the result does not depend on the order they were given in.

    Edits write "\\n"; in a file whose lines end in "\\r\\n" their new lines do too, and an
    edit at the end of a line (found by its "\\n") lands before the "\\r", not inside "\\r\\n".
    """
    ordered = normalize(edits)
    if ordered and ordered[-1].end > len(source):
        raise ValueError(f"edit past end of source ({ordered[-1].end} > {len(source)})")
    crlf = uses_crlf(source)
    pieces: list[bytes] = []
    cursor = 0
    for edit in ordered:
        start, end, text = edit.start, edit.end, edit.text
        if crlf:
            text = _BARE_LF.sub("\r\n", text)
            start = max(cursor, _before_crlf(source, start))
            end = max(start, _before_crlf(source, end))
        pieces.append(source[cursor:start])
        pieces.append(text.encode("utf-8"))
        cursor = end
    pieces.append(source[cursor:])
    return b"".join(pieces)


def _before_crlf(source: bytes, offset: int) -> int:
    """The offset moved before the "\\r" when it points between "\\r" and "\\n"."""
    if 0 < offset < len(source) and source[offset - 1 : offset + 1] == b"\r\n":
        return offset - 1
    return offset
