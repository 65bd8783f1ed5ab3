"""goroutine-outlives-owner: a stop method returns on an error before it signals its goroutines."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from tree_sitter import Node

from codemod.go.syntax import FUNCTION_TYPES, ancestors, call_arguments, descendants_of_type, text
from codemod.goroutine_owners import STOP_NAMES, package_owners, receiver_of
from codemod.model import Finding, Safety
from codemod.transform import FileContext, Transform

_ERROR_CHECK = re.compile(r"!=\s*nil\b")


class GoroutineOutlivesOwner(Transform):
    """
    ## What it does
    In a type's stop method (`Close`, `Stop`, `Shutdown`, ...), finds a `return` taken on an
    error (`if err := x.Close(); err != nil { return err }`) before the statement that closes,
    sends on or cancels the field the type's goroutines wait on (`close(p.quit)`,
    `w.stopc <- donec`, `s.cancel()`). The goroutines a method or constructor of the type
    started with `go` are learnt from the package's code.

    ## Why is this bad?
    The type's goroutines (`go p.run()`) loop until that signal. When the stop method returns
    early on an error from something else it closes first, the signal is never given: the
    caller has called `Close` once and will not call it again, so the goroutines block
    forever, holding the value and everything it references.

    ## Example
    ```go
    type Processor struct {
        leader   io.Closer
        shutdown chan struct{}
    }

    func (p *Processor) Start() {
        go p.run()
    }

    func (p *Processor) run() {
        <-p.shutdown
    }

    func (p *Processor) Close() error {
        if err := p.leader.Close(); err != nil {
            return err
        }
        close(p.shutdown)
        return nil
    }
    ```

    ## Use instead
    ```go
    type Processor struct {
        leader   io.Closer
        shutdown chan struct{}
    }

    func (p *Processor) Start() {
        go p.run()
    }

    func (p *Processor) run() {
        <-p.shutdown
    }

    func (p *Processor) Close() error {
        err := p.leader.Close()
        close(p.shutdown)
        return err
    }
    ```

    ## Fix safety
    Only reported: whether the signal may be given after the failed step (or must come
    first), and which error to return, is the author's call. Returns that are not on an
    error check (`if p.closed { return nil }`, a guard against closing twice) are not
    reported.

    ## Go versions
    All.
    """

    id: ClassVar[str] = "goroutine-outlives-owner"
    title: ClassVar[str] = "Signal a type's goroutines to stop before any early return of Close"
    safety: ClassVar[Safety] = Safety.REPORT_ONLY
    tags: ClassVar[tuple[str, ...]] = ("goroutine", "owner")
    prefilter: ClassVar[re.Pattern[bytes] | None] = re.compile(
        rb"\)\s*(?:" + b"|".join(n.encode() for n in STOP_NAMES) + rb")\s*\("
    )
    candidates: ClassVar[frozenset[str]] = frozenset({"return_statement"})

    def find(self, ctx: FileContext) -> Iterator[Finding]:
        for declaration in ctx.parsed.clean_declarations:
            if declaration.type != "method_declaration":
                continue
            name = declaration.child_by_field_name("name")
            body = declaration.child_by_field_name("body")
            receiver = receiver_of(declaration)
            if name is None or body is None or receiver is None or text(name) not in STOP_NAMES:
                continue
            owners = package_owners(ctx.parsed.root, ctx.siblings)
            receiver_name, type_name = receiver
            waited = owners.waited_fields.get(type_name, set())
            starts = owners.starting_methods.get(type_name) or type_name in set(
                owners.constructors.values()
            )
            if not waited or not starts:
                continue
            signal = _first_signal(body, receiver_name, waited)
            if signal is None:
                continue
            for ret in _error_returns_before(body, signal):
                message = (
                    f"`{text(name)}` returns here on an error before `{text(signal)}`: the "
                    f"goroutines of `{type_name}` waiting on it never stop on this path"
                )
                yield self.finding(ctx, ret, message, Safety.REPORT_ONLY)


def _field_of(node: Node, receiver: str) -> str | None:
    if node.type != "selector_expression":
        return None
    operand, member = node.child_by_field_name("operand"), node.child_by_field_name("field")
    if operand is None or member is None or text(operand) != receiver:
        return None
    return text(member)


def _walk_own(body: Node) -> Iterator[Node]:
    """Nodes of body outside nested func literals, in source order."""
    stack = list(reversed(body.children))
    while stack:
        node = stack.pop()
        yield node
        if node.type != "func_literal":
            stack.extend(reversed(node.children))


def _first_signal(body: Node, receiver: str, waited: set[str]) -> Node | None:
    """The first statement that closes or sends on a waited field, or calls a field cancel
    while the goroutines wait on a field context."""
    waits_on_context = any("ctx" in f.lower() or "context" in f.lower() for f in waited)
    for node in _walk_own(body):
        if node.type == "send_statement":
            channel = node.child_by_field_name("channel")
            if channel is not None and _field_of(channel, receiver) in waited:
                return node
        elif node.type == "call_expression":
            function = node.child_by_field_name("function")
            if function is None:
                continue
            arguments = call_arguments(node)
            if (
                text(function) == "close"
                and len(arguments) == 1
                and _field_of(arguments[0], receiver) in waited
            ):
                return _statement_of(node)
            called = _field_of(function, receiver)
            if called is not None and "cancel" in called.lower() and waits_on_context:
                return _statement_of(node)
    return None


def _statement_of(node: Node) -> Node:
    current = node
    while current.parent is not None and current.parent.type != "statement_list":
        current = current.parent
    return current


def _error_returns_before(body: Node, signal: Node) -> Iterator[Node]:
    for node in descendants_of_type(body, GoroutineOutlivesOwner.candidates):
        if node.start_byte >= signal.start_byte:
            return
        if not node.named_child_count or _inside_literal(node, body):
            continue
        check = _error_branch(node)
        if check is not None and not (check.start_byte <= signal.start_byte < check.end_byte):
            yield node


def _inside_literal(node: Node, body: Node) -> bool:
    for ancestor in ancestors(node):
        if ancestor == body:
            return False
        if ancestor.type == "func_literal":
            return True
    return False


def _error_branch(ret: Node) -> Node | None:
    """The `if ... != nil { ... return ... }` whose consequence holds ret."""
    for ancestor in ancestors(ret):
        if ancestor.type in FUNCTION_TYPES:
            return None
        if ancestor.type == "if_statement":
            condition = ancestor.child_by_field_name("condition")
            consequence = ancestor.child_by_field_name("consequence")
            if (
                condition is not None
                and consequence is not None
                and consequence.start_byte <= ret.start_byte < consequence.end_byte
                and _ERROR_CHECK.search(text(condition))
            ):
                return ancestor
            return None
    return None
