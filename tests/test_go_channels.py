"""codemod.go.channels: what a mention of a channel does with it, what a make makes."""

from __future__ import annotations

import pytest
from tree_sitter import Node

from codemod.go.channels import (
    ChannelUse,
    called_with,
    case_received_channel,
    channel_use,
    has_buffer,
    is_channel_make,
    is_unbuffered_make,
    select_cases,
)
from codemod.go.parse import parse_source
from codemod.go.syntax import descendants, text


def function_nodes(body: str) -> list[Node]:
    """Every node of `func f(ch chan int) (chan int, int) { body }`."""
    source = f"package p\n\nfunc f(ch chan int) (chan int, int) {{\n{body}\n}}\n"
    root = parse_source(source.encode()).root
    function = next(n for n in descendants(root) if n.type == "function_declaration")
    body_node = function.child_by_field_name("body")
    assert body_node is not None
    return list(descendants(body_node))


def mention_of_ch(body: str) -> Node:
    return next(n for n in function_nodes(body) if n.type == "identifier" and text(n) == "ch")


# (statement naming `ch` once, what it does with the channel)
USES = [
    ("ch <- 1", ChannelUse.SEND),
    ("out <- <-ch", ChannelUse.RECEIVE),
    ("v := <-ch; _ = v", ChannelUse.RECEIVE),
    ("select { case v := <-ch: _ = v }", ChannelUse.RECEIVE),
    ("select { case ch <- 1: }", ChannelUse.SEND),
    ("for v := range ch { _ = v }", ChannelUse.RANGE),
    ("close(ch)", ChannelUse.CLOSE),
    ("defer close(ch)", ChannelUse.CLOSE),
    ("_ = len(ch)", ChannelUse.LEN_CAP),
    ("_ = cap(ch)", ChannelUse.LEN_CAP),
    ("return ch, 0", ChannelUse.RETURN),
    ("out <- ch", ChannelUse.OTHER),  # sent as a value, not sent on
    ("go worker(ch)", ChannelUse.OTHER),
    ("s.results = ch", ChannelUse.OTHER),
    ("_ = request{reply: ch}", ChannelUse.OTHER),
    ("if ch != nil {}", ChannelUse.OTHER),
    ("x.close(ch)", ChannelUse.OTHER),  # a method named close is not the builtin
]


@pytest.mark.parametrize(("statement", "expected"), USES)
def test_channel_use(statement: str, expected: ChannelUse) -> None:
    assert channel_use(mention_of_ch(statement)) == expected


# (call, the name of the call its argument list belongs to)
CALLS = [
    ("close(ch)", "close"),
    ("time.After(d)", "time.After"),
    ("fs[0](ch)", None),  # an index expression as callee has no name
]


@pytest.mark.parametrize(("statement", "expected"), CALLS)
def test_called_with(statement: str, expected: str | None) -> None:
    arguments = next(n for n in function_nodes(statement) if n.type == "argument_list")
    assert called_with(arguments) == expected
    block = next(n for n in function_nodes(statement) if n.type == "expression_statement")
    assert called_with(block) is None  # not an argument list at all


# (expression, a make of a channel, of a bidirectional one, unbuffered, with a buffer)
MAKES = [
    ("make(chan int)", True, True, True, False),
    ("make(chan int,)", True, True, False, False),
    ("make(chan int, 0)", True, True, False, False),
    ("make(chan int, 1)", True, True, False, True),
    ("make(chan int, n)", True, True, False, True),
    ("make(chan<- int)", True, False, False, False),
    ("make(<-chan int, 2)", True, False, False, True),
    ("make([]int, 3)", False, False, False, True),
    ("newChan()", False, False, False, False),
]


@pytest.mark.parametrize(("expression", "any_make", "bidirectional", "unbuffered", "sized"), MAKES)
def test_makes(
    expression: str, any_make: bool, bidirectional: bool, unbuffered: bool, sized: bool
) -> None:
    call = next(n for n in function_nodes(f"x := {expression}") if n.type == "call_expression")
    assert is_channel_make(call, bidirectional=False) == any_make
    assert is_channel_make(call) == bidirectional
    assert is_unbuffered_make(call) == unbuffered
    assert has_buffer(call) == sized


def test_select_cases_and_received_channels() -> None:
    select_statement = (
        "select {\n"
        "// waits\n"
        "case <-done:\n"
        "case v := <-results: _ = v\n"
        "case out <- 1:\n"
        "case <-ctx.Done():\n"
        "default:\n"
        "}"
    )
    select = next(n for n in function_nodes(select_statement) if n.type == "select_statement")
    cases = select_cases(select)
    assert [case.type for case in cases] == [
        *["communication_case"] * 4,
        "default_case",
    ]  # the comment is not a case
    received = [case_received_channel(case) for case in cases]
    assert [text(r) if r is not None else None for r in received] == [
        "done",
        "results",
        None,  # a send
        "ctx.Done()",
        None,  # default
    ]
