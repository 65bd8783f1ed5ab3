"""A rewrite keeps every byte outside the edited lines: line endings, odd whitespace, cgo imports.

The properties run the real pipeline over the fixtures whose fix changes the file, after
giving them random line endings and random odd characters (U+2028, form feed, a lone CR...)
inside comments; the patch made from the result must apply, with `git apply` and with
`unleak apply`, to give exactly that result.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemod.applypatch import apply_patch
from codemod.changed import carry_lines
from codemod.edits import apply_edits, follow_line_endings
from codemod.engine import RunOptions, process_source
from codemod.go.parse import parse_source
from codemod.hunks import edits_from_patch
from codemod.imports import import_edits
from codemod.model import Safety
from codemod.patch import line_opcodes, split_lines, unified_diff
from codemod.sinks.interactive import run_editor
from codemod.sinks.report import byte_replacements
from codemod.triage.sites import SourceLine, source_lines
from codemod.verify import gofmt_binary, run_gofmt
from tests.cli_support import LEAKY, make_module, unleak
from tests.conftest import FixtureCase, fixture_cases

# Characters str.splitlines breaks at but git and Go do not (Go allows them in comments).
ODD = ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\r", "\x1c", "\x1d", "\x1e"]
ENDINGS = st.sampled_from(["lf", "crlf", "mixed"])
CHANGED = [case for case in fixture_cases() if case.after is not None and case.after != case.before]


def _rewrite(case: FixtureCase, source: bytes, use_gofmt: bool = True) -> bytes | None:
    options = RunOptions(
        select=frozenset({case.transform_id}),
        fix=True,
        apply_threshold=Safety.REVIEW,
        use_gofmt=use_gofmt,
    )
    return process_source(Path("fixture.go"), source, case.module, options, case.siblings).rewritten


def _gofmt_clean(source: bytes) -> bool:
    """Whether unleak treats the file as gofmt-clean (so it formats the rewrite too)."""
    binary = gofmt_binary()
    uniform = source.count(b"\r\n") == source.count(b"\n")
    lf_source = source.replace(b"\r\n", b"\n") if uniform else source
    return binary is not None and run_gofmt(binary, lf_source) == lf_source


def _comment_offsets(source: bytes) -> list[int]:
    """Character offsets inside `//` comments, after the slashes, where a character may go."""
    offsets = []
    text = source.decode()
    stack = [parse_source(source).root]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.type == "comment" and node.text is not None and node.text.startswith(b"//"):
            start = len(source[: node.start_byte].decode())
            end = start + len(node.text.decode())
            offsets.extend(range(start + 2, end + 1))
    # A lone CR just before a newline would be a CRLF ending, not an odd character.
    return [o for o in offsets if o == len(text) or text[o] != "\n"]


@st.composite
def perturbed(draw: st.DrawFn, case: FixtureCase) -> tuple[bytes, list[int]]:
    """before.go with odd characters in comments and random line endings."""
    text = case.before.decode()
    offsets = _comment_offsets(case.before)
    chosen = draw(st.lists(st.sampled_from(offsets), max_size=6, unique=True)) if offsets else []
    for offset in sorted(chosen, reverse=True):
        text = text[:offset] + draw(st.sampled_from(ODD)) + text[offset:]
    endings = draw(ENDINGS)
    lines = text.split("\n")
    if endings == "crlf":
        text = "\r\n".join(lines)
    elif endings == "mixed":
        ends = [draw(st.sampled_from(["\n", "\r\n"])) for _ in lines[:-1]]
        text = "".join(line + end for line, end in zip(lines, ends, strict=False)) + lines[-1]
    return text.encode(), sorted(chosen)


def _without_odd(data: bytes) -> bytes:
    text = data.decode()
    for character in ODD:
        text = text.replace(character, "")
    return text.encode()


def _changed_old_lines(before: bytes, after: bytes) -> list[tuple[int, int]]:
    """The line ranges of `before` that differ in `after` (empty for an insertion point)."""
    opcodes = line_opcodes(split_lines(before), split_lines(after))
    return [(i1, i2) for tag, i1, i2, _, _ in opcodes if tag != "equal"]


@pytest.mark.parametrize("case", CHANGED)
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_rewrite_changes_only_the_edited_lines_and_its_patch_applies(
    case: FixtureCase, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    source, _ = data.draw(perturbed(case))
    rewritten = _rewrite(case, source)
    # gofmt lays out only the rewrite of a gofmt-clean file (a CRLF one counts, a mixed one not).
    plain = _rewrite(case, case.before, use_gofmt=_gofmt_clean(source))
    assert plain is not None and rewritten is not None
    # The same fix, byte for byte once the odd characters and CRs are taken out again.
    assert _without_odd(rewritten) == _without_odd(plain)
    changed = _changed_old_lines(source, rewritten)
    plain_changed = _changed_old_lines(case.before, plain)
    if source.count(b"\r\n") not in (0, source.count(b"\n")):
        # Mixed endings: an edit's new lines all end as the line it ends on, so a line it
        # rewrote as it was may still differ in its ending; nothing outside the edits does.
        low, high = plain_changed[0][0], plain_changed[-1][1]
        assert all(low <= start and end <= high for start, end in changed)
    else:
        # The same lines edited as on the plain file: nothing outside them moved or changed.
        assert changed == plain_changed
        # A file with one line ending keeps it on every line, new ones included.
        crlf = b"\r\n" in source
        for line in split_lines(rewritten):
            assert not line.endswith(b"\n") or line.endswith(b"\r\n") == crlf, line
    _assert_patch_applies(source, rewritten, tmp_path_factory.mktemp("apply"))


def _assert_patch_applies(source: bytes, rewritten: bytes, work: Path) -> None:
    target = work / "x.go"
    target.write_bytes(source)
    patch = (
        unified_diff(target, source, rewritten)
        .replace(f"a/{_relative(target)}", "a/x.go")
        .replace(f"b/{_relative(target)}", "b/x.go")
    )
    apply_patch(patch, work)
    assert target.read_bytes() == rewritten
    # What the interactive editor rebuilds from the same patch is the same file.
    assert apply_edits(source, edits_from_patch(source, patch)) == rewritten
    if shutil.which("git"):
        target.write_bytes(source)
        (work / "p.diff").write_bytes(patch.encode())
        applied = subprocess.run(
            ["git", "apply", "--whitespace=nowarn", "p.diff"], cwd=work, capture_output=True
        )
        assert applied.returncode == 0, applied.stderr
        assert target.read_bytes() == rewritten


def _relative(path: Path) -> str:
    from codemod.patch import display_path

    return display_path(path)


@pytest.mark.parametrize("odd", ODD)
def test_odd_character_in_a_comment_gives_a_correct_patch(odd: str, tmp_path: Path) -> None:
    before = f"package p\n\n// a{odd}b\nvar x = 1\n\nvar y = 2\n".encode()
    after = before.replace(b"var y = 2", b"var y = 3")
    patch = unified_diff(Path("x.go"), before, after)
    assert "No newline" not in patch
    assert "@@ -3,4 +3,4 @@" in patch  # five lines as git counts them; the change is line 6
    _assert_patch_applies(before, after, tmp_path)


CGO = b"""package p

// #include <stdlib.h>
import "C"

import "fmt"

func Free(p *C.char) { C.free(unsafe.Pointer(p)); fmt.Println() }
"""


@pytest.mark.parametrize(
    "source",
    [
        CGO,
        CGO.replace(b'import "fmt"', b'import (\n\t"fmt"\n)'),
        CGO.replace(b'\nimport "fmt"\n', b"").replace(b"; fmt.Println()", b""),
    ],
    ids=["cgo and one import", "cgo and a group", "cgo alone"],
)
def test_cgo_import_stays_a_declaration_of_its_own(source: bytes) -> None:
    parsed = parse_source(source)
    result = apply_edits(source, import_edits(parsed, ("context", "unsafe")))
    assert b'// #include <stdlib.h>\nimport "C"\n\n' in result
    assert result.count(b'"C"') == 1
    imports = [n for n in parse_source(result).root.named_children if "import" in n.type]
    assert imports[0].text == b'import "C"'
    for path in (b'"context"', b'"unsafe"'):
        assert path in result
    gofmt = shutil.which("gofmt")
    if gofmt:
        formatted = subprocess.run([gofmt], input=result, capture_output=True, check=True)
        assert formatted.stdout == result


@pytest.mark.skipif(not (shutil.which("go") and shutil.which("gcc")), reason="needs go and gcc")
def test_cgo_file_still_builds_after_an_import_is_added(tmp_path: Path) -> None:
    source = CGO.replace(b"func Free", b"var _ context.Context\n\nfunc Free")
    parsed = parse_source(source)
    (tmp_path / "p.go").write_bytes(apply_edits(source, import_edits(parsed, ("context",))))
    (tmp_path / "p.go").write_bytes(
        apply_edits(
            (tmp_path / "p.go").read_bytes(),
            import_edits(parse_source((tmp_path / "p.go").read_bytes()), ("unsafe",)),
        )
    )
    (tmp_path / "go.mod").write_text("module example.com/p\n\ngo 1.22\n")
    built = subprocess.run(
        ["go", "build", "./..."],
        cwd=tmp_path,
        capture_output=True,
        env={**__import__("os").environ, "CGO_ENABLED": "1", "GOFLAGS": "-mod=mod"},
        timeout=300,
    )
    assert built.returncode == 0, built.stderr.decode()


def test_crlf_file_gets_crlf_lines_and_its_patch_file_applies(tmp_path: Path) -> None:
    crlf = LEAKY.replace(b"\n", b"\r\n")
    module = make_module(tmp_path / "m", {"a.go": crlf})
    made = unleak("fix", "--patch-file", "../out.patch", ".", cwd=module)
    assert made.returncode == 1, made.stderr
    patch = (tmp_path / "out.patch").read_bytes()
    assert b"+\t\tdefer close(out)\r\n" in patch
    applied = unleak("apply", "../out.patch", cwd=module)
    assert applied.returncode == 0, applied.stderr
    written = (module / "a.go").read_bytes()
    assert b"defer close(out)" in written
    assert written.count(b"\n") == written.count(b"\r\n")  # no LF-only line
    assert written.replace(b"\r\n", b"\n").replace(b"\t\tdefer close(out)\n", b"", 1) == LEAKY


def test_diff_base_lines_are_counted_at_newlines_only() -> None:
    before = b"var a = 1 // x\ry\nvar c = 3\n"  # bytes.splitlines breaks at a lone CR
    after = before.replace(b"var c", b"var b = 2\nvar c")
    # Line 2 (`var c`) is line 3 after the insertion, however the comment above is spelt.
    assert carry_lines(before, after, frozenset({2})) == frozenset({3})


def test_sarif_replacements_cover_whole_lines() -> None:
    before = b"// a\rb\nvar x = 1\n"
    after = b"// a\rc\nvar x = 1\n"
    (replacement,) = byte_replacements(before, after)["replacements"]
    assert replacement["deletedRegion"] == {"byteOffset": 0, "byteLength": len(before) - 10}
    assert replacement["insertedContent"]["text"] == "// a\rc\n"


def test_editor_keeps_the_crlf_lines_of_a_hunk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VISUAL", "true")  # an editor that saves the file unchanged
    hunk = "@@ -1 +1 @@\n-var x = 1\r\n+var x = 2\r\n"
    assert hunk in run_editor(hunk)


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (
            'package p\r\n\r\nimport (\r\n\t"bytes"\r\n\t"fmt"\r\n)\r\n',
            'package p\r\n\r\nimport (\r\n\t"bytes"\r\n\t"context"\r\n\t"fmt"\r\n)\r\n',
        ),
        (
            'package p\r\n\r\nimport (\r\n\t"bytes"\r\n\r\n\t"example.com/x"\r\n)\r\n',
            'package p\r\n\r\nimport (\r\n\t"bytes"\r\n\t"context"\r\n'
            '\r\n\t"example.com/x"\r\n)\r\n',
        ),
        (
            'package p\r\n\r\nimport "fmt"\r\n',
            'package p\r\n\r\nimport (\r\n\t"context"\r\n\t"fmt"\r\n)\r\n',
        ),
    ],
    ids=["inside a run", "at the end of a run", "single import"],
)
def test_imports_added_to_a_crlf_file_end_in_crlf(before: str, expected: str) -> None:
    source = before.encode()
    edits = follow_line_endings(source, import_edits(parse_source(source), ("context",)))
    assert apply_edits(source, edits).decode() == expected


@pytest.mark.parametrize("odd", ODD)
def test_triage_shows_the_line_go_names(odd: str) -> None:
    source = f"package p\n\n// a{odd}b\nvar x = 1\n".encode()
    assert source_lines(source, 4, context=0) == [SourceLine(4, "var x = 1")]
