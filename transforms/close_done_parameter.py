"""close-done-parameter: a done channel handed to a function that closes it on some paths."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from tree_sitter import Node

from codemod.go.flow import ReleaseFlow
from codemod.go.syntax import (
    call_arguments,
    call_name,
    descendants,
    enclosing_function,
    has_goto,
    line_indent,
    statement_list,
    text,
)
from codemod.model import Edit, Finding, Fix, Safety
from codemod.package import SIGNAL_NAME
from codemod.transform import FileContext, Transform

# Besides the end signals (`done`, `stopped`), a channel announcing that something is up.
_READY = re.compile(r"ready|started", re.IGNORECASE)


class CloseDoneParameter(Transform):
    """
    ## What it does
    Finds a function given a signal channel (`done`, `doneCh`, `stopped`, ...) as a
    parameter whose only use of it is to close it, under a condition or inside a loop, so that
    some way out of the function leaves it open. It closes the channel on every way out with a
    deferred close, guarded by the same nil check the function already makes.

    ## Why is this bad?
    The caller hands over `done` to learn when something has happened and then waits with
    `<-done`. When the function returns along a path that skips the close (a loop over a
    notification channel that ends before the first success, an early error return), the
    waiter is never released: it stays blocked forever, with its stack and everything it
    references. The Go runtime never collects a goroutine blocked on a channel operation.

    ## Example
    ```go
    func Watch(updates <-chan []string, connect func(string) error, done chan struct{}) {
        for addrs := range updates {
            for _, a := range addrs {
                if err := connect(a); err == nil && done != nil {
                    close(done)
                    done = nil
                }
            }
        }
    }
    ```

    ## Use instead
    ```go
    func Watch(updates <-chan []string, connect func(string) error, done chan struct{}) {
        defer func() {
            if done != nil {
                close(done)
            }
        }()
        for addrs := range updates {
            for _, a := range addrs {
                if err := connect(a); err == nil && done != nil {
                    close(done)
                    done = nil
                }
            }
        }
    }
    ```

    ## Fix safety
    Always for review: a waiter released on the way out can no longer tell "it happened"
    from "the function gave up", and may need to check another result (the human fix in
    grpc-go accepted exactly that). The deferred close is guarded by `done != nil`, and it is
    only offered when every close in the function is followed by `done = nil`, so it never
    closes twice; otherwise the finding is only reported.

    ## Go versions
    All.
    """

    id: ClassVar[str] = "close-done-parameter"
    title: ClassVar[str] = "Close a done channel parameter on every way out"
    safety: ClassVar[Safety] = Safety.REVIEW
    tags: ClassVar[tuple[str, ...]] = ("channel", "goroutine")
    prefilter: ClassVar[re.Pattern[bytes] | None] = re.compile(rb"\bclose\(")
    candidates: ClassVar[frozenset[str]] = frozenset({"parameter_declaration"})

    def find(self, ctx: FileContext) -> Iterator[Finding]:
        for declaration in ctx.parsed.clean_declarations:
            if declaration.type not in ("function_declaration", "method_declaration"):
                continue
            body = declaration.child_by_field_name("body")
            statements = statement_list(body) if body is not None else None
            if body is None or statements is None or has_goto(body):
                continue
            for name, declared in _channel_parameters(declaration):
                if SIGNAL_NAME.search(name) or _READY.search(name):
                    finding = self._check(ctx, name, declared, body, statements)
                    if finding is not None:
                        yield finding

    def _check(
        self, ctx: FileContext, name: str, declared: Node, body: Node, statements: Node
    ) -> Finding | None:
        closes: list[Node] = []
        for node in descendants(body):
            if node.type != "identifier" or text(node) != name:
                continue
            if enclosing_function(node) != body.parent:
                return None  # a closure may close it at any time
            use = _use(node)
            if use is None:
                return None  # sent, received, passed on: not only a signal closed here
            if use.type == "expression_statement":
                closes.append(use)
        if not closes or _CloseFlow(name).leaves_live(statements.named_children) is not True:
            return None
        message = (
            f"`{name}` is closed on some paths only: a caller waiting on it stays blocked "
            f"forever when the function returns another way"
        )
        if not all(_then_nilled(close, name) for close in closes):
            return self.finding(ctx, declared, message, Safety.REPORT_ONLY)
        first = next(c for c in statements.named_children if c.type != "comment")
        indent = line_indent(ctx.source, first.start_byte)
        guard = (
            f"defer func() {{\n{indent}\tif {name} != nil {{\n{indent}\t\tclose({name})\n"
            f"{indent}\t}}\n{indent}}}()\n{indent}"
        )
        fix = Fix(
            (Edit(first.start_byte, first.start_byte, guard),),
            f"close `{name}` on every way out (if still open)",
        )
        return self.finding(ctx, declared, message, Safety.REVIEW, fix)


def _channel_parameters(function: Node) -> Iterator[tuple[str, Node]]:
    """(name, identifier) of each parameter of a bidirectional or send-only channel type."""
    parameters = function.child_by_field_name("parameters")
    declarations = [] if parameters is None else parameters.named_children
    for declaration in declarations:
        kind = declaration.child_by_field_name("type")
        if declaration.type != "parameter_declaration" or kind is None:
            continue
        if kind.type != "channel_type" or text(kind).startswith("<-"):
            continue
        for identifier in declaration.children_by_field_name("name"):
            yield text(identifier), identifier


def _use(node: Node) -> Node | None:
    """The statement of a `close(x)` use, the comparison of `x != nil`, the assignment of
    `x = nil`; None for any other use."""
    parent = node.parent
    if parent is None:
        return None
    if parent.type == "argument_list":
        call = parent.parent
        holder = call.parent if call is not None else None
        if (
            call is not None
            and call_name(call) == "close"
            and len(call_arguments(call)) == 1
            and holder is not None
            and holder.type == "expression_statement"
        ):
            return holder
        return None
    if parent.type == "binary_expression":
        operator = parent.child_by_field_name("operator")
        others = [c for c in parent.named_children if c != node]
        if operator is not None and text(operator) in ("==", "!=") and others:
            return parent if text(others[0]) == "nil" else None
        return None
    if parent.type == "expression_list" and parent.parent is not None:
        assignment = parent.parent
        right = assignment.child_by_field_name("right")
        if (
            assignment.type == "assignment_statement"
            and assignment.child_by_field_name("left") == parent
            and parent.named_child_count == 1
            and right is not None
            and text(right) == "nil"
        ):
            return assignment
    return None


def _then_nilled(close: Node, name: str) -> bool:
    following = close.next_named_sibling
    while following is not None and following.type == "comment":
        following = following.next_named_sibling
    return following is not None and " ".join(text(following).split()) == f"{name} = nil"


class _CloseFlow(ReleaseFlow):
    """lost-cancel's path walk, with `close(name)` as the call that settles a path."""

    def _expression_statement(self, node: Node, state: bool) -> bool | None:
        call = node.named_children[0] if node.named_child_count else None
        if call is not None and call.type == "call_expression" and call_name(call) == "close":
            arguments = call_arguments(call)
            if len(arguments) == 1 and text(arguments[0]) == self.name:
                return False
        return super()._expression_statement(node, state)
