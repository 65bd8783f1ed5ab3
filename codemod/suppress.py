"""Inline suppressions: `//unleak:ignore [ID[,ID]] [reason]` on a finding's line or the one above.

Applied in the engine after matching and before fixes are chosen, so a suppressed finding is
neither reported nor fixed. A suppression that silences nothing can be reported as a finding
of its own (`unused-ignore`), like ruff's unused-noqa.
"""

from __future__ import annotations

import difflib
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
# The first word names transform ids when it is shaped like one (`a-b`, `a_b`, `a-b,c-d`) or is
# a known id spelt another way (`LostCancel`); otherwise it starts the reason. An id that is
# not known silences nothing: a misspelling must not turn into "ignore everything".
_ID = r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*"
_IDS = re.compile(rf"^{_ID}(?:,{_ID})*$")


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
    if first and _IDS.match(first) and (_shaped_like_ids(first) or _fold(first) in _known_folds()):
        return frozenset(first.split(",")), reason.strip()
    return None, rest


def _shaped_like_ids(word: str) -> bool:
    return any(separator in word for separator in "-_,")


def _fold(word: str) -> str:
    return word.lower().replace("-", "").replace("_", "")


def _known_ids() -> frozenset[str]:
    from transforms import ALL_TRANSFORMS  # transforms import this package: not at load time

    return frozenset(t.id for t in ALL_TRANSFORMS) | {UNUSED_IGNORE_ID}


def _known_folds() -> dict[str, str]:
    return {_fold(known): known for known in _known_ids()}


def unknown_ids(directive: Suppression) -> list[str]:
    """The ids a directive names that no transform has: they silence nothing."""
    return sorted((directive.ids or frozenset()) - _known_ids())


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
        active = frozenset(active_ids)
        for directive in directives:
            unknown = unknown_ids(directive)
            # Only ids that ran can be judged (`--select other` proves nothing); an unknown id
            # can never match, so it is always reported, even beside a used one.
            judged = directive.ids is None or bool(directive.ids & active)
            if unknown:
                kept.append(_unknown(path, directive, unknown))
            elif directive not in used and judged:
                kept.append(_unused(path, directive))
    return kept


def _unknown(path: Path, directive: Suppression, unknown: list[str]) -> Finding:
    named = ", ".join(f"{i} ({_suggestion(i)})" if _suggestion(i) else i for i in unknown)
    return _finding(
        path,
        directive,
        f"`{directive.text}` names no known transform id: {named}; it silences nothing",
    )


def _suggestion(unknown: str) -> str:
    folds = _known_folds()
    if _fold(unknown) in folds:
        return f"did you mean {folds[_fold(unknown)]}?"
    close = difflib.get_close_matches(unknown.lower().replace("_", "-"), sorted(_known_ids()), 1)
    return f"did you mean {close[0]}?" if close else ""


def _unused(path: Path, directive: Suppression) -> Finding:
    what = f"no {', '.join(sorted(directive.ids))} finding" if directive.ids else "no finding"
    return _finding(
        path,
        directive,
        f"`{directive.text}` silences nothing here ({what} on this line or the next)",
    )


def _finding(path: Path, directive: Suppression, message: str) -> Finding:
    start = Position(directive.line, directive.column)
    end = Position(directive.line, directive.column + len(directive.text.encode("utf-8")))
    return Finding(
        transform_id=UNUSED_IGNORE_ID,
        path=path,
        start=start,
        end=end,
        message=message,
        safety=Safety.REPORT_ONLY,
    )
