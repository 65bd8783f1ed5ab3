"""Fixes made in a later fix round count as applied for the finding reported (issue 20 item 7)."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from codemod.rounds import original_lines
from tests.cli_support import make_module, unleak

# close-producer-channel is fixed in the first round; ctx-done-arm, in the same function,
# waits for the second (one transform per declaration and round), at lines that moved.
TWO_ROUNDS = b"""package p

import (
\t"context"
\t"time"
)

func Numbers(parent context.Context, n int) <-chan int {
\tctx, _ := context.WithTimeout(parent, time.Second)
\tout := make(chan int)
\tgo func() {
\t\tfor i := 0; i < n; i++ {
\t\t\tout <- i
\t\t}
\t\t_ = ctx
\t}()
\treturn out
}

func Sum(n int) int {
\ttotal := 0
\tfor v := range Numbers(context.Background(), n) {
\t\ttotal += v
\t}
\treturn total
}
"""


def test_a_fix_of_a_later_round_is_applied_in_the_json_report(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": TWO_ROUNDS})
    report = json.loads(unleak("fix", "--format", "json", ".", cwd=module).stdout)
    applied = {(f["id"], f["line"]) for f in report["findings"] if f["applied"]}
    assert ("ctx-done-arm", 13) in applied and ("close-producer-channel", 11) in applied
    assert len(applied) == report["summary"]["fixes_applied"] == 2
    patch = unleak("fix", ".", cwd=module).stdout
    assert "+\t\t\tcase <-ctx.Done():" in patch and "+\t\tdefer close(out)" in patch


lines = st.lists(st.sampled_from([b"a", b"b", b"}", b"\tx := 1", b""]), max_size=30)


@given(lines, lines)
def test_original_lines_name_only_lines_that_agree(old: list[bytes], new: list[bytes]) -> None:
    before, after = b"\n".join(old), b"\n".join(new)
    spans = original_lines(before, after)
    old_lines, new_lines = before.splitlines(), after.splitlines()
    assert len(spans) == len(new_lines) + 1
    for line, (low, high) in enumerate(spans[1:], start=1):
        assert 0 <= low <= high <= len(old_lines) + 1
        if low == high:  # only where the two agree
            assert old_lines[low - 1] == new_lines[line - 1]
    lows = [low for low, _ in spans]
    assert lows == sorted(lows)
