"""Goroutines: what a `go` statement launches, and which goroutine a node runs in."""

from __future__ import annotations

from tree_sitter import Node

from codemod.go.syntax import (
    ancestors,
    call_name,
    enclosing_function,
    function_parameters,
    mentions,
    text,
)


def goroutine_literal(go_statement: Node) -> Node | None:
    """The func literal `go func() { ... }()` starts; None for `go f(x)`."""
    call = go_statement.named_children[0] if go_statement.named_child_count else None
    if call is None or call.type != "call_expression":
        return None
    literal = call.child_by_field_name("function")
    return literal if literal is not None and literal.type == "func_literal" else None


def go_statement_of(node: Node, function: Node) -> Node | None:
    """The `go` statement of `function` whose call holds node (in its literal or arguments)."""
    for ancestor in ancestors(node):
        if ancestor == function:
            return None
        if ancestor.type == "go_statement" and enclosing_function(ancestor) == function:
            return ancestor
    return None


def enclosing_go_statement(node: Node, function: Node) -> Node | None:
    """The innermost `go` statement around node below `function`, whichever function holds
    it (go_statement_of asks for one of `function`'s own)."""
    for ancestor in ancestors(node):
        if ancestor == function:
            return None
        if ancestor.type == "go_statement":
            return ancestor
    return None


def go_statement_starting(literal: Node) -> Node | None:
    """The `go` statement when literal is the function it starts: `go func() {...}()`."""
    call = literal.parent
    if call is None or call.type != "call_expression":
        return None
    if call.child_by_field_name("function") != literal:
        return None
    holder = call.parent
    return holder if holder is not None and holder.type == "go_statement" else None


def is_deferred_literal(node: Node) -> bool:
    """`defer func() {...}()`: node is a func literal that a defer statement calls."""
    call = node.parent
    return (
        node.type == "func_literal"
        and call is not None
        and call.type == "call_expression"
        and call.child_by_field_name("function") == node
        and call.parent is not None
        and call.parent.type == "defer_statement"
    )


def runs_as_goroutine(function: Node) -> bool:
    """`go func() {...}()`, or `g.Go(func() error {...})` (errgroup, WaitGroup.Go)."""
    parent = function.parent
    if parent is None or function.type != "func_literal":
        return False
    if parent.type == "call_expression":
        statement = parent.parent
        return (
            parent.child_by_field_name("function") == function
            and statement is not None
            and statement.type == "go_statement"
        )
    if parent.type == "argument_list" and parent.parent is not None:
        return (call_name(parent.parent) or "").endswith(".Go")
    return False


def names_in_goroutine(literal: Node, arguments: list[Node], name: str) -> list[str] | None:
    """The names the func literal a goroutine runs knows the variable `name` by: the
    parameter it is passed as (`go func(c chan T) {...}(ch)`), then `name` itself when the
    literal captures it. None when it is passed twice or inside an expression, or to grouped
    or variadic parameters (not guessed)."""
    parameters = function_parameters(literal)
    passed = [i for i, a in enumerate(arguments) if a.type == "identifier" and text(a) == name]
    if sum(1 for a in arguments if mentions(a, name)) != len(passed) or len(passed) > 1:
        return None
    names = []
    if passed:
        if len(parameters) != len(arguments):
            return None
        names.append(parameters[passed[0]][0])
    body = literal.child_by_field_name("body")
    shadowed = any(parameter == name for parameter, _ in parameters)
    if not shadowed and body is not None and mentions(body, name):
        names.append(name)  # captured
    return names
