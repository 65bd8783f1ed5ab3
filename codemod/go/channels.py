"""Channels: what a single mention of a channel does with it, and what a `make(chan ...)` makes.

The classifiers of the channel transforms (buffer-orphaned-result, close-producer-channel,
range-unclosed-channel, ctx-done-arm) walk the mentions of a locally made channel, each with its
own idea of whose goroutine a mention is in; what one mention *is* (a send, a receive, a range,
a close, `len`/`cap`, a return) is the same Go for all of them and is answered here.
"""

from __future__ import annotations

from enum import Enum

from tree_sitter import Node

from codemod.go.syntax import (
    call_arguments,
    call_name,
    is_bidirectional,
    made_channel_type,
    receive_operand,
    text,
)


class ChannelUse(Enum):
    """What the expression around a mention of a channel does with it."""

    SEND = "send"  # `ch <- v`
    RECEIVE = "receive"  # `<-ch` (also as a select case's `v := <-ch`)
    RANGE = "range"  # `for v := range ch`
    CLOSE = "close"  # `close(ch)`
    LEN_CAP = "len_cap"  # `len(ch)`, `cap(ch)`: reads no value, hands it to no one
    RETURN = "return"  # `return ch` (one of the results)
    OTHER = "other"  # passed, stored, assigned, compared, sent as a value...


def called_with(arguments: Node) -> str | None:
    """`close` when `arguments` is the argument list of `close(...)`; None when it is not the
    argument list of a call with a plain or selector callee."""
    call = arguments.parent
    if arguments.type != "argument_list" or call is None or call.type != "call_expression":
        return None
    return call_name(call)


def is_receive_of(parent: Node, node: Node) -> bool:
    """`parent` is `<-node`."""
    operator = parent.child_by_field_name("operator")
    return (
        parent.type == "unary_expression"
        and operator is not None
        and operator.type == "<-"
        and parent.child_by_field_name("operand") == node
    )


def channel_use(node: Node) -> ChannelUse:
    """What the expression holding `node` (a mention of a channel) does with it."""
    parent = node.parent
    if parent is None:
        return ChannelUse.OTHER
    if parent.type == "send_statement" and parent.child_by_field_name("channel") == node:
        return ChannelUse.SEND
    if is_receive_of(parent, node):
        return ChannelUse.RECEIVE
    if parent.type == "range_clause" and parent.child_by_field_name("right") == node:
        return ChannelUse.RANGE
    called = called_with(parent) if parent.type == "argument_list" else None
    if called == "close":
        return ChannelUse.CLOSE
    if called in ("len", "cap"):
        return ChannelUse.LEN_CAP
    if (
        parent.type == "expression_list"
        and parent.parent is not None
        and parent.parent.type == "return_statement"
    ):
        return ChannelUse.RETURN
    return ChannelUse.OTHER


def is_channel_make(node: Node, *, bidirectional: bool = True) -> bool:
    """`make(chan T...)`; with `bidirectional`, not `make(chan<- T)` or `make(<-chan T)` (only a
    `chan T` can be both sent on and closed by its maker)."""
    channel_type = made_channel_type(node)
    return channel_type is not None and (not bidirectional or is_bidirectional(channel_type))


def is_unbuffered_make(node: Node) -> bool:
    """`make(chan T)` with no size argument at all (`make(chan T, 0)` is left out: a size,
    even zero, was written on purpose)."""
    argument_list = node.child_by_field_name("arguments")
    return (
        is_channel_make(node)
        and len(call_arguments(node)) == 1
        and argument_list is not None
        and not any(c.type == "," for c in argument_list.children)
    )


def has_buffer(call: Node) -> bool:
    """`make(chan T, n)` with a size other than the literal 0 (an unknown `n` counts)."""
    arguments = call_arguments(call)
    return len(arguments) > 1 and text(arguments[1]) != "0"


def select_cases(select: Node) -> list[Node]:
    """The cases of a select statement, `default:` included (comments left out)."""
    return [c for c in select.named_children if c.type in ("communication_case", "default_case")]


def case_received_channel(case: Node) -> Node | None:
    """`ch` of a select case `case <-ch:` or `case v := <-ch:`; None for a send and default."""
    communication = case.child_by_field_name("communication")
    if communication is None or communication.type != "receive_statement":
        return None
    return receive_operand(communication.child_by_field_name("right"))
