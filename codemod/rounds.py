"""Which reported findings a fix round landed: later rounds match the rewritten source, so
their findings stand at other lines than the ones reported for the file as it was read."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from codemod.model import Finding


def original_lines(before: bytes, after: bytes) -> list[tuple[int, int]]:
    """For each line of `after` (1-based, index 0 unused), the range of lines of `before` it
    comes from: one line where the two agree; where a rewrite touched it, the lines it
    replaced and their two neighbours (so the range is never a single line)."""
    old, new = before.splitlines(), after.splitlines()
    head = 0  # the shared head and tail are cheap to match; difflib sees only the middle
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    spans = [(0, 0)] + [(line, line) for line in range(1, head + 1)]
    matcher = difflib.SequenceMatcher(
        None, old[head : len(old) - tail], new[head : len(new) - tail], autojunk=False
    )
    for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        for offset in range(new_end - new_start):
            if tag == "equal":
                line = head + old_start + offset + 1
                spans.append((line, line))
            else:  # the lines it replaced, and the ones around them
                spans.append((head + old_start, head + old_end + 1))
    shift = len(old) - len(new)
    spans.extend((line + shift, line + shift) for line in range(len(new) - tail + 1, len(new) + 1))
    return spans


def landed(
    reported: Sequence[Finding],
    first_round: Sequence[Finding],
    later_rounds: Sequence[tuple[bytes, Sequence[Finding]]],
    source: bytes,
) -> list[Finding]:
    """The reported findings whose fix is in the rewrite, in report order, then the fixes of
    later rounds that answer no reported finding (a fix exposed them).

    later_rounds: each round's source (where its findings stand) and the fixes it applied.
    """
    done = {id(finding) for finding in first_round}
    exposed: list[Finding] = []
    for round_source, applied in later_rounds:
        spans = original_lines(source, round_source)
        for finding in applied:
            line = finding.start.line
            low, high = spans[line] if line < len(spans) else (line, line)
            candidates = [
                original
                for original in reported
                if id(original) not in done
                and original.transform_id == finding.transform_id
                and low <= original.start.line <= high
                and original.fix is not None
                and finding.fix is not None
                and original.fix.requires == finding.fix.requires
            ]
            if not candidates:
                exposed.append(finding)
                continue
            best = min(
                candidates,
                key=lambda o: (o.message != finding.message, abs(o.start.line - line)),
            )
            done.add(id(best))
    return [f for f in reported if id(f) in done] + exposed
