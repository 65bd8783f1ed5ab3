"""Goroutines: what a `go` statement launches."""

from __future__ import annotations

from tree_sitter import Node


def goroutine_literal(go_statement: Node) -> Node | None:
    """The func literal `go func() { ... }()` starts; None for `go f(x)`."""
    call = go_statement.named_children[0] if go_statement.named_child_count else None
    if call is None or call.type != "call_expression":
        return None
    literal = call.child_by_field_name("function")
    return literal if literal is not None and literal.type == "func_literal" else None
