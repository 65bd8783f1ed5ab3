"""semaphore-outside-go beyond the fixtures: the x/sync rewrite is `review` only,
where the acquire goes, and the shapes that are reported without a fix or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.gomod import parse_gomod
from codemod.model import Safety
from tests.conftest import FIXTURES, run_codemod

GO_122 = parse_gomod("module example\n\ngo 1.22\n", Path("go.mod"))
ID = "semaphore-outside-go"
REVIEW_CASE = FIXTURES / ID / "weighted-fill-wait"


def _file(body: str, imports: str = '"sync"') -> bytes:
    return f"package example\n\nimport {imports}\n\nvar _ sync.Mutex\n\n{body}".encode()


def _findings(source: bytes) -> list[Safety]:
    return [f.safety for f in run_codemod(source, GO_122, select=ID, unsafe=True).findings]


def _rewrite(source: bytes, unsafe: bool = False) -> str:
    result = run_codemod(source, GO_122, select=ID, unsafe=unsafe)
    return (result.rewritten or source).decode()


WITH_WAITGROUP = """func Run(jobs []func()) {
	sem := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for _, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			job()
		}()
	}
	wg.Wait()
}
"""


def test_the_slot_is_taken_before_the_waitgroup_add() -> None:
    rewritten = _rewrite(_file(WITH_WAITGROUP))
    assert "\t\tsem <- struct{}{}\n\t\twg.Add(1)\n\t\tgo func() {\n\t\t\tdefer wg.Done()\n" in (
        rewritten
    )
    assert rewritten.count("sem <- struct{}{}") == 1


def test_weighted_semaphore_is_a_review_fix() -> None:
    before = (REVIEW_CASE / "before.go").read_bytes()
    module = parse_gomod((REVIEW_CASE / "go.mod").read_text(), REVIEW_CASE / "go.mod")
    assert [f.safety for f in run_codemod(before, module, select=ID).findings] == [Safety.REVIEW]
    assert run_codemod(before, module, select=ID).rewritten is None
    after = run_codemod(before, module, select=ID, unsafe=True).rewritten
    assert after is not None
    assert after.decode() == (REVIEW_CASE / "after.go").read_text()
    again = run_codemod(after, module, select=ID, unsafe=True)
    assert again.rewritten is None and not again.findings


WEIGHTED = """func Run(ctx context.Context, jobs []func()) {
	sem := semaphore.NewWeighted(2)
	for _, job := range jobs {
		LOOP_HEAD
		go func() {
			if err := sem.Acquire(ctx, 1); err != nil {
				ON_ERROR
			}
			defer sem.Release(1)
			job()
		}()
		LOOP_TAIL
	}
}
"""
WEIGHTED_IMPORTS = '(\n\t"context"\n\t"sync"\n\n\t"golang.org/x/sync/semaphore"\n)'


def _weighted(on_error: str = "return", head: str = "", tail: str = "") -> bytes:
    body = WEIGHTED.replace("ON_ERROR", on_error).replace("LOOP_HEAD", head)
    return _file(body.replace("LOOP_TAIL", tail), WEIGHTED_IMPORTS)


@pytest.mark.parametrize("on_error", ["println(err.Error())\n\t\t\t\treturn", "panic(err)"])
def test_weighted_error_handled_otherwise_is_report_only(on_error: str) -> None:
    assert _findings(_weighted(on_error=on_error)) == [Safety.REPORT_ONLY]


def test_weighted_error_ignored_is_report_only() -> None:
    source = _weighted().replace(
        b"if err := sem.Acquire(ctx, 1); err != nil {\n\t\t\t\treturn\n\t\t\t}",
        b"_ = sem.Acquire(ctx, 1)",
    )
    assert b"_ = sem.Acquire" in source
    assert _findings(source) == [Safety.REPORT_ONLY]


def test_weighted_inside_a_select_case_is_report_only() -> None:
    source = (
        _weighted()
        .replace(b"\t\tgo func() {", b"\t\tselect {\n\t\tdefault:\n\t\tgo func() {")
        .replace(b"\t\t}()\n\t\t\n", b"\t\t}()\n\t\t}\n")
    )
    assert _findings(source) == [Safety.REPORT_ONLY]


LOOP = """func Run(items []string, work func(string) int) []int {
	sem := make(chan struct{}, 3)
	PREAMBLE
	for _, item := range items {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			BODY
		}()
	}
	AFTER
	return nil
}
"""


def _loop(body: str, preamble: str = "", after: str = "") -> bytes:
    code = LOOP.replace("BODY", body).replace("PREAMBLE", preamble).replace("AFTER", after)
    return _file(code)


def test_send_on_a_channel_buffered_for_every_item_keeps_the_fix() -> None:
    source = _loop("out <- work(item)", preamble="out := make(chan int, len(items))")
    assert _findings(source) == [Safety.SAFE]


@pytest.mark.parametrize(
    ("body", "preamble", "after"),
    [
        ("out <- work(item)", "out := make(chan int)", "<-out"),
        ("out <- work(item)", "out := make(chan int, 3)", "<-out"),
        ("report(out, work(item))", "out := make(chan int)", "<-out"),
        ("mu.Lock()\n\t\t\twork(item)\n\t\t\tmu.Unlock()", "var mu sync.Mutex\n\tmu.Lock()", ""),
        ("wg.Wait()", "var wg sync.WaitGroup", ""),
        ("select {\n\t\t\tcase <-stop:\n\t\t\t}", "stop := make(chan int)", ""),
        ("emit(work(item))", "out := make(chan int)\n\temit := func(n int) { out <- n }", ""),
    ],
    ids=["unbuffered", "small-buffer", "handed-on", "held-lock", "wait", "select", "closure"],
)
def test_a_goroutine_that_may_wait_for_the_loop_is_report_only(
    body: str, preamble: str, after: str
) -> None:
    assert _findings(_loop(body, preamble, after)) == [Safety.REPORT_ONLY]


def test_a_lock_released_before_the_loop_keeps_the_fix() -> None:
    source = _loop(
        "mu.Lock()\n\t\t\twork(item)\n\t\t\tmu.Unlock()",
        preamble="var mu sync.Mutex\n\tmu.Lock()\n\tmu.Unlock()",
    )
    assert _findings(source) == [Safety.SAFE]


@pytest.mark.parametrize(
    "source",
    [
        _loop("work(item)").replace(b"make(chan struct{}, 3)", b"make(chan struct{})"),
        _loop("work(item)").replace(b"sem <- struct{}{}", b"sem <- token()"),
        _loop("work(item)").replace(b"\t\t\tdefer func() { <-sem }()\n", b""),
        _loop("work(item)").replace(b"for _, item := range items {", b"{\n\t\titem := items[0]"),
    ],
    ids=["unbuffered-semaphore", "token-with-effects", "no-release", "no-loop"],
)
def test_not_the_idiom(source: bytes) -> None:
    assert _findings(source) == []


def test_a_semaphore_used_otherwise_in_the_goroutine_is_report_only() -> None:
    source = _loop("work(item)\n\t\t\t_ = len(sem)")
    assert _findings(source) == [Safety.REPORT_ONLY]


def test_a_plain_release_on_every_path_stays_plain() -> None:
    body = 'if item == "" {\n\t\t\t\t<-sem\n\t\t\t\treturn\n\t\t\t}\n\t\t\twork(item)\n\t\t\t<-sem'
    source = _loop(body).replace(b"\t\t\tdefer func() { <-sem }()\n", b"")
    rewritten = _rewrite(source)
    assert "defer func() { <-sem }()" not in rewritten
    assert rewritten.count("<-sem") == 2
    assert "\t\tsem <- struct{}{}\n\t\tgo func() {\n" in rewritten


def test_a_channel_buffered_for_an_int_range_keeps_the_fix() -> None:
    source = _loop("out <- work(item)", preamble="out := make(chan int, n)").replace(
        b"for _, item := range items {", b"for item := range n {"
    )
    source = source.replace(b"func Run(items []string,", b"func Run(n int,")
    source = source.replace(b"work func(string) int", b"work func(int) int")
    assert _findings(source) == [Safety.SAFE]


def test_weighted_break_before_the_waitgroup_add_keeps_the_count() -> None:
    source = _weighted(head="wg.Add(1)").replace(
        b"\t\t\tdefer sem.Release(1)", b"\t\t\tdefer wg.Done()\n\t\t\tdefer sem.Release(1)"
    )
    source = source.replace(b"sem := semaphore", b"var wg sync.WaitGroup\n\tsem := semaphore")
    assert _findings(source) == [Safety.REVIEW]
    assert (
        "\t\tif err := sem.Acquire(ctx, 1); err != nil {\n\t\t\tbreak\n\t\t}\n\t\twg.Add(1)\n"
        in (_rewrite(source, unsafe=True))
    )


def test_weighted_break_with_the_count_taken_before_the_loop_is_report_only() -> None:
    source = _weighted().replace(
        b"\t\t\tdefer sem.Release(1)", b"\t\t\tdefer wg.Done()\n\t\t\tdefer sem.Release(1)"
    )
    source = source.replace(
        b"sem := semaphore", b"var wg sync.WaitGroup\n\twg.Add(len(jobs))\n\tsem := semaphore"
    )
    assert _findings(source) == [Safety.REPORT_ONLY]
