"""waitgroup-misuse beyond the fixtures: how the WaitGroup is recognised, which exits count
as skipping Done, and the shapes reported without a fix or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.gomod import parse_gomod
from codemod.model import Safety
from tests.conftest import run_codemod

GO_122 = parse_gomod("module example\n\ngo 1.22\n", Path("go.mod"))
ID = "waitgroup-misuse"


def _file(body: str, imports: str = '"sync"') -> bytes:
    return f"package example\n\nimport {imports}\n\n{body}".encode()


def _findings(source: bytes) -> list[Safety]:
    return [f.safety for f in run_codemod(source, GO_122, select=ID, unsafe=True).findings]


def _rewrite(source: bytes) -> str:
    result = run_codemod(source, GO_122, select=ID)
    return (result.rewritten or source).decode()


ADD_INSIDE = """func Run(jobs []func()) {
	DECLARE
	for _, job := range jobs {
		go func() {
			WG.Add(1)
			defer WG.Done()
			job()
		}()
	}
	WG.Wait()
}
"""


@pytest.mark.parametrize(
    "declare",
    [
        "var wg sync.WaitGroup",
        "wg := &sync.WaitGroup{}",
        "wg := sync.WaitGroup{}",
        "wg := new(sync.WaitGroup)",
        "var wg = new(sync.WaitGroup)",
    ],
)
def test_add_inside_is_moved_for_every_waitgroup_declaration(declare: str) -> None:
    source = _file(ADD_INSIDE.replace("DECLARE", declare).replace("WG", "wg"))
    rewritten = _rewrite(source)
    assert "\t\twg.Add(1)\n\t\tgo func() {\n\t\t\tdefer wg.Done()\n" in rewritten


def test_a_renamed_sync_import_is_followed() -> None:
    body = ADD_INSIDE.replace("DECLARE", "var wg gosync.WaitGroup").replace("WG", "wg")
    assert _findings(_file(body, 'gosync "sync"')) == [Safety.SAFE]


@pytest.mark.parametrize(
    "declare",
    ["var wg Group", "wg := newGroup()", "var wg interface{ Add(int); Done(); Wait() }"],
)
def test_a_name_alone_is_not_a_waitgroup(declare: str) -> None:
    body = ADD_INSIDE.replace("DECLARE", declare).replace("WG", "wg")
    assert _findings(_file(body + "\ntype Group struct{ sync.WaitGroup }\n")) == []


def test_a_waitgroup_parameter_is_moved_under_its_outer_name() -> None:
    body = """func Run(jobs []func()) {
	var group sync.WaitGroup
	for _, job := range jobs {
		go func(wg *sync.WaitGroup) {
			wg.Add(1)
			defer wg.Done()
			job()
		}(&group)
	}
	group.Wait()
}
"""
    rewritten = _rewrite(_file(body))
    assert "\t\tgroup.Add(1)\n\t\tgo func(wg *sync.WaitGroup) {\n\t\t\tdefer wg.Done()\n" in (
        rewritten
    )


def test_a_struct_field_from_another_file_is_not_trusted() -> None:
    body = """func (s *Server) Run(jobs []func()) {
	for _, job := range jobs {
		go func() {
			s.wg.Add(1)
			defer s.wg.Done()
			job()
		}()
	}
}
"""
    assert _findings(_file(body)) == []
    assert _findings(_file(body + "\ntype Server struct{ wg *sync.WaitGroup }\n")) == [Safety.SAFE]


def test_add_of_a_computed_count_is_report_only() -> None:
    body = ADD_INSIDE.replace("DECLARE", "var wg sync.WaitGroup").replace("WG", "wg")
    source = _file(body.replace("wg.Add(1)", "wg.Add(len(jobs))"))
    assert _findings(source) == [Safety.REPORT_ONLY]


def test_a_goroutine_started_in_another_function_is_left_alone() -> None:
    body = """func Run(jobs []func()) {
	var wg sync.WaitGroup
	start := func(job func()) {
		go func() {
			wg.Add(1)
			defer wg.Done()
			job()
		}()
	}
	for _, job := range jobs {
		start(job)
	}
	wg.Wait()
}
"""
    assert _findings(_file(body)) == []


DONE = """func Run(items []int, f func(int) bool) {
	var wg sync.WaitGroup
	for _, item := range items {
		wg.Add(1)
		go func() {
BODY
		}()
	}
	wg.Wait()
}
"""


def _done(body: str) -> bytes:
    return _file(DONE.replace("BODY", body))


@pytest.mark.parametrize(
    "body",
    [
        # Done on both branches of an if/else, then the end.
        "\t\t\tif f(item) {\n\t\t\t\twg.Done()\n\t\t\t} else {\n\t\t\t\twg.Done()\n\t\t\t}",
        # An endless loop left only through returns that call Done first.
        "\t\t\tfor {\n\t\t\t\tif f(item) {\n\t\t\t\t\twg.Done()\n"
        "\t\t\t\t\treturn\n\t\t\t\t}\n\t\t\t}",
        # A panic is not a return: out of scope.
        "\t\t\tif !f(item) {\n\t\t\t\tpanic(item)\n\t\t\t}\n\t\t\twg.Done()",
    ],
    ids=["both-branches", "endless-loop", "panic"],
)
def test_no_exit_skips_done(body: str) -> None:
    assert _findings(_done(body)) == []


@pytest.mark.parametrize(
    "body",
    [
        "\t\t\tfor {\n\t\t\t\tif f(item) {\n\t\t\t\t\tbreak\n\t\t\t\t}\n\t\t\t}\n\t\t\twg.Done()",
        "\t\t\tif f(item) {\n\t\t\t\tgoto end\n\t\t\t}\n"
        "\t\t\tprintln(item)\n\t\tend:\n\t\t\twg.Done()",
    ],
    ids=["loop-break", "goto"],
)
def test_paths_we_cannot_follow_are_left_alone(body: str) -> None:
    assert _findings(_done(body)) == []


def test_an_else_without_done_is_a_skip() -> None:
    body = "\t\t\tif f(item) {\n\t\t\t\tprintln(item)\n\t\t\t\twg.Done()\n\t\t\t} else {\n"
    body += "\t\t\t\tprintln(-item)\n\t\t\t}"
    rewritten = _rewrite(_done(body))
    assert "\t\tgo func() {\n\t\t\tdefer wg.Done()\n\t\t\tif f(item) {" in rewritten
    assert rewritten.count("wg.Done()") == 1


def test_a_trailing_comment_moves_with_done() -> None:
    body = "\t\t\tif !f(item) {\n\t\t\t\treturn\n\t\t\t}\n\t\t\twg.Done() // finished"
    assert "\t\t\tdefer wg.Done() // finished\n" in _rewrite(_done(body))


@pytest.mark.parametrize(
    "deferred",
    ["defer func() { results <- item }()", "defer flush()"],
)
def test_a_defer_that_may_block_keeps_done_first(deferred: str) -> None:
    body = f"\t\t\t{deferred}\n\t\t\tif !f(item) {{\n\t\t\t\treturn\n\t\t\t}}\n\t\t\twg.Done()"
    assert _findings(_done(body)) == [Safety.REPORT_ONLY]


@pytest.mark.parametrize("deferred", ["defer mu.Unlock()", "defer close(out)", "defer cancel()"])
def test_a_defer_that_cannot_block_keeps_the_fix(deferred: str) -> None:
    body = f"\t\t\t{deferred}\n\t\t\tif !f(item) {{\n\t\t\t\treturn\n\t\t\t}}\n\t\t\twg.Done()"
    assert _findings(_done(body)) == [Safety.SAFE]


def test_done_before_more_work_is_report_only() -> None:
    body = "\t\t\tif !f(item) {\n\t\t\t\treturn\n\t\t\t}\n\t\t\twg.Done()\n\t\t\tprintln(item)"
    assert _findings(_done(body)) == [Safety.REPORT_ONLY]


def test_done_from_a_nested_closure_is_left_alone() -> None:
    body = "\t\t\tfinish := func() { wg.Done() }\n\t\t\tif !f(item) {\n\t\t\t\treturn\n\t\t\t}"
    body += "\n\t\t\tfinish()"
    assert _findings(_done(body)) == []


def test_both_misuses_in_one_goroutine_are_fixed_together() -> None:
    body = "\t\t\twg.Add(1)\n\t\t\tif !f(item) {\n\t\t\t\treturn\n\t\t\t}\n\t\t\twg.Done()"
    source = _done(body).replace(b"\t\twg.Add(1)\n\t\tgo func", b"\t\tgo func")
    assert _findings(source) == [Safety.SAFE, Safety.SAFE]
    rewritten = _rewrite(source)
    assert "\t\twg.Add(1)\n\t\tgo func() {\n\t\t\tdefer wg.Done()\n\t\t\tif !f(item) {" in rewritten
    assert rewritten.count("wg.Add(1)") == 1 and rewritten.count("wg.Done()") == 1


SKIP_DONE = "\t\t\tif !f(item) {\n\t\t\t\treturn\n\t\t\t}\n\t\t\twg.Done()"


def test_an_add_of_the_item_count_before_the_loop_counts_each_goroutine() -> None:
    source = (
        _done(SKIP_DONE)
        .replace(b"\t\twg.Add(1)\n", b"")
        .replace(b"\tfor _, item", b"\twg.Add(len(items))\n\tfor _, item")
    )
    assert _findings(source) == [Safety.SAFE]


@pytest.mark.parametrize(
    ("add", "where"),
    [
        ("\twg.Add(1)\n", "before the loop"),  # one count for many goroutines: by design
        ("\tif len(items) > 0 {\n\t\twg.Add(len(items))\n\t}\n", "under an if"),
    ],
)
def test_a_return_is_not_a_skip_when_the_goroutine_may_not_be_counted(add: str, where: str) -> None:
    source = _done(SKIP_DONE).replace(b"\t\twg.Add(1)\n", b"")
    source = source.replace(b"\tfor _, item", add.encode() + b"\tfor _, item")
    assert _findings(source) == [], where


def test_a_conditional_add_matched_by_the_early_return_is_left_alone() -> None:
    body = """func Attach(in io.Reader, copyIn func(io.Reader)) {
	var wg sync.WaitGroup
	if in != nil {
		wg.Add(1)
	}
	go func() {
		if in == nil {
			return
		}
		copyIn(in)
		wg.Done()
	}()
	wg.Wait()
}
"""
    assert _findings(_file(body, '(\n\t"io"\n\t"sync"\n)')) == []


def test_a_range_loop_at_the_end_may_never_end() -> None:
    body = "\t\t\tfor range ticks {\n\t\t\t\tif f(item) {\n\t\t\t\t\twg.Done()\n"
    body += "\t\t\t\t\treturn\n\t\t\t\t}\n\t\t\t}"
    assert _findings(_done(body)) == []


@pytest.mark.parametrize("hand_on", ["requeue(item, &wg)", "go finish(&wg)", "wg.Wait()"])
def test_a_waitgroup_handed_on_in_the_goroutine_is_left_alone(hand_on: str) -> None:
    body = f"\t\t\tif !f(item) {{\n\t\t\t\t{hand_on}\n\t\t\t\treturn\n\t\t\t}}\n\t\t\twg.Done()"
    assert _findings(_done(body)) == []


def test_a_for_clause_without_condition_is_endless() -> None:
    body = "\t\t\tfor i := 0; ; i++ {\n\t\t\t\tif f(i) {\n\t\t\t\t\twg.Done()\n"
    body += "\t\t\t\t\treturn\n\t\t\t\t}\n\t\t\t}"
    assert _findings(_done(body)) == []
    assert _findings(_done(body.replace("; ; i++", "; i < item; i++"))) == [Safety.SAFE]


def test_comment_lines_above_a_moved_statement_move_with_it() -> None:
    body = ADD_INSIDE.replace("DECLARE", "var wg sync.WaitGroup").replace("WG", "wg")
    source = _file(
        body.replace("\t\t\twg.Add(1)\n", "\t\t\t// count this worker\n\t\t\twg.Add(1)\n")
    )
    rewritten = _rewrite(source)
    assert "\t\t// count this worker\n\t\twg.Add(1)\n\t\tgo func() {\n\t\t\tdefer wg.Done()\n" in (
        rewritten
    )
    body = "\t\t\tif !f(item) {\n\t\t\t\treturn\n\t\t\t}\n\t\t\t// finished\n\t\t\twg.Done()"
    assert "\t\tgo func() {\n\t\t\t// finished\n\t\t\tdefer wg.Done()\n" in _rewrite(_done(body))
