"""Render: git-style unified diffs that `git apply` accepts, checked with unidiff.

Lines end at "\\n" only, as git counts them: str.splitlines would also break at "\\r", form
feed, U+2028 and others, which may sit inside a Go comment or string, and shift every hunk.
"""

from __future__ import annotations

import bisect
import difflib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

from unidiff import PatchSet  # type: ignore[attr-defined]

NO_NEWLINE = "\\ No newline at end of file\n"

Opcode = tuple[str, int, int, int, int]  # difflib's (tag, old start, old end, new start, new end)


@overload
def split_lines(text: str) -> list[str]: ...
@overload
def split_lines(text: bytes) -> list[bytes]: ...
def split_lines(text: str | bytes) -> list[str] | list[bytes]:
    """The lines of `text`, each with its "\\n" (the last may lack one): broken at "\\n" only."""
    if isinstance(text, bytes):
        pieces = text.split(b"\n")
        ended = [piece + b"\n" for piece in pieces[:-1]]
        return [*ended, pieces[-1]] if pieces[-1] else ended
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def display_path(path: Path, base: Path | None = None) -> str:
    """The path as messages and a/ b/ name it: relative to the base (default: the current
    directory) when inside it, else as the user gave it (as go vet and ruff print it)."""
    relative = os.path.relpath(path.resolve(), (base or Path.cwd()).resolve())
    if relative == os.pardir or relative.startswith(os.pardir + os.sep):
        return path.as_posix()
    return Path(relative).as_posix()


# git's C-style escapes (quote.c); any other control byte is written in octal.
_C_ESCAPES = {7: b"\\a", 8: b"\\b", 9: b"\\t", 10: b"\\n", 11: b"\\v", 12: b"\\f", 13: b"\\r"}
_C_ESCAPES.update({ord('"'): b'\\"', ord("\\"): b"\\\\"})


def quote_path(name: str) -> str:
    """name as git writes it in a patch header: in double quotes with C escapes when it holds
    a control character (a tab or newline would cut the header), a quote or a backslash, or
    bytes that are not UTF-8; as it is otherwise."""
    raw = os.fsencode(name)
    try:
        raw.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    escapes = [_escape(byte, utf8) for byte in raw]
    if not any(escapes):
        return name
    quoted = b"".join(escape or bytes([byte]) for escape, byte in zip(escapes, raw, strict=True))
    return '"' + quoted.decode("utf-8") + '"'


def unquote_path(name: str) -> str:
    """The file name a patch header names: quote_path undone (git's C-quoted form), or name
    as it is when it is not quoted."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    unescaped = {escape: bytes([byte]) for byte, escape in _C_ESCAPES.items()}
    raw = os.fsencode(name[1:-1])
    out = bytearray()
    index = 0
    while index < len(raw):
        if raw[index] != ord("\\") or index + 1 == len(raw):
            out.append(raw[index])
            index += 1
        elif raw[index + 1 : index + 2].isdigit():
            out.append(int(raw[index + 1 : index + 4], 8))
            index += 4
        else:
            out += unescaped.get(raw[index : index + 2], raw[index + 1 : index + 2])
            index += 2
    return os.fsdecode(bytes(out))


def _escape(byte: int, utf8: bool) -> bytes | None:
    if byte in _C_ESCAPES:
        return _C_ESCAPES[byte]
    if byte < 0x20 or byte == 0x7F or (byte > 0x7F and not utf8):
        return b"\\%03o" % byte
    return None


def unified_diff(
    path: Path, before: bytes, after: bytes, context: int = 3, created: bool = False
) -> str:
    """A git-style diff of one file (a new one when `created`); empty when nothing changed."""
    if before == after:
        return ""
    name = display_path(path)
    old = split_lines(before.decode("utf-8"))
    new = split_lines(after.decode("utf-8"))
    a_name, b_name = quote_path(f"a/{name}"), quote_path(f"b/{name}")
    header = f"diff --git {a_name} {b_name}\n"
    if created:
        header += "new file mode 100644\n"
    old_name = "/dev/null" if created else a_name
    body = [f"--- {old_name}\n", f"+++ {b_name}\n"]
    for group in LineMatcher(old, new).get_grouped_opcodes(context):
        body.append(_hunk_header(group))
        for tag, old_start, old_end, new_start, new_end in group:
            if tag == "equal":
                body.extend(_marked(" ", old[old_start:old_end]))
                continue
            body.extend(_marked("-", old[old_start:old_end]))
            body.extend(_marked("+", new[new_start:new_end]))
    text = header + "".join(body)
    validate_patch(text, expected_files=1)
    return text


def _marked(prefix: str, lines: Sequence[str]) -> Iterator[str]:
    for line in lines:
        yield prefix + line if line.endswith("\n") else prefix + line + "\n" + NO_NEWLINE


def _hunk_header(group: Sequence[Opcode]) -> str:
    old = _hunk_range(group[0][1], group[-1][2])
    new = _hunk_range(group[0][3], group[-1][4])
    return f"@@ -{old} +{new} @@\n"


def _hunk_range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return str(start + 1)
    # An empty side names the line before it, as diff and git do.
    return f"{start if length == 0 else start + 1},{length}"


class LineMatcher(difflib.SequenceMatcher[Any]):
    """difflib's opcodes, matched in time linear in the lines for code (patience anchors).

    difflib alone is quadratic on a file with thousands of similar changes; lines found once
    on each side anchor the match first, and difflib only matches the short runs between them.
    """

    def __init__(self, old: Sequence[Any], new: Sequence[Any]) -> None:
        super().__init__(None, old, new, autojunk=False)
        self.old, self.new = old, new
        self.blocks: list[difflib.Match] | None = None

    def get_matching_blocks(self) -> list[difflib.Match]:
        if self.blocks is None:
            pairs = _matched_lines(self.old, self.new)
            self.blocks = _merged(pairs, len(self.old), len(self.new))
        return self.blocks


def line_opcodes(old: Sequence[Any], new: Sequence[Any]) -> list[Opcode]:
    """difflib-style opcodes turning the lines `old` into `new`."""
    opcodes = LineMatcher(old, new).get_opcodes()
    return [(tag, i1, i2, j1, j2) for tag, i1, i2, j1, j2 in opcodes]


def _matched_lines(old: Sequence[object], new: Sequence[object]) -> list[tuple[int, int]]:
    """Pairs (old index, new index) of equal lines, increasing on both sides."""
    matched: list[tuple[int, int]] = []
    # A stack of ranges still to match and of pairs already found, emitted in order.
    work: list[tuple[int, int, int, int] | tuple[int, int]] = [(0, len(old), 0, len(new))]
    while work:
        item = work.pop()
        if len(item) == 2:
            matched.append(item)
            continue
        old_low, old_high, new_low, new_high = item
        while old_low < old_high and new_low < new_high and old[old_low] == new[new_low]:
            matched.append((old_low, new_low))
            old_low, new_low = old_low + 1, new_low + 1
        suffix: list[tuple[int, int]] = []
        while old_low < old_high and new_low < new_high and old[old_high - 1] == new[new_high - 1]:
            old_high, new_high = old_high - 1, new_high - 1
            suffix.append((old_high, new_high))
        work.extend(suffix)  # popped last-pushed first: the suffix comes out in order
        if old_low == old_high or new_low == new_high:
            continue
        anchors = _unique_anchors(old, old_low, old_high, new, new_low, new_high)
        if not anchors:
            blocks = difflib.SequenceMatcher(
                None, old[old_low:old_high], new[new_low:new_high], autojunk=False
            ).get_matching_blocks()
            for first_old, first_new, size in reversed(blocks):
                work.extend(
                    (old_low + first_old + k, new_low + first_new + k)
                    for k in reversed(range(size))
                )
            continue
        # Between anchors the ranges are matched again, last one pushed first.
        pending: list[tuple[int, int, int, int] | tuple[int, int]] = []
        previous_old, previous_new = old_low, new_low
        for anchor_old, anchor_new in anchors:
            pending.append((previous_old, anchor_old, previous_new, anchor_new))
            pending.append((anchor_old, anchor_new))
            previous_old, previous_new = anchor_old + 1, anchor_new + 1
        pending.append((previous_old, old_high, previous_new, new_high))
        work.extend(reversed(pending))
    return matched


def _unique_anchors(
    old: Sequence[object],
    old_low: int,
    old_high: int,
    new: Sequence[object],
    new_low: int,
    new_high: int,
) -> list[tuple[int, int]]:
    """Lines found exactly once on each side, longest run in the same order on both (patience)."""
    seen_old: dict[object, int] = {}
    for index in range(old_low, old_high):
        line = old[index]
        seen_old[line] = -1 if line in seen_old else index
    seen_new: dict[object, int] = {}
    for index in range(new_low, new_high):
        line = new[index]
        if seen_old.get(line, -1) >= 0:
            seen_new[line] = -1 if line in seen_new else index
    pairs = [(seen_old[line], index) for line, index in seen_new.items() if index >= 0]
    pairs.sort()
    return _longest_increasing(pairs)


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest subsequence of pairs (sorted by old index) whose new index increases."""
    tails: list[int] = []  # tails[k]: new index ending the best run of length k + 1
    tail_at: list[int] = []  # its position in pairs
    back: list[int] = []
    for position, (_, new_index) in enumerate(pairs):
        length = bisect.bisect_left(tails, new_index)
        if length == len(tails):
            tails.append(new_index)
            tail_at.append(position)
        else:
            tails[length] = new_index
            tail_at[length] = position
        back.append(tail_at[length - 1] if length else -1)
    run: list[tuple[int, int]] = []
    position = tail_at[-1] if tail_at else -1
    while position >= 0:
        run.append(pairs[position])
        position = back[position]
    return run[::-1]


def _merged(pairs: list[tuple[int, int]], old_size: int, new_size: int) -> list[difflib.Match]:
    blocks: list[difflib.Match] = []
    for old_index, new_index in pairs:
        if blocks and blocks[-1].a + blocks[-1].size == old_index:
            last = blocks[-1]
            if last.b + last.size == new_index:
                blocks[-1] = difflib.Match(last.a, last.b, last.size + 1)
                continue
        blocks.append(difflib.Match(old_index, new_index, 1))
    blocks.append(difflib.Match(old_size, new_size, 0))
    return blocks


def validate_patch(text: str, expected_files: int) -> PatchSet:
    """Parse our own output back: a patch that unidiff cannot read would not apply either."""
    patch = PatchSet(text)
    if len(patch) != expected_files:
        raise ValueError(f"rendered patch has {len(patch)} files, expected {expected_files}")
    return patch
