"""Properties of the two patch readers: hand-edited hunks (fix -i, e) and `unleak apply`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from codemod.applypatch import plan
from codemod.edits import apply_edits
from codemod.hunks import edits_from_patch
from codemod.patch import unified_diff

LINES = st.lists(st.sampled_from(["a", "b", "c", "\tgo f()", "}", "", "é"]), max_size=12)


def source(lines: list[str], final_newline: bool) -> bytes:
    text = "\n".join(lines)
    return (text + "\n" if final_newline and lines else text).encode()


@settings(max_examples=200, deadline=None)
@given(LINES, LINES, st.booleans(), st.booleans())
def test_edits_from_a_diff_rebuild_the_new_file(
    old: list[str], new: list[str], old_nl: bool, new_nl: bool
) -> None:
    before, after = source(old, old_nl), source(new, new_nl)
    diff = unified_diff(Path("x.go"), before, after)
    if not diff:
        return
    assert apply_edits(before, edits_from_patch(before, diff)) == after


@settings(max_examples=200, deadline=None)
@given(LINES, LINES, st.booleans(), st.booleans())
def test_apply_plans_exactly_the_new_file(
    old: list[str], new: list[str], old_nl: bool, new_nl: bool
) -> None:
    before, after = source(old, old_nl), source(new, new_nl)
    with tempfile.TemporaryDirectory() as directory:
        base = Path(directory)
        (base / "x.go").write_bytes(before)
        diff = unified_diff(base / "x.go", before, after, created=False)
        if not diff:
            return
        # unified_diff names files relative to the current directory; re-root them on base.
        name = diff.split(" ", 3)[2].removeprefix("a/")
        diff = diff.replace(f"a/{name}", "a/x.go").replace(f"b/{name}", "b/x.go")
        (write,) = plan(diff, base)
        assert write.new == after


def test_comment_lines_and_stripped_blank_context_are_tolerated() -> None:
    before = b"package p\n\nfunc f() {\n\tgo g()\n}\n"
    diff = (
        "# Manual hunk edit mode\n"
        "@@ -1,5 +1,6 @@\n"
        " package p\n"
        "\n"  # an editor trimmed the blank context line's leading space
        " func f() {\n"
        "+\t// edited\n"
        " \tgo g()\n"
        " }\n"
        "# guide\n"
    )
    edited = apply_edits(before, edits_from_patch(before, diff))
    assert edited == b"package p\n\nfunc f() {\n\t// edited\n\tgo g()\n}\n"
