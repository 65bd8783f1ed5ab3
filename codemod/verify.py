"""Check: a rewrite must parse no worse than before, and gofmt (the Go parser) must accept it."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from codemod.go.parse import ParsedFile, error_ranges, parse_source


class RewriteRejected(Exception):
    """The rewrite is not valid Go; it is dropped, never written."""


@lru_cache(maxsize=1)
def gofmt_binary() -> str | None:
    return shutil.which("gofmt")


@dataclass(frozen=True)
class Checked:
    source: bytes
    parsed: ParsedFile
    gofmt_used: bool
    # gofmt's first error on the file as it was read: gofmt could not judge the rewrite.
    original_rejected: str | None = None


def check_rewrite(original: ParsedFile, rewritten: bytes, use_gofmt: bool = True) -> Checked:
    """Return the rewrite as it should be written (gofmt-formatted when the input was), or raise."""
    parsed = parse_source(rewritten)
    if len(error_ranges(parsed.tree)) > len(original.error_ranges()):
        raise RewriteRejected("the rewrite does not parse (tree-sitter found new syntax errors)")
    binary = gofmt_binary() if use_gofmt else None
    if binary is None:
        return Checked(rewritten, parsed, gofmt_used=False)
    # gofmt writes "\n": a file whose every line ends in "\r\n" is formatted as its LF twin.
    lf_rewritten, crlf = _without_crlf(rewritten)
    lf_original, original_crlf = _without_crlf(original.source)
    try:
        formatted = run_gofmt(binary, lf_rewritten)
    except RewriteRejected:
        before = gofmt_errors(binary, original.source)
        after = gofmt_errors(binary, rewritten)
        if not before or not after or not _same_errors(after, before):
            raise
        # The file did not parse for gofmt before the rewrite either, with the same errors
        # (in declarations tree-sitter marks, never edited): tree-sitter's check stands.
        return Checked(rewritten, parsed, gofmt_used=False, original_rejected=before[0])
    # Only reformat files that were gofmt-clean, so the diff never carries unrelated formatting.
    if (
        formatted != lf_rewritten
        and crlf == original_crlf
        and run_gofmt(binary, lf_original) == lf_original
    ):
        result = formatted.replace(b"\n", b"\r\n") if crlf else formatted
        return Checked(result, parse_source(result), gofmt_used=True)
    return Checked(rewritten, parsed, gofmt_used=True)


def _without_crlf(source: bytes) -> tuple[bytes, bool]:
    """The source with "\\r\\n" read as "\\n" when every line ends so, and whether they did."""
    lines = source.count(b"\n")
    if lines and source.count(b"\r\n") == lines:
        return source.replace(b"\r\n", b"\n"), True
    return source, False


def run_gofmt(binary: str, source: bytes) -> bytes:
    try:
        completed = subprocess.run(
            [binary], input=source, capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise RewriteRejected(f"gofmt could not run: {error}") from error
    if completed.returncode != 0:
        first_line = completed.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        raise RewriteRejected(
            "gofmt rejects the rewrite: " + (first_line[0] if first_line else "?")
        )
    return completed.stdout


def gofmt_errors(binary: str, source: bytes) -> list[str]:
    """gofmt's error lines for source (`<standard input>:8:14: message`); empty if it parses."""
    try:
        completed = subprocess.run(
            [binary], input=source, capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return []
    if completed.returncode == 0:
        return []
    return completed.stderr.decode("utf-8", "replace").strip().splitlines() or ["?"]


def _same_errors(after: list[str], before: list[str]) -> bool:
    """The rewrite's errors are the original's, positions aside (a rewrite shifts lines)."""

    def messages(lines: list[str]) -> set[str]:
        return {line.split(": ", 1)[-1] for line in lines}

    return messages(after) <= messages(before)
