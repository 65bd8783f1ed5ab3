"""Terminal sinks: coloured unified diffs and one-line findings on stdout."""

from __future__ import annotations

from typing import TextIO

from pygments import highlight
from pygments.formatters import TerminalFormatter
from pygments.lexers import DiffLexer

from codemod.model import FileResult, FileStatus
from codemod.patch import display_path, unified_diff


def colour_diff(text: str) -> str:
    coloured: str = highlight(text, DiffLexer(), TerminalFormatter())
    return coloured


class DiffSink:
    """Prints the patch of every changed file; the whole stdout is one `git apply`-able patch."""

    def __init__(self, stream: TextIO, colour: bool) -> None:
        self.stream = stream
        self.colour = colour
        self.files_changed = 0

    def accept(self, result: FileResult) -> None:
        if result.status is not FileStatus.CHANGED:
            return
        assert result.original is not None and result.rewritten is not None
        text = unified_diff(result.path, result.original, result.rewritten, created=result.created)
        self.stream.write(colour_diff(text) if self.colour else text)
        self.files_changed += 1

    def close(self) -> None:
        self.stream.flush()


class FindingsSink:
    """`path:line:col: id [safety] message`, the shape editors and CI logs already understand."""

    def __init__(self, stream: TextIO, colour: bool) -> None:
        self.stream = stream
        self.colour = colour
        self.count = 0

    def accept(self, result: FileResult) -> None:
        for finding in result.findings:
            location = f"{display_path(finding.path)}:{finding.start.line}:{finding.start.column}"
            tag = f"{finding.transform_id} [{finding.safety.label}]"
            if self.colour:
                location = f"\x1b[1m{location}\x1b[0m"
                tag = f"\x1b[33m{tag}\x1b[0m"
            self.stream.write(f"{location}: {tag} {finding.message}\n")
            self.count += 1

    def close(self) -> None:
        self.stream.flush()
