"""`fix --report-unused-ignores` deletes `//unleak:ignore` comments silencing nothing (RUF100)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from codemod.engine import RunOptions, process_file
from tests.cli_support import LEAKY, make_module, unleak
from tests.conftest import FIXTURES

STALE = b"""package p

import "context"

//unleak:ignore close-producer-channel stale

func F() {} //unleak:ignore lost-cancel also stale

func Numbers(n int) <-chan int {
\tout := make(chan int)
\t//unleak:ignore close-producer-channel,lost-cancel the consumer drains it
\tgo func() {
\t\tfor i := 0; i < n; i++ {
\t\t\tout <- i
\t\t}
\t}()
\treturn out
}

func G(ctx context.Context) {
\t_ = ctx
}
"""

CLEANED = b"""package p

import "context"

func F() {}

func Numbers(n int) <-chan int {
\tout := make(chan int)
\t//unleak:ignore close-producer-channel the consumer drains it
\tgo func() {
\t\tfor i := 0; i < n; i++ {
\t\t\tout <- i
\t\t}
\t}()
\treturn out
}

func G(ctx context.Context) {
\t_ = ctx
}
"""


def test_fix_deletes_unused_ignores_and_unused_ids(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": STALE})
    result = unleak("fix", "--write", "--report-unused-ignores", ".", cwd=module)
    assert result.returncode == 0, result.stderr
    assert (module / "a.go").read_bytes() == CLEANED
    after = unleak("scan", "--report-unused-ignores", ".", cwd=module)
    assert (after.returncode, after.stdout) == (0, "")


def test_without_the_flag_fix_leaves_the_comments(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": STALE})
    unleak("fix", "--write", ".", cwd=module)
    assert (module / "a.go").read_bytes() == STALE


@pytest.mark.skipif(shutil.which("gofmt") is None, reason="needs gofmt")
def test_the_result_is_gofmt_clean(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": STALE})
    unleak("fix", "--write", "--report-unused-ignores", "--no-gofmt", ".", cwd=module)
    assert (module / "a.go").read_bytes() != STALE
    listed = subprocess.run(["gofmt", "-l", "."], cwd=module, capture_output=True, text=True)
    assert (listed.returncode, listed.stdout) == (0, "")


def test_a_leak_fix_and_a_comment_deletion_land_in_one_run(tmp_path: Path) -> None:
    source = LEAKY.replace(b"\tgo func() {", b"\t//unleak:ignore lost-cancel stale\n\tgo func() {")
    module = make_module(tmp_path, {"a.go": source})
    result = unleak("fix", "--write", "--report-unused-ignores", ".", cwd=module)
    assert result.returncode == 0, result.stderr
    fixed = (module / "a.go").read_bytes()
    assert b"unleak:ignore" not in fixed and b"defer close(out)" in fixed


def test_ids_that_did_not_run_are_kept(tmp_path: Path) -> None:
    source = b"package p\n\n//unleak:ignore close-producer-channel,lost-cancel why\nfunc F() {}\n"
    module = make_module(tmp_path, {"a.go": source})
    args = ("fix", "--write", "--report-unused-ignores", "--select", "close-producer-channel")
    assert unleak(*args, ".", cwd=module).returncode == 0
    assert (module / "a.go").read_bytes() == source.replace(b"close-producer-channel,", b"")


def test_an_unknown_id_is_reported_not_deleted(tmp_path: Path) -> None:
    source = b"package p\n\n//unleak:ignore lost_cancel why\nfunc F() {}\n"
    module = make_module(tmp_path, {"a.go": source})
    result = unleak("fix", "--write", "--report-unused-ignores", ".", cwd=module)
    assert result.returncode == 1
    assert (module / "a.go").read_bytes() == source


_PLAIN_FIXTURES = [
    before
    for before in sorted(FIXTURES.glob("*/*/before.go"))
    if b"`" not in before.read_bytes() and b"/*" not in before.read_bytes()
]
_SELECTED = "time-tick-leak"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before=st.sampled_from(_PLAIN_FIXTURES), where=st.integers(min_value=1), data=st.data())
def test_deleting_an_inserted_unused_ignore_restores_the_file(
    tmp_path: Path, before: Path, where: int, data: st.DataObject
) -> None:
    original = before.read_bytes()
    lines = original.splitlines(keepends=True)
    index = 2 + where % max(1, len(lines) - 2)  # below the package clause
    assume(index < len(lines))
    indent = data.draw(st.sampled_from([b"", b"\t", b"\t\t"]))
    trailing = data.draw(st.booleans())
    comment = b"//unleak:ignore " + _SELECTED.encode() + b" stale"
    if trailing:
        line = lines[index - 1]
        assume(line.strip() and b"//" not in line)
        lines[index - 1] = line.rstrip(b"\n") + b" " + comment + b"\n"
    else:
        lines.insert(index, indent + comment + b"\n")
    options = RunOptions(
        select=frozenset({_SELECTED}), fix=True, report_unused_ignores=True, use_gofmt=False
    )
    plain = make_module(tmp_path / "plain", {"x.go": original})
    assume(not process_file(plain / "x.go", options).findings)  # nothing for it to silence
    module = make_module(tmp_path / "m", {"x.go": b"".join(lines)})
    result = process_file(module / "x.go", options)
    assert result.rewritten == original
