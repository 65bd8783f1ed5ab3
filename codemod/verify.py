"""Check: a rewrite must parse no worse than before, and gofmt (the Go parser) must accept it."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from codemod.parse import ParsedFile, error_ranges, parse_source


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
    formatted = run_gofmt(binary, lf_rewritten)
    lf_original, original_crlf = _without_crlf(original.source)
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
