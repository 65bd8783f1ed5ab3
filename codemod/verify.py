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


def check_rewrite(original: ParsedFile, rewritten: bytes, use_gofmt: bool = True) -> Checked:
    """Return the rewrite as it should be written (gofmt-formatted when the input was), or raise."""
    parsed = parse_source(rewritten)
    if len(error_ranges(parsed.tree)) > len(original.error_ranges()):
        raise RewriteRejected("the rewrite does not parse (tree-sitter found new syntax errors)")
    binary = gofmt_binary() if use_gofmt else None
    if binary is None:
        return Checked(rewritten, parsed, gofmt_used=False)
    formatted = run_gofmt(binary, rewritten)
    # Only reformat files that were gofmt-clean, so the diff never carries unrelated formatting.
    if formatted != rewritten and run_gofmt(binary, original.source) == original.source:
        return Checked(formatted, parse_source(formatted), gofmt_used=True)
    return Checked(rewritten, parsed, gofmt_used=True)


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
