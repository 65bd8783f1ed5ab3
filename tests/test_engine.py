"""Engine behaviour across transforms: which fix wins where two transforms see one leak."""

from __future__ import annotations

from pathlib import Path

from codemod.gomod import parse_gomod
from tests.conftest import run_codemod

MODULE = parse_gomod("module example\n\ngo 1.22\n", Path("go.mod"))

ORPHANED_RESULT = b"""package p

import "context"

func fetch() int { return 1 }

func Get(ctx context.Context) (int, error) {
\tch := make(chan int)
\tgo func() {
\t\tch <- fetch()
\t}()
\tselect {
\tcase v := <-ch:
\t\treturn v, nil
\tcase <-ctx.Done():
\t\treturn 0, ctx.Err()
\t}
}
"""


def test_specific_fix_wins_and_the_general_one_is_not_stacked_on_it() -> None:
    result = run_codemod(ORPHANED_RESULT, MODULE, unsafe=True)
    found = {f.transform_id for f in result.findings}
    assert {"buffer-orphaned-result", "ctx-done-arm"} <= found  # both see the leak
    assert [f.transform_id for f in result.applied] == ["buffer-orphaned-result"]
    assert result.rewritten is not None
    assert b"make(chan int, 1)" in result.rewritten
    assert b"select {\n\t\tcase ch <- fetch()" not in result.rewritten
    assert run_codemod(result.rewritten, MODULE, unsafe=True).rewritten is None
