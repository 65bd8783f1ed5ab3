"""Inline suppressions: `//unleak:ignore [ID[,ID]] [reason]` on a finding's line or the one above.

Applied in the engine after matching and before fixes are chosen, so a suppressed finding is
neither reported nor fixed. A suppression that silences nothing can be reported as a finding
of its own (`unused-ignore`), like ruff's unused-noqa (RUF100); its fix deletes the comment, or
only the ids that silenced nothing from a list whose other ids are used.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tree_sitter import Node

from codemod.go.parse import ParsedFile
from codemod.model import Edit, Finding, Fix, Position, Safety

UNUSED_IGNORE_ID = "unused-ignore"
NO_REASON_ID = "ignore-without-reason"
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
    start_byte: int = 0  # the comment's byte range in the file
    end_byte: int = 0

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
            found.append(
                Suppression(line, column, ids, reason, raw.strip(), node.start_byte, node.end_byte)
            )
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
    require_reason: bool = False,
) -> list[Finding]:
    """The findings no suppression silences, plus `unused-ignore` findings when asked for,
    and `ignore-without-reason` ones for reasonless comments when a reason is required."""
    directives = suppressions(parsed)
    if not directives:
        return findings
    used: dict[Suppression, set[str]] = {}
    kept = []
    for finding in findings:
        silencers = [s for s in directives if s.silences(finding)]
        for silencer in silencers:
            used.setdefault(silencer, set()).add(finding.transform_id)
        if not silencers:
            kept.append(finding)
    if require_reason:
        kept.extend(_no_reason(path, d) for d in directives if not d.reason)
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
                kept.append(_unused(path, parsed.source, directive, active))
            elif directive.ids is not None and directive in used:
                idle = (directive.ids & active) - used[directive]
                if idle:
                    kept.append(_unused_ids(directive, path, sorted(idle), used[directive]))
    return kept


def directive_text(ids: frozenset[str] | None, reason: str) -> str:
    """`//unleak:ignore ID[,ID] REASON` as unleak writes it."""
    text = "//unleak:ignore" + (f" {','.join(sorted(ids))}" if ids else "")
    return f"{text} {reason}" if reason else text


def _no_reason(path: Path, directive: Suppression) -> Finding:
    example = directive_text(directive.ids, "REASON")
    return _finding(
        path,
        directive,
        f"`{directive.text}` gives no reason; say why it is safe: `{example}`",
        transform_id=NO_REASON_ID,
    )


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


def _unused(path: Path, source: bytes, directive: Suppression, active: frozenset[str]) -> Finding:
    what = f"no {', '.join(sorted(directive.ids))} finding" if directive.ids else "no finding"
    # Ids that did not run may still silence something: only the judged ones go.
    judged = directive.ids & active if directive.ids is not None else frozenset()
    kept = directive.ids - judged if directive.ids is not None else frozenset()
    if kept:
        edit = Edit(
            directive.start_byte, directive.end_byte, directive_text(kept, directive.reason)
        )
        description = f"drop {', '.join(sorted(judged))} from the comment"
    else:
        edit = removal(source, directive.start_byte, directive.end_byte)
        description = "delete the comment"
    return _finding(
        path,
        directive,
        f"`{directive.text}` silences nothing here ({what} on this line or the next)",
        Fix((edit,), description),
    )


def _unused_ids(directive: Suppression, path: Path, idle: list[str], used_ids: set[str]) -> Finding:
    assert directive.ids is not None
    remaining = directive.ids - set(idle)
    edit = Edit(
        directive.start_byte, directive.end_byte, directive_text(remaining, directive.reason)
    )
    return _finding(
        path,
        directive,
        f"`{directive.text}`: {', '.join(idle)} silences nothing here "
        f"({', '.join(sorted(used_ids))} does)",
        Fix((edit,), f"drop {', '.join(idle)} from the comment"),
    )


def removal(source: bytes, start: int, end: int) -> Edit:
    """The edit deleting the line comment at [start, end) and leaving gofmt-clean code: its
    whole line when it stands alone (and one of two blank lines it separated), else the
    comment and the blanks before it."""
    line_start = source.rfind(b"\n", 0, start) + 1
    newline = source.find(b"\n", end)
    line_end = len(source) if newline == -1 else newline + 1
    if source[line_start:start].strip(b" \t"):
        code_end = start
        while code_end > line_start and source[code_end - 1] in b" \t":
            code_end -= 1
        return Edit(code_end, end, "")
    blank_before = line_start > 0 and _blank_line_before(source, line_start)
    following_end = source.find(b"\n", line_end)
    if blank_before and following_end != -1 and not source[line_end:following_end].strip():
        line_end = following_end + 1  # two blank lines would meet: gofmt keeps one
    return Edit(line_start, line_end, "")


def _blank_line_before(source: bytes, line_start: int) -> bool:
    previous_start = source.rfind(b"\n", 0, line_start - 1) + 1
    return not source[previous_start : line_start - 1].strip()


def _finding(
    path: Path,
    directive: Suppression,
    message: str,
    fix: Fix | None = None,
    transform_id: str = UNUSED_IGNORE_ID,
) -> Finding:
    start = Position(directive.line, directive.column)
    end = Position(directive.line, directive.column + len(directive.text.encode("utf-8")))
    return Finding(
        transform_id=transform_id,
        path=path,
        start=start,
        end=end,
        message=message,
        # RUF100's fix is safe too: a comment that silences nothing changes nothing.
        safety=Safety.SAFE if fix is not None else Safety.REPORT_ONLY,
        fix=fix,
    )
