"""codemod.go.flow: whether a statement leaves, a loop can end, a goroutine skips a marker."""

from __future__ import annotations

import pytest
from tree_sitter import Node

from codemod.go.flow import (
    always_leaves,
    exit_analysis,
    loop_can_exit,
    loops_between,
    loops_not_holding,
    never_returns,
)
from codemod.go.goroutines import goroutine_literal
from codemod.go.parse import parse_source
from codemod.go.syntax import descendants, statements_of, text


def function_body(body: str) -> list[Node]:
    """The statements of `func f() { body }`."""
    root = parse_source(f"package p\n\nfunc f() {{\n{body}\n}}\n".encode()).root
    function = next(n for n in descendants(root) if n.type == "function_declaration")
    return statements_of(function.child_by_field_name("body"))


def first_of(body: str, kind: str) -> Node:
    statements = function_body(body)
    return next(n for s in statements for n in [s, *descendants(s)] if n.type == kind)


# (statement, does it always leave the innermost loop)
LEAVES = [
    ("return", True),
    ("panic(err)", True),
    ("os.Exit(1)", True),
    ('t.Fatalf("boom")', True),
    ("log.Fatal(err)", True),
    ("fmt.Println(err)", False),
    ("break", True),  # bare_break: nothing between it and the loop
    ("continue", False),
    ("if ok { return } else { panic(1) }", True),
    ("if ok { return }", False),
    ("{ x(); return }", True),
    ("{ x() }", False),
]


@pytest.mark.parametrize(("source", "leaves"), LEAVES)
def test_always_leaves(source: str, leaves: bool) -> None:
    statement = function_body(f"for {{\n{source}\n}}")[0]
    body = statement.child_by_field_name("body")
    assert body is not None
    inner = statements_of(body)[0]
    assert always_leaves(inner, None, bare_break=True) is leaves


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("panic(1)", True),
        ("runtime.Goexit()", True),
        ("b.FailNow()", True),
        ("logger.Fatal(err)", True),
        ("os.Exit(0)", True),
        ('t.Errorf("x")', False),
        ("exit(1)", False),
    ],
)
def test_never_returns(call: str, expected: bool) -> None:
    assert never_returns(first_of(call, "call_expression")) is expected


LOOPS = [
    ("for {\n\tx()\n}", False),
    ("for i := 0; i < n; i++ {\n\tx()\n}", True),
    ("for ok {\n\tx()\n}", True),
    ("for range xs {\n\tx()\n}", True),
    ("for range time.Tick(d) {\n\tx()\n}", False),
    ("for range tick {\n\tx()\n}", False),  # `tick` holds a time.Tick channel
    ("for {\n\tif done() {\n\t\treturn\n\t}\n}", True),
    ("for {\n\tif done() {\n\t\tbreak\n\t}\n}", True),
    ("for {\n\tselect {\n\tcase <-c:\n\t\tbreak\n\t}\n}", False),  # breaks the select
    ("outer:\n\tfor {\n\tselect {\n\tcase <-c:\n\t\tbreak outer\n\t}\n}", True),
    ("for {\n\tgo func() {\n\t\treturn\n\t}()\n}", False),  # the literal's return is not ours
]


@pytest.mark.parametrize(("source", "can_exit"), LOOPS)
def test_loop_can_exit(source: str, can_exit: bool) -> None:
    loop = first_of(source, "for_statement")
    assert loop_can_exit(loop, tickers=frozenset({"tick"})) is can_exit


def is_done_call(node: Node) -> bool:
    return node.type == "expression_statement" and text(node) == "wg.Done()"


# (goroutine body, every Done is its last action, the line of an exit that skips Done or None)
EXITS = [
    ("defer wg.Done()\nwork()", True, None),  # no Done statement (it is deferred): no marker
    ("work()\nwg.Done()", True, None),
    ("if err != nil {\n\treturn\n}\nwg.Done()", True, 2),
    ("if err != nil {\n\twg.Done()\n\treturn\n}\nwg.Done()", True, None),
    ("if err != nil {\n\twg.Done()\n}\nwork()", False, None),
    ("for {\n\twork()\n}\nwg.Done()", True, None),
    ("wg.Done()\nfor {\n\treturn\n}", False, None),
]


@pytest.mark.parametrize(("body", "all_in_tail", "skipping_line"), EXITS)
def test_exit_analysis(body: str, all_in_tail: bool, skipping_line: int | None) -> None:
    indented = "\n".join(f"\t\t{line}" for line in body.splitlines())
    go = first_of(f"\tgo func() {{\n{indented}\n\t}}()", "go_statement")
    literal = goroutine_literal(go)
    assert literal is not None
    report = exit_analysis(literal, is_done_call)
    assert report.all_in_tail is all_in_tail
    skipping = report.skipping_exit
    # Lines of the goroutine body, 1-based: the header, `func f() {` and `go func() {` take
    # rows 0 to 3.
    assert (skipping.start_point.row - 3 if skipping is not None else None) == skipping_line


def test_goroutine_literal_is_none_for_a_named_function() -> None:
    assert goroutine_literal(first_of("go worker(c)", "go_statement")) is None


NESTED = """\tfor {
\t\tc := make(chan int)
\t\tfor i := range xs {
\t\t\tgo func() {
\t\t\t\tfor {
\t\t\t\t\tc <- i
\t\t\t\t}
\t\t\t}()
\t\t}
\t}"""


def test_loops_between_stop_at_a_func_literal() -> None:
    send = first_of(NESTED, "send_statement")
    outer = first_of(NESTED, "for_statement")
    found = loops_between(send, outer)
    assert [n.start_point.row for n in found] == [7]  # the literal's own loop only
    assert loops_between(outer, outer) == []


def test_loops_not_holding_cross_func_literals_up_to_the_make() -> None:
    send = first_of(NESTED, "send_statement")
    make = first_of(NESTED, "short_var_declaration")
    # The literal's loop and the range loop run the send again for one channel; the outer
    # loop makes a new channel each time round.
    assert [n.start_point.row for n in loops_not_holding(send, make)] == [7, 5]
