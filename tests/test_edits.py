"""Properties of the edit engine and the rendered patch."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemod.edits import OverlappingEdits, apply_edits, conflicts, normalize
from codemod.model import Edit
from codemod.patch import unified_diff

SOURCE_TEXT = st.text(alphabet="ab\n\tç{}", min_size=0, max_size=60)


@st.composite
def source_and_disjoint_edits(draw: st.DrawFn) -> tuple[bytes, list[Edit]]:
    source = draw(SOURCE_TEXT).encode()
    cuts = sorted(draw(st.lists(st.integers(0, len(source)), max_size=8)))
    edits = []
    # Pair consecutive cut points into disjoint ranges; keep one insertion per point at most.
    for start, end in zip(cuts[::2], cuts[1::2], strict=False):
        if edits and edits[-1].end == start and edits[-1].start == start:
            continue
        edits.append(Edit(start, end, draw(st.text(alphabet="xy\n", max_size=5))))
    edits = [e for i, e in enumerate(edits) if i == 0 or not conflicts(edits[i - 1], e)]
    return source, edits


@given(source_and_disjoint_edits(), st.randoms())
def test_disjoint_edits_apply_the_same_in_any_order(
    case: tuple[bytes, list[Edit]], shuffler: random.Random
) -> None:
    source, edits = case
    shuffled = list(edits)
    shuffler.shuffle(shuffled)
    assert apply_edits(source, shuffled) == apply_edits(source, edits)


@given(source_and_disjoint_edits())
def test_text_outside_edits_is_kept(case: tuple[bytes, list[Edit]]) -> None:
    source, edits = case
    result = apply_edits(source, edits)
    kept = sum(e.end - e.start for e in edits)
    added = sum(len(e.text.encode()) for e in edits)
    assert len(result) == len(source) - kept + added
    if edits:
        assert result.startswith(source[: min(e.start for e in edits)])
        assert result.endswith(source[max(e.end for e in edits) :])


@given(st.integers(0, 20), st.integers(0, 20), st.integers(1, 10), st.integers(1, 10))
def test_overlapping_edits_are_rejected(a: int, b: int, len_a: int, len_b: int) -> None:
    first, second = Edit(a, a + len_a, "x"), Edit(b, b + len_b, "y")
    if a < b + len_b and b < a + len_a:
        with pytest.raises(OverlappingEdits):
            normalize([first, second])
    else:
        assert normalize([first, second]) == sorted([first, second])


def test_two_insertions_at_one_point_conflict() -> None:
    with pytest.raises(OverlappingEdits):
        normalize([Edit(3, 3, "a"), Edit(3, 3, "b")])
    assert normalize([Edit(3, 3, "a"), Edit(3, 3, "a")]) == [Edit(3, 3, "a")]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    before=st.lists(st.sampled_from(["a", "b", "\tc", "", "d e"]), max_size=12),
    after=st.lists(st.sampled_from(["a", "b", "\tc", "", "x"]), max_size=12),
    trailing_newline=st.tuples(st.booleans(), st.booleans()),
)
def test_rendered_diff_applied_by_git_gives_the_rewrite(
    tmp_path: Path, before: list[str], after: list[str], trailing_newline: tuple[bool, bool]
) -> None:
    old = "\n".join(before) + ("\n" if trailing_newline[0] and before else "")
    new = "\n".join(after) + ("\n" if trailing_newline[1] and after else "")
    target = tmp_path / "x.go"
    target.write_text(old)
    patch = unified_diff(Path("x.go"), old.encode(), new.encode())
    if old == new:
        assert patch == ""
        return
    subprocess.run(
        ["git", "apply", "--unsafe-paths", "-"],
        input=patch.encode(),
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    assert target.read_text() == new
