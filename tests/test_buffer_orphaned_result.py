"""buffer-orphaned-result beyond the fixtures: fix safety per sender shape, and its silences."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.gomod import parse_gomod
from codemod.model import Safety
from codemod.package import Siblings
from tests.conftest import run_codemod

GO_122 = parse_gomod("module example\n\ngo 1.22\n", Path("go.mod"))
ID = "buffer-orphaned-result"

SELECT = """func Get(ctx context.Context, fetch func() int) (int, error) {
	ch := make(chan int)
	go func() {
		SENDER
	}()
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
"""


def _file(body: str) -> bytes:
    return f'package example\n\nimport (\n\t"context"\n\t"testing"\n)\n\n{body}'.encode()


def _safeties(source: bytes) -> list[Safety]:
    return [f.safety for f in run_codemod(source, GO_122, select=ID).findings]


def _sender(code: str) -> bytes:
    return _file(SELECT.replace("SENDER", code.replace("\n", "\n\t\t")))


def test_send_then_more_work_needs_review() -> None:
    """Buffered, the work after the send runs before the receiver has the value."""
    source = _sender("ch <- fetch()\nlog()")
    assert _safeties(source) == [Safety.REVIEW]
    assert run_codemod(source, GO_122, select=ID).rewritten is None
    fixed = run_codemod(source, GO_122, select=ID, unsafe=True).rewritten
    assert fixed is not None and "make(chan int, 1)" in fixed.decode()


def test_sends_that_each_end_the_goroutine_are_safe() -> None:
    source = _sender("v := fetch()\nif v < 0 {\n\tch <- 0\n\treturn\n}\nch <- v")
    assert _safeties(source) == [Safety.SAFE]


@pytest.mark.parametrize(
    "sender",
    [
        "ch <- 1\nch <- 2",  # two values: one slot does not free it
        "for i := 0; i < 3; i++ {\n\tch <- i\n\tlog()\n}",
        "select {\ncase ch <- fetch():\ncase <-ctx.Done():\n}",  # already has a way out
        "defer close(ch)\nch <- fetch()",
        "keep(ch)",
    ],
)
def test_senders_it_does_not_touch(sender: str) -> None:
    assert _safeties(_sender(sender)) == []


def test_explicit_zero_capacity_is_left_alone() -> None:
    source = _sender("ch <- fetch()").replace(b"make(chan int)", b"make(chan int, 0)")
    assert _safeties(source) == []


def test_default_case_gives_up_without_waiting() -> None:
    body = """func Poll(fetch func() int) int {
	ch := make(chan int)
	go func() { ch <- fetch() }()
	select {
	case v := <-ch:
		return v
	default:
	}
	return -1
}
"""
    assert _safeties(_file(body)) == [Safety.SAFE]


def test_receive_in_an_if_header_comes_before_its_return() -> None:
    body = """func Start(start func() error) error {
	started := make(chan error)
	go func() { started <- start() }()
	if err := <-started; err != nil {
		return err
	}
	return nil
}
"""
    assert _safeties(_file(body)) == []


def test_fatal_in_a_test_abandons_the_sender() -> None:
    body = """func TestStop(t *testing.T) {
	done := make(chan struct{})
	go func() {
		stop()
		done <- struct{}{}
	}()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("stop hung")
	}
}
"""
    assert _safeties(_file(body)) == [Safety.SAFE]


def test_channel_made_on_every_iteration() -> None:
    body = """func Retry(try func() error) {
	for {
		errc := make(chan error)
		go func() { errc <- try() }()
		select {
		case err := <-errc:
			if err == nil {
				return
			}
		case <-time.After(time.Second):
		}
	}
}
"""
    assert _safeties(_file(body)) == [Safety.SAFE]


def test_goto_keeps_it_silent() -> None:
    body = SELECT.replace("SENDER", "ch <- fetch()").replace(
        "\tselect {", "\tgoto wait\nwait:\n\tselect {"
    )
    assert _safeties(_file(body)) == []


PER_ITEM = """func Check(ITEMS_DECL, check func(string) error) error {
	errs := make(chan error)
	for _, item := range items {
		go func() { errs <- check(item) }()
	}
	for range items {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}
"""


@pytest.mark.parametrize(
    ("declaration", "safety"),
    [
        ("items []string", Safety.SAFE),
        ("items ...string", Safety.SAFE),
        ("items map[string]bool", Safety.SAFE),
        ("items Names", Safety.SAFE),  # a slice type of this file
        ("items chan string", Safety.REPORT_ONLY),  # len of a channel is not its count
        ("items Other", Safety.REPORT_ONLY),  # a type declared elsewhere
    ],
)
def test_per_item_buffer_needs_a_collection_type(declaration: str, safety: Safety) -> None:
    body = "type Names []string\n\n" + PER_ITEM.replace("ITEMS_DECL", declaration)
    assert _safeties(_file(body)) == [safety]


def test_per_item_count_from_a_function_of_this_file() -> None:
    body = PER_ITEM.replace("ITEMS_DECL", "key string").replace(
        "\terrs := make", "\titems := split(key)\n\terrs := make"
    )
    body += "\nfunc split(key string) []string { return []string{key} }\n"
    fixed = run_codemod(_file(body), GO_122, select=ID).rewritten
    assert fixed is not None and "make(chan error, len(items))" in fixed.decode()


def test_per_item_collection_declared_after_the_channel_is_only_reported() -> None:
    body = PER_ITEM.replace("ITEMS_DECL", "key string").replace(
        "\tfor _, item", "\titems := []string{key}\n\tfor _, item"
    )
    assert _safeties(_file(body)) == [Safety.REPORT_ONLY]


def test_per_item_collection_changed_before_the_loop_is_only_reported() -> None:
    body = PER_ITEM.replace("ITEMS_DECL", "items []string").replace(
        "\tfor _, item", '\titems = append(items, "x")\n\tfor _, item'
    )
    assert _safeties(_file(body)) == [Safety.REPORT_ONLY]


def test_every_value_received_is_not_a_leak() -> None:
    body = PER_ITEM.replace("ITEMS_DECL", "items []string").replace("return err\n", "_ = err\n")
    assert _safeties(_file(body)) == []


VAR_GROUP = """func Get(ctx context.Context, fetch func() int) (int, error) {
	var (
		ch = make(chan int)
		OTHER
	)
	go func() { ch <- fetch() }()
	select {
	case v := <-ch:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
"""


def test_channel_made_in_a_var_group() -> None:
    """The group is the declaration: only the `make` is edited."""
    source = _file(VAR_GROUP.replace("OTHER", "n = 0"))
    assert _safeties(source) == [Safety.SAFE]
    fixed = run_codemod(source, GO_122, select=ID).rewritten
    assert fixed is not None and "ch = make(chan int, 1)" in fixed.decode()


def test_var_group_spec_that_uses_the_channel_keeps_it_silent() -> None:
    """`out = ch` in the same group is a use the scope after the group would not see."""
    assert _safeties(_file(VAR_GROUP.replace("OTHER", "out = ch"))) == []


BRANCH_FIRST = """func Start(ctx context.Context, listen func() error, spawned bool) error {
	errc := make(chan error)
	go func() { errc <- listen() }()
	if spawned {
		BRANCH
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case err := <-errc:
		return err
	}
}
"""


def test_receive_in_a_branch_that_always_returns_is_not_on_the_way() -> None:
    """Control that reaches the select did not take the branch, so it never received."""
    source = _file(BRANCH_FIRST.replace("BRANCH", "err := <-errc\n\t\treturn err"))
    assert _safeties(source) == [Safety.SAFE]


@pytest.mark.parametrize(
    "branch",
    [
        "if err := <-errc; err != nil {\n\t\t\treturn err\n\t\t}",  # falls through
        "for {\n\t\t\t<-errc\n\t\t\tbreak\n\t\t}\n\t\treturn nil",  # break leaves first
    ],
)
def test_receive_on_a_path_that_goes_on_keeps_it_silent(branch: str) -> None:
    assert _safeties(_file(BRANCH_FIRST.replace("BRANCH", branch))) == []


def test_sender_that_closes_after_returning_sends_is_safe() -> None:
    """Every send returns, so the close runs only when nothing was sent: one slot holds all."""
    source = _sender("if v := fetch(); v < 0 {\n\tch <- v\n\treturn\n}\nclose(ch)")
    assert _safeties(source) == [Safety.SAFE]


@pytest.mark.parametrize(
    "sender",
    [
        "ch <- fetch()\nclose(ch)",  # a value and then the close
        "if v := fetch(); v < 0 {\n\tch <- v\n}\nclose(ch)",  # the send goes on to the close
        "close(ch)\nlog()",  # not the last statement
    ],
)
def test_sender_whose_close_follows_a_send_is_left_alone(sender: str) -> None:
    assert _safeties(_sender(sender)) == []


PER_ITERATION = """func Run(stop chan struct{}, probe func() bool) {
	done := make(chan bool)
	for {
		go func() {
			SENDER
		}()
		WAIT
	}
}
"""
WAIT_OR_STOP = "select {\n\t\tcase <-stop:\n\t\t\treturn\n\t\tcase <-done:\n\t\t}"


def _per_iteration(sender: str = "done <- probe()", wait: str = WAIT_OR_STOP) -> bytes:
    return _file(PER_ITERATION.replace("SENDER", sender).replace("WAIT", wait))


def test_one_goroutine_per_iteration_received_before_the_next_needs_one_slot() -> None:
    source = _per_iteration()
    assert _safeties(source) == [Safety.SAFE]
    fixed = run_codemod(source, GO_122, select=ID).rewritten
    assert fixed is not None and "make(chan bool, 1)" in fixed.decode()


def test_a_select_send_beside_a_bare_send_counts_as_the_one_send() -> None:
    sender = "if !probe() {\n\t\t\t\tdone <- false\n\t\t\t\treturn\n\t\t\t}\n\t\t\t" + (
        "select {\n\t\t\tcase <-stop:\n\t\t\tcase done <- true:\n\t\t\t}"
    )
    assert _safeties(_per_iteration(sender)) == [Safety.SAFE]


@pytest.mark.parametrize(
    "wait",
    [
        # the stop case goes round again: goroutines pile up beyond one slot
        "select {\n\t\tcase <-stop:\n\t\tcase <-done:\n\t\t}",
        # an iteration that skips the receive starts the next goroutine first
        "if probe() {\n\t\t\tcontinue\n\t\t}\n\t\t" + WAIT_OR_STOP,
    ],
)
def test_iterations_that_may_not_receive_are_left_alone(wait: str) -> None:
    assert _safeties(_per_iteration(wait=wait)) == []


REQUEST = """type request struct {
	n     int
	reply chan int
}

func Ask(ctx context.Context, requests chan<- *request) (int, error) {
	reply := make(chan int)
	requests <- &request{LITERAL}
	select {
	case v := <-reply:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}
"""
SERVE = """package example

func serve(requests <-chan *request) {
	for r := range requests {
		REPLY
	}
}
"""


def _request(literal: str = "1, reply", reply: str = "r.reply <- r.n") -> list[Safety]:
    source = _file(REQUEST.replace("LITERAL", literal))
    siblings = Siblings.of_sources({"serve.go": SERVE.replace("REPLY", reply).encode()})
    return [f.safety for f in run_codemod(source, GO_122, select=ID, siblings=siblings).findings]


@pytest.mark.parametrize("literal", ["1, reply", "n: 1, reply: reply"])
def test_reply_channel_in_a_request_sent_once_per_request_is_safe(literal: str) -> None:
    assert _request(literal) == [Safety.SAFE]


def test_reply_field_sent_on_more_than_once_needs_review() -> None:
    assert _request(reply="r.reply <- r.n\n\t\tr.reply <- 0") == [Safety.REVIEW]


def test_reply_that_already_has_a_way_out_is_not_a_leak() -> None:
    reply = "select {\n\t\tcase r.reply <- r.n:\n\t\tcase <-done:\n\t\t}"
    assert _request(reply=reply) == []


FRESH = """func Start(bad bool, run func() error) <-chan error {
	errc := make(chan error)
	BODY
}
"""


def _fresh(body: str) -> list[Safety]:
    return _safeties(_file(FRESH.replace("BODY", body)))


def test_send_before_anything_else_holds_the_channel_deadlocks() -> None:
    body = (
        "if bad {\n\t\terrc <- nil\n\t\treturn errc\n\t}\n"
        "\tgo func() { errc <- run() }()\n\treturn errc"
    )
    assert _fresh(body) == [Safety.SAFE]


def test_fresh_send_that_goes_on_needs_review() -> None:
    body = "if bad {\n\t\terrc <- nil\n\t}\n\tgo func() { errc <- run() }()\n\treturn errc"
    assert _fresh(body) == [Safety.REVIEW]


@pytest.mark.parametrize(
    "body",
    [
        # the goroutine holds the channel before the send
        "go func() { <-errc }()\n\terrc <- nil\n\treturn errc",
        # a later iteration sends after the first one handed it out
        "for i := 0; i < 2; i++ {\n\t\tif i > 0 {\n\t\t\terrc <- nil\n\t\t}\n"
        "\t\tgo func() { <-errc }()\n\t}\n\treturn errc",
        # a select send can take another case
        "select {\n\tcase errc <- nil:\n\tdefault:\n\t}\n\treturn errc",
    ],
)
def test_send_after_a_hand_off_is_not_a_fresh_deadlock(body: str) -> None:
    assert _fresh(body) == []


def test_reply_channel_the_server_only_closes_is_not_a_leak() -> None:
    """A close never blocks: nothing is left waiting when the asker gives up."""
    assert _request(reply="close(r.reply)") == []
