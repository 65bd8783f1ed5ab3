"""codemod.go.goroutines: what a go statement starts, and which goroutine holds a node."""

from __future__ import annotations

import pytest
from tree_sitter import Node

from codemod.go.goroutines import (
    enclosing_go_statement,
    go_statement_of,
    go_statement_starting,
    goroutine_literal,
    is_deferred_literal,
    names_in_goroutine,
    runs_as_goroutine,
)
from codemod.go.parse import parse_source
from codemod.go.syntax import call_arguments, descendants, text

SOURCE = """package p

func f(c chan int) {
	go func() {
		c <- 1
		func() {
			go func() {
				c <- 2
			}()
		}()
	}()
	go worker(c, <-c)
	g.Go(func() error {
		c <- 3
		return nil
	})
	defer func() {
		c <- 4
	}()
}
"""


def nodes() -> tuple[Node, list[Node], list[Node]]:
    root = parse_source(SOURCE.encode()).root
    function = next(n for n in descendants(root) if n.type == "function_declaration")
    go_statements = [n for n in descendants(root) if n.type == "go_statement"]
    sends = [n for n in descendants(root) if n.type == "send_statement"]
    return function, go_statements, sends


def row(node: Node | None) -> int | None:
    return node.start_point.row + 1 if node is not None else None


@pytest.mark.parametrize(
    ("send", "own", "innermost"),
    [
        (0, 4, 4),  # c <- 1: the first go statement
        (1, 4, 7),  # c <- 2: f's own go statement around it, and the nested one
        (2, None, None),  # c <- 3 runs in g.Go, not a go statement
        (3, None, None),  # c <- 4: deferred
    ],
)
def test_goroutine_of_a_node(send: int, own: int | None, innermost: int | None) -> None:
    function, _, sends = nodes()
    assert row(go_statement_of(sends[send], function)) == own
    assert row(enclosing_go_statement(sends[send], function)) == innermost


def test_receive_in_an_argument_runs_in_the_caller_but_belongs_to_the_go_statement() -> None:
    function, go_statements, _ = nodes()
    receive = next(n for n in descendants(go_statements[2]) if n.type == "unary_expression")
    assert text(receive) == "<-c"
    assert row(go_statement_of(receive, function)) == 12


def test_literals_and_their_go_statements() -> None:
    _, go_statements, _ = nodes()
    literals = [goroutine_literal(g) for g in go_statements]
    assert [row(x) for x in literals] == [4, 7, None]
    for go, literal in zip(go_statements, literals, strict=True):
        if literal is not None:
            assert go_statement_starting(literal) == go
    root = go_statements[0].parent
    while root is not None and root.parent is not None:
        root = root.parent
    assert root is not None
    all_literals = [n for n in descendants(root) if n.type == "func_literal"]
    # go func, the plain call, the nested go func, g.Go(func...), defer func.
    assert [runs_as_goroutine(n) for n in all_literals] == [True, False, True, True, False]


@pytest.mark.parametrize(
    ("go", "names"),
    [
        ("go func() { ch <- 1 }()", ["ch"]),  # captured
        ("go func(out chan int) { out <- 1 }(ch)", ["out"]),  # passed
        ("go func(out chan int) { out <- 1; ch <- 2 }(ch)", ["out", "ch"]),  # both
        ("go func(ch chan int) { ch <- 1 }(other)", []),  # a parameter shadows it
        ("go func() { other <- 1 }()", []),
        ("go func(a, b chan int) { a <- 1 }(ch, ch)", None),  # passed twice
        ("go func(v int) { _ = v }(len(ch))", None),  # inside an expression
        ("go func(a, b chan int) { a <- 1 }(ch)", None),  # argument count differs: grouped
    ],
)
def test_names_in_goroutine(go: str, names: list[str] | None) -> None:
    source = f"package p\n\nfunc f(ch, other chan int) {{\n\t{go}\n}}\n"
    root = parse_source(source.encode()).root
    statement = next(n for n in descendants(root) if n.type == "go_statement")
    literal = goroutine_literal(statement)
    assert literal is not None
    call = statement.named_children[0]
    assert names_in_goroutine(literal, call_arguments(call), "ch") == names


# (statement holding one func literal, is that literal what a defer statement calls)
DEFERRED = [
    ("defer func() { recover() }()", True),
    ("go func() {}()", False),
    ("func() {}()", False),
    ("defer run(func() {})", False),  # an argument of the deferred call, not the call
    ("defer func() func() { return nil }()()", False),  # the call deferred is of its result
]


@pytest.mark.parametrize(("statement", "deferred"), DEFERRED)
def test_is_deferred_literal(statement: str, deferred: bool) -> None:
    root = parse_source(f"package p\n\nfunc f() {{\n{statement}\n}}\n".encode()).root
    literals = [n for n in descendants(root) if n.type == "func_literal"]
    assert [is_deferred_literal(literal) for literal in literals[:1]] == [deferred]
    function = next(n for n in descendants(root) if n.type == "function_declaration")
    assert not is_deferred_literal(function)  # only a literal can be deferred in place
