"""File names in patches are quoted as git quotes them, so a tab or a newline in a name cannot
cut a header: `git apply` reads the patch `fix --dry-run` prints for such files."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unidiff import PatchSet  # type: ignore[attr-defined]

from codemod.patch import quote_path, unified_diff, unquote_path
from tests.cli_support import LEAKY, make_module, unleak

_C_UNESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote(name: str) -> str:
    """git's unquote_c_style, to read back what quote_path wrote."""
    if not name.startswith('"'):
        return name
    assert name.endswith('"') and len(name) >= 2
    raw = bytearray()
    pieces = re.finditer(r'\\([0-7]{3}|[abtnvfr"\\])|([^\\])', name[1:-1], re.DOTALL)
    for piece in pieces:
        escape, plain = piece.groups()
        if plain is not None:
            raw += plain.encode("utf-8", "surrogateescape")
        elif len(escape) == 3:
            raw.append(int(escape, 8))
        else:
            raw.append(_C_UNESCAPES[escape])
    return os.fsdecode(bytes(raw))


@pytest.mark.parametrize("name", ["tab\tname.go", "new\nline.go"])
def test_git_applies_the_patch_for_a_file_with_a_special_name(tmp_path: Path, name: str) -> None:
    module = make_module(tmp_path / "m", {name: LEAKY})
    subprocess.run(["git", "init", "-q"], cwd=module, check=True)
    patch = unleak("fix", "--dry-run", ".", cwd=module)
    assert patch.returncode == 1 and "Traceback" not in patch.stderr, patch.stderr
    checked = subprocess.run(
        ["git", "apply", "--check", "-"],
        cwd=module,
        input=patch.stdout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr == ""


names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0"), min_size=1
).filter(lambda name: name not in (".", ".."))


@given(name=names)
def test_every_name_reads_back_from_the_patch_headers(name: str) -> None:
    text = unified_diff(Path(name), b"package p\n", b"package q\n")
    patched = PatchSet(text)[0]
    assert unquote(patched.source_file) == f"a/{name}"
    assert unquote(patched.target_file) == f"b/{name}"


def test_names_that_need_no_quotes_are_left_as_they_are() -> None:
    assert quote_path("b/dir/naïve file.go") == "b/dir/naïve file.go"
    assert quote_path(os.fsdecode(b"b/\xff.go")) == '"b/\\377.go"'


@given(name=names)
def test_apply_reads_quoted_names_as_git_does(name: str) -> None:
    quoted = quote_path(f"b/{name}")
    assert unquote_path(quoted) == unquote(quoted) == f"b/{name}"


@pytest.mark.parametrize("name", ["tab\tname.go", "new\nline.go", 'quote"name.go'])
def test_unleak_applies_the_patch_for_a_file_with_a_special_name(tmp_path: Path, name: str) -> None:
    module = make_module(tmp_path / "m", {name: LEAKY})
    patch = unleak("fix", "--dry-run", ".", cwd=module)
    assert patch.returncode == 1, patch.stderr
    applied = unleak("apply", "-", cwd=module, stdin=patch.stdout)
    assert applied.returncode == 0, applied.stderr
    fixed = unleak("fix", "--dry-run", ".", cwd=module)
    assert fixed.stdout == ""
