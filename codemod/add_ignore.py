"""`scan --add-ignore[=REASON]`: an `//unleak:ignore ID REASON` above every remaining finding.

Like ruff's --add-noqa, the way to adopt unleak on a large codebase: silence what is there,
gate what is new. Each comment goes on its own line above the finding's line, indented like
it (the line above is where `codemod/suppress.py` looks); a directive already there gains the
id instead. The result must parse, hold every comment as a comment (not inside a raw string)
and pass gofmt, or the file is left alone; a second run finds nothing, so adds nothing.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from codemod.go.parse import parse_source
from codemod.model import FileResult, Finding
from codemod.sinks.write import ChangedUnderneath, read_regular_file, write_or_explain
from codemod.suppress import (
    NO_REASON_ID,
    UNUSED_IGNORE_ID,
    directive_text,
    parse_directive,
    suppressions,
)
from codemod.verify import RewriteRejected, check_rewrite

# Findings about the comments themselves: another comment cannot answer them.
_NOT_SILENCEABLE = frozenset({UNUSED_IGNORE_ID, NO_REASON_ID})


class IgnoreRefused(Exception):
    """The comments cannot be added without breaking the file; the message says why."""


def with_ignores(source: bytes, findings: list[Finding], reason: str) -> tuple[bytes, int]:
    """The source with a directive above each finding's line, and how many ids were added."""
    wanted: dict[int, set[str]] = defaultdict(set)
    for finding in findings:
        if finding.transform_id not in _NOT_SILENCEABLE:
            wanted[finding.start.line].add(finding.transform_id)
    lines = source.splitlines(keepends=True)
    added = 0
    # Bottom up, so inserting a line leaves the line numbers above it as they were.
    for line_number in sorted(wanted, reverse=True):
        index = line_number - 1
        if index >= len(lines):
            continue
        ids = frozenset(wanted[line_number])
        line = lines[index]
        ending = b"\r\n" if line.endswith(b"\r\n") else b"\n"
        above = _standalone_directive(lines[index - 1]) if index > 0 else None
        if above is not None:
            old_ids, old_reason, indent = above
            merged = old_ids | ids
            added += len(merged - old_ids)
            text = directive_text(merged, old_reason or reason)
            lines[index - 1] = indent + text.encode("utf-8") + ending
            continue
        indent = line[: len(line) - len(line.lstrip(b" \t"))]
        lines.insert(index, indent + directive_text(ids, reason).encode("utf-8") + ending)
        added += len(ids)
    return b"".join(lines), added


def _standalone_directive(line: bytes) -> tuple[frozenset[str], str, bytes] | None:
    """(ids, reason, indent) when the line holds only an `//unleak:ignore ID...` comment."""
    stripped = line.strip()
    if not stripped.startswith(b"//"):
        return None
    directive = parse_directive(stripped.decode("utf-8", "replace"))
    if directive is None or directive[0] is None:
        return None
    return directive[0], directive[1], line[: len(line) - len(line.lstrip(b" \t"))]


def checked_with_ignores(
    source: bytes, findings: list[Finding], reason: str, use_gofmt: bool = True
) -> tuple[bytes, int]:
    """with_ignores, checked: parses as before, every directive is a comment, gofmt accepts."""
    rewritten, added = with_ignores(source, findings, reason)
    if added == 0:
        return source, 0
    try:
        checked = check_rewrite(parse_source(source), rewritten, use_gofmt)
    except RewriteRejected as error:
        raise IgnoreRefused(str(error)) from error
    directive_lines = {
        number
        for number, line in enumerate(checked.source.splitlines(), start=1)
        if b"unleak:ignore" in line and _standalone_directive(line) is not None
    }
    comment_lines = {s.line for s in suppressions(checked.parsed)}
    if not directive_lines <= comment_lines:
        raise IgnoreRefused("a comment would land inside a string or comment")
    return checked.source, added


class AddIgnoreSink:
    """Writes the directives, file by file, through the atomic writer `fix --write` uses."""

    def __init__(self, reason: str, use_gofmt: bool = True) -> None:
        self.reason = reason
        self.use_gofmt = use_gofmt
        self.added = 0
        self.written: list[Path] = []
        self.errors: list[str] = []

    def accept(self, result: FileResult) -> None:
        if not any(f.transform_id not in _NOT_SILENCEABLE for f in result.findings):
            return
        try:
            original = result.original
            if original is None:  # a cached scan keeps findings, not bytes
                original, _ = read_regular_file(result.path)
            content, added = checked_with_ignores(
                original, result.findings, self.reason, self.use_gofmt
            )
        except (IgnoreRefused, ChangedUnderneath) as error:
            self.errors.append(f"{result.path}: no //unleak:ignore added: {error}")
            return
        except OSError as error:
            self.errors.append(f"{result.path}: cannot read: {error.strerror or error}")
            return
        if added == 0:
            return
        error_message = write_or_explain(result.path, original, content)
        if error_message is not None:
            self.errors.append(error_message)
            return
        self.added += added
        self.written.append(result.path)

    def close(self) -> None:
        pass
