"""The expectation helpers the fixture tests stand on: markers, goldens and their updates."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codemod.model import Finding, Position, Safety
from tests.expectations import (
    MarkerError,
    Want,
    against_golden,
    against_markers,
    carry_markers,
    golden_lines,
    read_markers,
    with_marker_safeties,
)

SOURCE = b"""package p

func f(ch chan int) {
	ch <- 1 // want "ctx-done-arm:safe"
	ch <- 2 // want "ctx-done-arm:review" "lost-cancel:report-only"
	ch <- 3
}
"""


def _finding(
    line: int, safety: Safety, transform_id: str = "ctx-done-arm", message: str = "m"
) -> Finding:
    return Finding(
        transform_id, Path("before.go"), Position(line, 2), Position(line, 9), message, safety
    )


def test_markers_name_transform_and_safety() -> None:
    assert read_markers(SOURCE) == [
        Want(4, "ctx-done-arm", Safety.SAFE),
        Want(5, "ctx-done-arm", Safety.REVIEW),
        Want(5, "lost-cancel", Safety.REPORT_ONLY),
    ]


def test_a_marker_without_safety_is_unpinned() -> None:
    wants = read_markers(b'\tx() // want "lost-cancel"\n')
    assert wants == [Want(1, "lost-cancel", None)]
    [problem] = against_markers(wants, [_finding(1, Safety.SAFE, "lost-cancel")])
    assert problem.kind == "Unpinned" and '"lost-cancel:safe"' in problem.detail


def test_an_unknown_safety_is_refused() -> None:
    with pytest.raises(MarkerError, match="line 1"):
        read_markers(b'x() // want "lost-cancel:sure"\n')


def test_markers_tell_missing_noisy_and_wrong_safety() -> None:
    findings = [
        _finding(4, Safety.REVIEW),  # demoted
        _finding(6, Safety.SAFE),  # no marker
        _finding(5, Safety.REPORT_ONLY, "lost-cancel"),
    ]  # ctx-done-arm on line 5 is gone
    problems = against_markers(read_markers(SOURCE), findings)
    assert [(p.kind, p.line) for p in problems] == [
        ("Wrong safety", 4),
        ("Missing", 5),
        ("Noisy", 6),
    ]


def test_golden_tells_wrong_message_from_wrong_safety() -> None:
    expected = golden_lines([_finding(4, Safety.SAFE), _finding(5, Safety.SAFE)], "before.go")
    actual = golden_lines(
        [_finding(4, Safety.SAFE, message="new"), _finding(5, Safety.REVIEW)], "before.go"
    )
    assert [(p.kind, p.line) for p in against_golden(expected, actual)] == [
        ("Wrong message", 4),
        ("Wrong safety", 5),
    ]


@given(st.lists(st.tuples(st.integers(4, 6), st.sampled_from(list(Safety))), max_size=6))
def test_golden_of_a_run_matches_itself(found: list[tuple[int, Safety]]) -> None:
    lines = golden_lines([_finding(line, safety) for line, safety in found], "before.go")
    assert against_golden(lines, lines) == []
    assert len(lines) == len(found)


@given(st.sampled_from(list(Safety)), st.sampled_from(list(Safety)))
def test_update_pins_the_reported_safety(first: Safety, second: Safety) -> None:
    findings = [
        _finding(4, first),
        _finding(5, second),
        _finding(5, Safety.REPORT_ONLY, "lost-cancel"),
    ]
    pinned = with_marker_safeties(SOURCE, findings)
    assert against_markers(read_markers(pinned), findings) == []
    assert pinned.replace(b"\t", b"").count(b"// want") == 2  # no marker added or removed


def test_update_carries_markers_into_after() -> None:
    after = SOURCE.replace(b"\tch <- 1", b"\tselect {\n\tcase ch <- 1:").replace(
        b"\tch <- 3", b'\tch <- 3 // want "ctx-done-arm:safe"'
    )
    pinned = with_marker_safeties(SOURCE, [_finding(4, Safety.REVIEW)])
    carried = carry_markers(SOURCE, pinned, after)
    assert b'case ch <- 1: // want "ctx-done-arm:review"' in carried
    # A marker with no counterpart in before.go (line 7 here) is left alone.
    assert b'ch <- 3 // want "ctx-done-arm:safe"' in carried
