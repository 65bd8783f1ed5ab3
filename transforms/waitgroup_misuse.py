"""waitgroup-misuse: `wg.Add` inside the goroutine it counts, or a `wg.Done` a `return` skips.

The helpers below that are not underscored (goroutine literals, declaration lookup, exit-path
analysis, line edits) are shared with transforms/semaphore_outside_go.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from tree_sitter import Node

from codemod.go.flow import ancestors_until, exit_analysis, iteration_counts, previous_statement
from codemod.go.goroutines import goroutine_literal
from codemod.go.rewrite import defer_edits, move_before
from codemod.go.syntax import (
    call_arguments,
    descendants,
    descendants_of_type,
    descendants_outside_functions,
    enclosing_function,
    function_parameters,
    imported_name,
    received_channel,
    statements_of,
    text,
)
from codemod.go.waitgroups import WaitGroups
from codemod.model import Finding, Fix, Safety
from codemod.transform import FileContext, Transform


class WaitgroupMisuse(Transform):
    """
    ## What it does
    Finds two misuses of `sync.WaitGroup` in a goroutine started with `go func() { ... }()`:
    `wg.Add(1)` as the goroutine's first statement, which it moves to just before the `go`
    statement; and a `wg.Done()` called by hand at the end of the goroutine that an early
    `return` (or a branch without `Done`) skips, which it replaces with `defer wg.Done()`.

    ## Why is this bad?
    `wg.Wait()` returns as soon as the counter is zero. When the goroutine itself calls
    `wg.Add(1)`, nothing orders that call before the caller's `wg.Wait()`: the `go` statement
    only makes the goroutine runnable, so `Wait` can see a zero counter and return before the
    goroutine has even started (`go vet` reports this). The caller then reads results that are
    not there yet and stops listening, and the goroutine later blocks forever sending to it.
    When a path through the goroutine returns without `wg.Done()`, the counter never gets back
    to zero and `wg.Wait()` blocks forever: the Go runtime never wakes or collects a goroutine
    blocked on a WaitGroup, so the waiter and everything it references leak.

    ## Example
    ```go
    import "sync"

    func FetchAll(urls []string, fetch func(string) ([]byte, error)) [][]byte {
        var (
            wg    sync.WaitGroup
            mu    sync.Mutex
            pages [][]byte
        )
        for _, url := range urls {
            go func(url string) {
                wg.Add(1)
                page, err := fetch(url)
                if err != nil {
                    return
                }
                mu.Lock()
                pages = append(pages, page)
                mu.Unlock()
                wg.Done()
            }(url)
        }
        wg.Wait()
        return pages
    }
    ```

    ## Use instead
    ```go
    import "sync"

    func FetchAll(urls []string, fetch func(string) ([]byte, error)) [][]byte {
        var (
            wg    sync.WaitGroup
            mu    sync.Mutex
            pages [][]byte
        )
        for _, url := range urls {
            wg.Add(1)
            go func(url string) {
                defer wg.Done()
                page, err := fetch(url)
                if err != nil {
                    return
                }
                mu.Lock()
                pages = append(pages, page)
                mu.Unlock()
            }(url)
        }
        wg.Wait()
        return pages
    }
    ```

    ## Fix safety
    Safe. Moving `wg.Add(1)` before the `go` statement only makes the counter go up before
    anyone can wait on it, which is what the code meant; it is done only when `Add` is the
    goroutine's first statement (after `defer`s), the WaitGroup is visibly a `sync.WaitGroup`
    (a variable, a `*sync.WaitGroup` parameter, or a struct field declared in the same file)
    and the `go` statement is in the function that owns it. A skipped `Done` is reported only
    when every start of the goroutine is visibly counted (its own first `Add`, an `Add(1)`
    just before the `go` statement, or an `Add` of the iteration count just before its
    loop): an early `return` matching an `Add` under the same condition is correct code. The
    WaitGroup must not be handed to other code from the goroutine, which might call `Done`
    for it. `defer wg.Done()` replaces hand calls only when each of them is the goroutine's
    last action (followed by `return` or the end of the function), so `Done` still runs
    exactly once, at the same point, on every path that called it, and now also on the
    paths that skipped it. The goroutine's other `defer`s then run before `Done`; the fix is
    made only when those cannot block (`Unlock`, `close`, `Close`, `cancel` ...), otherwise
    the finding is reported without a fix, as it is when a `Done` is followed by more work.

    ## Go versions
    All. Since Go 1.25 `wg.Go(f)` does both for you.
    """

    id: ClassVar[str] = "waitgroup-misuse"
    title: ClassVar[str] = "Call wg.Add before the go statement and defer wg.Done"
    safety: ClassVar[Safety] = Safety.SAFE
    tags: ClassVar[tuple[str, ...]] = ("sync", "goroutine")
    prefilter: ClassVar[re.Pattern[bytes] | None] = re.compile(rb"\.(?:Add\(|Done\(\))")

    candidates: ClassVar[frozenset[str]] = frozenset({"go_statement"})

    def find(self, ctx: FileContext) -> Iterator[Finding]:
        sync_name = imported_name(ctx.parsed.root, "sync")
        if sync_name is None:
            return
        types = WaitGroups(ctx.parsed.root, sync_name)
        for declaration in ctx.parsed.clean_declarations:
            for node in descendants_of_type(declaration, self.candidates):
                literal = goroutine_literal(node)
                if literal is None:
                    continue
                add = self._check_add(ctx, types, node, literal)
                if add is not None:
                    yield add
                yield from self._check_done(ctx, types, node, literal)

    def _check_add(
        self, ctx: FileContext, types: WaitGroups, go_statement: Node, literal: Node
    ) -> Finding | None:
        """`go func() { wg.Add(1); defer wg.Done(); ... }()`."""
        body = statements_of(literal.child_by_field_name("body"))
        leading = [s for s in body if s.type != "defer_statement"]
        if not leading:
            return None
        add = leading[0]
        receiver, arguments = _method_call(add, "Add")
        if receiver is None or arguments is None or not types.is_waitgroup(receiver):
            return None
        index = body.index(add)
        if index + 1 < len(body) and body[index + 1].type == "go_statement":
            return None  # the goroutine counts a goroutine it starts itself: correct
        name = text(receiver)
        if not any(_calls_method(n, name, "Done") for n in descendants(literal)):
            return None  # not this goroutine's own registration
        outer = literal_argument(receiver, go_statement, literal)
        if outer is None or not types.is_waitgroup(outer):
            return None
        home = types.owner(outer)
        if home is None or home != enclosing_function(go_statement):
            return None  # be sure the go statement is where the WaitGroup lives
        message = (
            f"`{text(add)}` runs inside the goroutine it counts: `{name}.Wait()` can return "
            "before the goroutine starts"
        )
        edits = None
        if len(arguments) == 1 and arguments[0].type == "int_literal":
            edits = move_before(
                ctx.source, add, go_statement, f"{text(outer)}.Add({text(arguments[0])})"
            )
        if edits is None:
            return self.finding(ctx, go_statement, message, Safety.REPORT_ONLY)
        fix = Fix(tuple(edits), f"call {text(outer)}.Add before the go statement")
        return self.finding(ctx, go_statement, message, Safety.SAFE, fix)

    def _check_done(
        self, ctx: FileContext, types: WaitGroups, go_statement: Node, literal: Node
    ) -> Iterator[Finding]:
        """A hand-written `wg.Done()` at the end of the goroutine that some exit skips."""
        seen: set[str] = set()
        for node in descendants_outside_functions(literal.child_by_field_name("body") or literal):
            receiver, _ = _method_call(node, "Done")
            if receiver is None or text(receiver) in seen:
                continue
            name = text(receiver)
            seen.add(name)
            if not types.is_waitgroup(receiver):
                continue
            outer = literal_argument(receiver, go_statement, literal)
            if outer is None or not _registered(go_statement, literal, name, text(outer)):
                continue  # whether this path counted the goroutine at all is not ours to say
            finding = self._check_done_of(ctx, go_statement, literal, name)
            if finding is not None:
                yield finding

    def _check_done_of(
        self, ctx: FileContext, go_statement: Node, literal: Node, name: str
    ) -> Finding | None:
        body = literal.child_by_field_name("body")
        if body is None:
            return None
        own = list(descendants_outside_functions(body))
        if any(_defers_call(n, name, "Done") for n in own):
            return None  # already deferred
        if not _only_counts(body, name):
            return None  # handed on: another function may call Done for a skipping path
        if any(
            n.type == "func_literal" and any(_calls_method(d, name, "Done") for d in descendants(n))
            for n in own
        ):
            return None  # Done from a nested closure: paths are not ours to count
        report = exit_analysis(literal, lambda s: _is_call_statement(s, name, "Done"))
        if report.skipping_exit is None:
            return None  # every exit calls Done, or we cannot tell
        where = (
            f"the `return` on line {report.skipping_exit.start_point.row + 1}"
            if report.skipping_exit.type == "return_statement"
            else "a path that reaches the end of the goroutine"
        )
        message = f"`{name}.Done()` is skipped by {where}: `{name}.Wait()` then blocks forever"
        edits = None
        if report.all_in_tail and all(_defer_runs_before_done_safely(n) for n in own):
            edits = defer_edits(ctx.source, literal, f"defer {name}.Done()", report.markers)
        if edits is None:
            return self.finding(ctx, go_statement, message, Safety.REPORT_ONLY)
        fix = Fix(tuple(edits), f"defer {name}.Done() at the start of the goroutine")
        return self.finding(ctx, go_statement, message, Safety.SAFE, fix)


# Deferred calls that cannot block on whoever waits for the WaitGroup: running them before
# `Done` instead of after it cannot deadlock.
NON_BLOCKING_METHODS = frozenset(
    {"Unlock", "RUnlock", "Close", "Stop", "Done", "End", "Release", "Cancel", "Finish"}
)
# Statements that cannot skip what follows them: a `wg.Add` found across them still counts
# the goroutine started after them.
STRAIGHT_LINE = frozenset(
    {
        "expression_statement",
        "short_var_declaration",
        "assignment_statement",
        "inc_statement",
        "dec_statement",
        "var_declaration",
        "const_declaration",
        "send_statement",
        "go_statement",
        "defer_statement",
    }
)


def _registered(go_statement: Node, literal: Node, inner: str, outer: str) -> bool:
    """Whether every start of this goroutine was counted by an `Add` we can see: its own
    first statement, an `Add(1)` just before the go statement, or an Add of the iteration
    count just before the loop that starts it. Otherwise a `return` without `Done` may be a
    path the caller never counted (an `Add` under the same `if` as the early return)."""
    leading = statements_of(literal.child_by_field_name("body"))
    first = next((s for s in leading if s.type != "defer_statement"), None)
    if first is not None and _is_call_statement(first, inner, "Add"):
        return True
    in_loop = any(
        a.type == "for_statement" for a in ancestors_until(go_statement, _home(go_statement))
    )
    if _added_before(go_statement, outer, {"1"} if in_loop else None):
        return True
    holder = go_statement.parent
    block = holder.parent if holder is not None else None
    loop = block.parent if block is not None else None
    if loop is None or loop.type != "for_statement" or loop.child_by_field_name("body") != block:
        return False
    return _added_before(loop, outer, iteration_counts(loop))


def _home(node: Node) -> Node:
    function = enclosing_function(node)
    return function if function is not None else node


def _added_before(statement: Node, name: str, counts: set[str] | None) -> bool:
    """`name.Add(n)` among the straight-line statements just before `statement`, with n one
    of `counts` (any integer literal when counts is None)."""
    sibling = previous_statement(statement)
    while sibling is not None:
        receiver, arguments = _method_call(sibling, "Add")
        if receiver is not None and text(receiver) == name and arguments and len(arguments) == 1:
            argument = arguments[0]
            if counts is None and argument.type == "int_literal" and text(argument) != "0":
                return True
            if counts is not None and text(argument) in counts:
                return True
        if sibling.type not in STRAIGHT_LINE:
            return False
        sibling = previous_statement(sibling)
    return False


def _only_counts(body: Node, name: str) -> bool:
    """Whether every mention of the WaitGroup in the body is a `name.Done()` or
    `name.Add(...)` call."""
    for node in descendants(body):
        if node.type not in ("identifier", "selector_expression") or text(node) != name:
            continue
        parent = node.parent
        field = parent.child_by_field_name("field") if parent is not None else None
        if (
            parent is None
            or parent.type != "selector_expression"
            or parent.child_by_field_name("operand") != node
            or field is None
            or text(field) not in ("Done", "Add")
        ):
            return False
    return True


def _method_call(statement: Node, method: str) -> tuple[Node | None, list[Node] | None]:
    """(receiver, arguments) of an expression statement `receiver.method(arguments)`."""
    if statement.type != "expression_statement" or statement.named_child_count != 1:
        return None, None
    call = statement.named_children[0]
    if call.type != "call_expression":
        return None, None
    function = call.child_by_field_name("function")
    if function is None or function.type != "selector_expression":
        return None, None
    field = function.child_by_field_name("field")
    operand = function.child_by_field_name("operand")
    if field is None or operand is None or text(field) != method:
        return None, None
    if operand.type not in ("identifier", "selector_expression"):
        return None, None
    return operand, call_arguments(call)


def _is_call_statement(statement: Node, receiver: str, method: str) -> bool:
    operand, _ = _method_call(statement, method)
    return operand is not None and text(operand) == receiver


def _calls_method(node: Node, receiver: str, method: str) -> bool:
    """Whether node is a call `receiver.method(...)` (in any position)."""
    if node.type != "call_expression":
        return False
    function = node.child_by_field_name("function")
    return function is not None and text(function) == f"{receiver}.{method}"


def _defers_call(node: Node, receiver: str, method: str) -> bool:
    """`defer receiver.method()` or `defer func() { ... receiver.method() ... }()`."""
    if node.type != "defer_statement" or not node.named_child_count:
        return False
    call = node.named_children[0]
    if _calls_method(call, receiver, method):
        return True
    function = call.child_by_field_name("function") if call.type == "call_expression" else None
    return (
        function is not None
        and function.type == "func_literal"
        and any(_calls_method(n, receiver, method) for n in descendants(function))
    )


def _defer_runs_before_done_safely(node: Node) -> bool:
    """A `defer` that may run before `Done` instead of after it: it cannot block."""
    if node.type != "defer_statement":
        return True
    call = node.named_children[0] if node.named_child_count else None
    if call is None or call.type != "call_expression":
        return False
    function = call.child_by_field_name("function")
    if function is None:
        return False
    if function.type == "identifier":
        return text(function) == "close" or text(function).lower().endswith("cancel")
    if function.type == "selector_expression":
        field = function.child_by_field_name("field")
        return field is not None and text(field) in NON_BLOCKING_METHODS
    if function.type == "func_literal":
        inner = statements_of(function.child_by_field_name("body"))
        return all(_releases_a_slot(s) for s in inner)
    return False


def _releases_a_slot(statement: Node) -> bool:
    """`<-sem` as a statement: a receive from a semaphore this goroutine filled."""
    channel = received_channel(statement)
    return channel is not None and channel.type == "identifier"


def literal_argument(expression: Node, go_statement: Node, literal: Node) -> Node | None:
    """The argument the go statement passes for a parameter of its literal named like the
    root of `expression`; `expression` itself when the root is not a parameter."""
    root = expression
    while root.type == "selector_expression":
        operand = root.child_by_field_name("operand")
        if operand is None:
            return None
        root = operand
    if root.type != "identifier":
        return None
    parameters = function_parameters(literal)
    names = [name for name, _ in parameters]
    if text(root) not in names:
        return expression
    if root != expression:
        return None  # a field of a parameter: keep it simple
    call = go_statement.named_children[0]
    arguments = call_arguments(call)
    if len(arguments) != len(parameters) or any(
        d.type == "variadic_parameter_declaration" for _, d in parameters
    ):
        return None
    argument = arguments[names.index(text(root))]
    if argument.type == "unary_expression" and text(argument).startswith("&"):
        argument = argument.child_by_field_name("operand") or argument
    return argument if argument.type in ("identifier", "selector_expression") else None
