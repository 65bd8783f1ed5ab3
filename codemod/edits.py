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
    """Whether most lines of the file end in "\\r\\n"."""
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


def follow_line_endings(source: bytes, edits: Iterable[Edit]) -> list[Edit]:
    """Generated edits as they must be applied to this file: the "\\n" they write becomes
    "\\r\\n" on a line that ends so, and an edit at the end of a line (found by its "\\n")
    moves before the "\\r" rather than splitting the "\\r\\n". Hand-edited text is exact and
    must not pass through here."""
    if b"\r\n" not in source:
        return list(edits)
    followed = []
    for edit in edits:
        text = edit.text
        if "\n" in text and _line_ends_crlf(source, edit):
            text = _BARE_LF.sub("\r\n", text)
        start = _before_crlf(source, edit.start)
        followed.append(Edit(start, max(start, _before_crlf(source, edit.end)), text))
    return followed


def _line_ends_crlf(source: bytes, edit: Edit) -> bool:
    """Whether the line the edit ends on (or inserts into) ends in "\\r\\n"."""
    newline = source.find(b"\n", edit.end - 1 if edit.end > edit.start else edit.start)
    if newline < 0:
        return uses_crlf(source)  # the last line, without a newline: as most lines end
    return newline > 0 and source[newline - 1] == ord("\r")


def _before_crlf(source: bytes, offset: int) -> int:
    """The offset moved before the "\\r" when it points between "\\r" and "\\n"."""
    if 0 < offset < len(source) and source[offset - 1 : offset + 1] == b"\r\n":
        return offset - 1
    return offset
