"""Fix time grows linearly with the findings in a file: counted in operations, not seconds.

Wall-clock ratios are unreliable on a loaded machine, so these count the work that used to be
quadratic (conflict checks between fixes, difflib's scans in the rendered diff);
benchmarks/bench_fix_scaling.py measures the seconds.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codemod import engine
from codemod.edits import conflicts
from codemod.go.parse import parse_source
from codemod.model import Edit, Finding, Fix, Position, Safety
from codemod.patch import unified_diff

FUNCTION = """
// Down{i} pings a dependency within five seconds.
func Down{i}(parent context.Context, ping func(context.Context) error) bool {{
\tctx, _ := context.WithTimeout(parent, 5*time.Second)
\treturn ping(ctx) != nil
}}
"""


def _finding(edit: Edit) -> Finding:
    where = Position(1, 1)
    fix = Fix((edit,), "fix")
    return Finding("lost-cancel", Path("x.go"), where, where, "leak", Safety.SAFE, fix)


@pytest.mark.parametrize("count", [500, 2000])
def test_choosing_fixes_checks_each_against_its_neighbours_only(
    count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = 0

    def counted(first: Edit, second: Edit) -> bool:
        nonlocal calls
        calls += 1
        return conflicts(first, second)

    monkeypatch.setattr(engine, "conflicts", counted)
    findings = [_finding(Edit(10 * i, 10 * i + 5, "x")) for i in range(count)]
    accepted, chosen, _ = engine.choose_fixes(findings, Safety.SAFE, parse_source(b"package p\n"))
    assert len(accepted) == count and len(chosen) == count
    assert calls <= 4 * count  # all pairs would be count * (count - 1) / 2


@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 6), st.sampled_from(["a", "b"])),
        max_size=40,
    )
)
def test_neighbour_check_agrees_with_checking_every_accepted_edit(
    candidates: list[tuple[int, int, str]],
) -> None:
    taken = engine._TakenRanges()
    accepted: list[Edit] = []
    for start, length, text in candidates:
        edit = Edit(start, start + length, text)
        expected = any(conflicts(edit, other) for other in accepted)
        assert taken.conflicts_with(edit) == expected
        if not expected:
            accepted.append(edit)
            taken.add([edit])


def test_rendered_diff_scans_grow_linearly(monkeypatch: pytest.MonkeyPatch) -> None:
    scanned = 0
    find_longest_match = difflib.SequenceMatcher.find_longest_match

    def counted(
        self: difflib.SequenceMatcher[str], alo: int = 0, ahi: int | None = None, *args: int
    ) -> difflib.Match:
        nonlocal scanned
        scanned += (len(self.a) if ahi is None else ahi) - alo
        return find_longest_match(self, alo, ahi, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(difflib.SequenceMatcher, "find_longest_match", counted)
    per_size = {}
    for count in (200, 800):
        before = "package p\n" + "".join(FUNCTION.format(i=i) for i in range(count))
        after = before.replace("ctx, _ :=", "ctx, cancel :=").replace(
            "\treturn ping", "\tdefer cancel()\n\treturn ping"
        )
        scanned = 0
        assert unified_diff(Path("x.go"), before.encode(), after.encode())
        per_size[count] = scanned
    assert per_size[800] <= 6 * per_size[200]  # 4x the lines; quadratic would be 16x
