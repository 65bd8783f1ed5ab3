"""Hunks: one finding's fix on its own, and any chosen subset of fixes re-applied to the original.

A hunk is one fix's edits (imports included), never a slice of a merged diff, so accepting any
subset of hunks still gives valid Go: the accepted fixes are re-applied to the original source
and the result is checked again (re-parse, gofmt), exactly as the engine checks a full rewrite.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from codemod.edits import apply_edits, follow_line_endings
from codemod.engine import choose_fixes, drop_unused_imports
from codemod.go.parse import ParsedFile
from codemod.model import Edit, Finding, Fix, Safety
from codemod.patch import split_lines, unified_diff
from codemod.verify import RewriteRejected, check_rewrite

EDITED = " (edited)"  # ends the description of a fix whose edits were changed by hand


class FixesConflict(Exception):
    """Two of the chosen fixes edit the same bytes; one of them must wait for another run."""


def rewrite_with(parsed: ParsedFile, findings: Sequence[Finding], use_gofmt: bool) -> bytes:
    """The original with exactly these findings' fixes applied, checked; raises if invalid."""
    chosen = [f for f in findings if f.fix is not None]
    accepted, edits, notes = choose_fixes(chosen, Safety.REPORT_ONLY, parsed)
    if notes:
        raise RewriteRejected("; ".join(notes))
    if len(accepted) != len(chosen):
        raise FixesConflict("two fixes edit the same code")
    # Hand-edited text is applied as written; generated edits follow the file's line endings.
    exact = {
        edit
        for f in accepted
        if f.fix and f.fix.description.endswith(EDITED)
        for edit in f.fix.edits
    }
    generated = follow_line_endings(parsed.source, [e for e in edits if e not in exact])
    rewritten = drop_unused_imports(apply_edits(parsed.source, [*exact, *generated]), accepted)
    return check_rewrite(parsed, rewritten, use_gofmt).source


def fix_diff(path: Path, parsed: ParsedFile, finding: Finding, use_gofmt: bool) -> str | None:
    """The unified diff of this finding's fix alone, or None without a (valid) fix."""
    if finding.fix is None:
        return None
    try:
        rewritten = rewrite_with(parsed, [finding], use_gofmt)
    except (RewriteRejected, FixesConflict, ValueError):
        return None
    return unified_diff(path, parsed.source, rewritten) or None


def with_edits(finding: Finding, edits: tuple[Edit, ...]) -> Finding:
    """The finding with its fix replaced by hand-edited edits (which carry their own imports)."""
    description = finding.fix.description if finding.fix else "edited by hand"
    # Modules the fix needs stay in go.mod's reach; an unused require only costs a tidy.
    requires = finding.fix.requires if finding.fix else ()
    return replace(finding, fix=Fix(edits, description + EDITED, requires=requires))


class EditedHunkError(ValueError):
    """An edited hunk that no longer applies to the original source."""


_HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


@dataclass
class _Hunk:
    start: int  # 1-based first source line (for an empty source side: the line before)
    empty_source: bool
    old: list[str]
    new: list[str]


def edits_from_patch(original: bytes, text: str) -> tuple[Edit, ...]:
    """Byte-range edits on `original` equivalent to a (hand-edited) unified diff of it.

    Header counts are recomputed from the body, as `git apply --recount` does; `#` lines are
    comments. The source side of every hunk must still match the original exactly.
    """
    hunks = _parse_hunks(text)
    if not hunks:
        raise EditedHunkError("the edited patch holds no hunk")
    source_lines = split_lines(original.decode("utf-8"))
    offsets = [0]
    for line in source_lines:
        offsets.append(offsets[-1] + len(line.encode("utf-8")))
    edits = []
    for hunk in hunks:
        index = hunk.start if not hunk.old else hunk.start - 1
        if hunk.empty_source and hunk.old:
            index = hunk.start
        if source_lines[index : index + len(hunk.old)] != hunk.old:
            raise EditedHunkError(
                f"the hunk at line {hunk.start} no longer matches the file "
                "(only '+' lines may be changed; ' ' and '-' lines must stay as they are)"
            )
        old, new, skip = _trim(hunk.old, hunk.new)
        start = offsets[index + skip]
        end = offsets[index + skip + len(old)]
        if old != new:
            edits.append(Edit(start, end, "".join(new)))
    return tuple(edits)


def _parse_hunks(text: str) -> list[_Hunk]:
    hunks: list[_Hunk] = []
    current: _Hunk | None = None
    last_kind = ""
    for raw in split_lines(text):
        line = raw if raw.endswith("\n") else raw + "\n"
        if line.startswith("#"):
            continue
        header = _HUNK_HEADER.match(line)
        if header:
            empty = header.group(2) == "0"
            current = _Hunk(int(header.group(1)), empty, [], [])
            hunks.append(current)
            continue
        if current is None or line.startswith(("diff ", "--- ", "+++ ", "index ")):
            continue
        if line.startswith("\\"):
            # "\ No newline at end of file": the line before it has no newline.
            if last_kind in (" ", "-") and current.old:
                current.old[-1] = current.old[-1].removesuffix("\n")
            if last_kind in (" ", "+") and current.new:
                current.new[-1] = current.new[-1].removesuffix("\n")
            continue
        kind, body = (line[0], line[1:]) if line[0] in " +-" else (" ", line)
        if line == "\n":
            kind, body = " ", "\n"  # an editor stripped the space of an empty context line
        if kind in (" ", "-"):
            current.old.append(body)
        if kind in (" ", "+"):
            current.new.append(body)
        last_kind = kind
    return hunks


def _trim(old: list[str], new: list[str]) -> tuple[list[str], list[str], int]:
    """Drop the lines both sides share at the ends, so edits stay as small as the change."""
    head = 0
    while head < len(old) and head < len(new) and old[head] == new[head]:
        head += 1
    tail = 0
    while (
        tail < len(old) - head
        and tail < len(new) - head
        and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]
    ):
        tail += 1
    return old[head : len(old) - tail], new[head : len(new) - tail], head
