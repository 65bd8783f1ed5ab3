"""Inline suppressions: `//unleak:ignore [ID[,ID]] [reason]` on a finding's line or the one above.

Applied in the engine after matching and before fixes are chosen, so a suppressed finding is
neither reported nor fixed. A suppression that silences nothing can be reported as a finding
of its own (`unused-ignore`), like ruff's unused-noqa.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node

from codemod.go.parse import ParsedFile
from codemod.model import Finding, Position, Safety

UNUSED_IGNORE_ID = "unused-ignore"
MARKER = b"unleak:ignore"
_DIRECTIVE = re.compile(r"^//\s*unleak:ignore(?:\s+(?P<rest>.*))?$")
# The first word names transform ids when it is kebab-case (every id is): `a-b` or `a-b,c-d`.
_IDS = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)+(?:,[a-z0-9]+(?:-[a-z0-9]+)+)*$")


@dataclass(frozen=True)
class Suppression:
    line: int  # 1-based line of the comment
    column: int  # 1-based byte column of the comment
    ids: frozenset[str] | None  # None: every id
    reason: str
    text: str

    def silences(self, finding: Finding) -> bool:
        if finding.start.line not in (self.line, self.line + 1):
            return False
        return self.ids is None or finding.transform_id in self.ids


def parse_directive(comment: str) -> tuple[frozenset[str] | None, str] | None:
    """(ids or None for all, reason) for an `//unleak:ignore` comment; None for other comments."""
    match = _DIRECTIVE.match(comment.strip())
    if match is None:
        return None
    rest = (match.group("rest") or "").strip()
    first, _, reason = rest.partition(" ")
    if first and _IDS.match(first):
        return frozenset(first.split(",")), reason.strip()
    return None, rest


def suppressions(parsed: ParsedFile) -> list[Suppression]:
    """Every `//unleak:ignore` comment in the file (comments only, never string contents)."""
    if MARKER not in parsed.source:
        return []
    found = []
    for node in _comments(parsed.root):
        raw = node.text.decode("utf-8", "replace") if node.text is not None else ""
        directive = parse_directive(raw)
        if directive is not None:
            ids, reason = directive
            line, column = node.start_point.row + 1, node.start_point.column + 1
            found.append(Suppression(line, column, ids, reason, raw.strip()))
    return found


def _comments(root: Node) -> Iterator[Node]:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "comment":
            yield node
        else:
            stack.extend(reversed(node.children))


def apply_suppressions(
    path: Path,
    parsed: ParsedFile,
    findings: list[Finding],
    active_ids: Iterable[str],
    report_unused: bool = False,
) -> list[Finding]:
    """The findings no suppression silences, plus `unused-ignore` findings when asked for."""
    directives = suppressions(parsed)
    if not directives:
        return findings
    used: set[Suppression] = set()
    kept = []
    for finding in findings:
        silencers = [s for s in directives if s.silences(finding)]
        used.update(silencers)
        if not silencers:
            kept.append(finding)
    if report_unused:
        from transforms import ALL_TRANSFORMS

        active = frozenset(active_ids)
        known = frozenset(t.id for t in ALL_TRANSFORMS)
        for directive in directives:
            # Only ids that ran can be judged (`--select other` proves nothing); a misspelt
            # id can never match, so it is always reported.
            judged = directive.ids is None or bool(directive.ids & active | directive.ids - known)
            if directive not in used and judged:
                kept.append(_unused(path, directive))
    return kept


def _unused(path: Path, directive: Suppression) -> Finding:
    what = f"no {', '.join(sorted(directive.ids))} finding" if directive.ids else "no finding"
    start = Position(directive.line, directive.column)
    end = Position(directive.line, directive.column + len(directive.text.encode("utf-8")))
    return Finding(
        transform_id=UNUSED_IGNORE_ID,
        path=path,
        start=start,
        end=end,
        message=f"`{directive.text}` silences nothing here ({what} on this line or the next)",
        safety=Safety.REPORT_ONLY,
    )
