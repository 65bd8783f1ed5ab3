"""semaphore-outside-go: a goroutine that takes its semaphore slot only once it is running."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from tree_sitter import Node

from codemod.go.flow import exit_analysis, iteration_counts
from codemod.go.goroutines import goroutine_literal
from codemod.go.rewrite import defer_edits, move_before
from codemod.go.scope import unique_declaration
from codemod.go.syntax import (
    FUNCTION_TYPES,
    ancestors,
    call_arguments,
    call_name,
    descendants,
    descendants_of_type,
    descendants_outside_functions,
    enclosing_function,
    function_parameters,
    imported_name,
    line_indent,
    received_channel,
    statements_of,
    text,
)
from codemod.model import Edit, Finding, Fix, Safety
from codemod.transform import FileContext, Transform

SEMAPHORE = "golang.org/x/sync/semaphore"


class SemaphoreOutsideGo(Transform):
    """
    ## What it does
    Finds a loop that starts one goroutine per item where each goroutine first takes a slot
    of a counting semaphore (`sem <- struct{}{}` on a buffered channel made in the same
    function, or `sem.Acquire(ctx, 1)` of `golang.org/x/sync/semaphore`), and moves the
    acquire before the `go` statement, so that the loop waits for a free slot before it
    starts the next goroutine. The release stays deferred inside the goroutine.

    ## Why is this bad?
    A `go` statement never blocks: with the acquire inside the goroutine, the loop starts a
    goroutine for every item at once and the semaphore only limits how many of them work at
    a time. The rest sit blocked on the semaphore channel, each with its stack and captured
    data: with many items that is a memory blow-up, and when the work blocks, a pile of
    blocked goroutines. It also breaks the usual way of waiting for such workers, taking
    every slot of the semaphore after the loop: that acquire races with the goroutines that
    have not started yet, returns while they are still queued, and leaves them blocked
    forever on a channel nobody will receive from again, which the runtime never collects.

    ## Example
    ```go
    func ResizeAll(images []string, resize func(string)) {
        sem := make(chan struct{}, 4)
        for _, img := range images {
            go func(img string) {
                sem <- struct{}{}
                defer func() { <-sem }()
                resize(img)
            }(img)
        }
        for i := 0; i < cap(sem); i++ {
            sem <- struct{}{}
        }
    }
    ```

    ## Use instead
    ```go
    func ResizeAll(images []string, resize func(string)) {
        sem := make(chan struct{}, 4)
        for _, img := range images {
            sem <- struct{}{}
            go func(img string) {
                defer func() { <-sem }()
                resize(img)
            }(img)
        }
        for i := 0; i < cap(sem); i++ {
            sem <- struct{}{}
        }
    }
    ```

    ## Fix safety
    Safe for a channel semaphore: the same number of goroutines runs the work at once, in
    the same order; only the waiting moves from the goroutines to the loop. The loop now
    blocks while every slot is taken, so the fix is offered only when no goroutine can be
    waiting for the loop itself to move on: the goroutine may not receive, `select`, wait,
    range over a channel, or send except on a channel buffered for every item, nor share a
    lock the function also takes; otherwise the finding is reported without a fix. A
    release written as a plain `<-sem` that an early `return` skips is made a deferred
    release as well (a skipped release loses the slot for good).
    `sem.Acquire(ctx, 1)` is moved only when the goroutine just returns on its error, and
    becomes `if err := sem.Acquire(ctx, 1); err != nil { break }` in the loop: when the
    context ends the loop stops starting goroutines instead of starting ones that give up
    at once. That changes what runs after a cancellation, so that fix needs review.

    ## Go versions
    All.
    """

    id: ClassVar[str] = "semaphore-outside-go"
    title: ClassVar[str] = "Take the semaphore before starting the goroutine"
    safety: ClassVar[Safety] = Safety.SAFE
    tags: ClassVar[tuple[str, ...]] = ("channel", "goroutine", "semaphore")
    prefilter: ClassVar[re.Pattern[bytes] | None] = re.compile(
        rb"<-\s*(?:struct\s*\{\s*\}\s*\{\s*\}|true\b|false\b|\d)|\.Acquire\("
    )

    candidates: ClassVar[frozenset[str]] = frozenset({"go_statement"})

    def find(self, ctx: FileContext) -> Iterator[Finding]:
        root = ctx.parsed.root
        weighted = imported_name(root, SEMAPHORE)
        for declaration in ctx.parsed.clean_declarations:
            for node in descendants_of_type(declaration, self.candidates):
                literal = goroutine_literal(node)
                loop = _enclosing_loop(node) if literal is not None else None
                if literal is None or loop is None:
                    continue
                acquire = _acquire_of(literal, root, weighted)
                if acquire is None:
                    continue
                finding = self._check(ctx, node, literal, loop, acquire)
                if finding is not None:
                    yield finding

    def _check(
        self, ctx: FileContext, go_statement: Node, literal: Node, loop: Node, acquire: _Acquire
    ) -> Finding | None:
        function = enclosing_function(go_statement)
        if acquire.declaration_function != function:
            return None  # a semaphore from elsewhere: the loop is not where it is shared out
        releases = _releases(literal, acquire)
        if releases is None:
            return None  # no release in the goroutine: not a per-goroutine slot
        name = acquire.name
        message = (
            f"goroutine takes a slot of `{name}` only once it runs: the loop starts every "
            f"goroutine at once and `{name}` limits only their work"
        )
        if function is None or not releases.clean or acquire.unmovable:
            return self.finding(ctx, go_statement, message, Safety.REPORT_ONLY)
        if _may_wait_for_loop(literal, function, loop, acquire, releases, ctx.parsed.root):
            return self.finding(ctx, go_statement, message, Safety.REPORT_ONLY)
        edits = self._edits(ctx.source, go_statement, literal, loop, acquire, releases)
        if edits is None:
            return self.finding(ctx, go_statement, message, Safety.REPORT_ONLY)
        safety = Safety.REVIEW if acquire.weighted else Safety.SAFE
        fix = Fix(tuple(edits), f"acquire {name} before the go statement")
        return self.finding(ctx, go_statement, message, safety, fix)

    def _edits(
        self,
        source: bytes,
        go_statement: Node,
        literal: Node,
        loop: Node,
        acquire: _Acquire,
        releases: _Releases,
    ) -> list[Edit] | None:
        statement = acquire.statement
        anchor = _insertion_anchor(go_statement)
        indent = line_indent(source, anchor.start_byte)
        if acquire.weighted:
            if not _directly_in(go_statement, loop):
                return None  # `break` would leave a switch or select, not the loop
            if not _counted_after_break(literal, anchor, go_statement):
                return None  # a `break` would leave a WaitGroup counting goroutines never started
            consequence = statement.child_by_field_name("consequence")
            assert consequence is not None
            header = source[statement.start_byte : consequence.start_byte].decode("utf-8")
            hoisted = f"{header}{{\n{indent}\tbreak\n{indent}}}"
        else:
            hoisted = f"{acquire.name} <- {acquire.value}"
        edits = move_before(source, statement, anchor, hoisted)
        if edits is None:
            return None
        if releases.plain:
            report = exit_analysis(literal, lambda s: any(s == r for r in releases.plain))
            if report.skipping_exit is not None:
                if not report.all_in_tail:
                    return None
                deferred = defer_edits(
                    source, literal, f"defer func() {{ <-{acquire.name} }}()", releases.plain
                )
                if deferred is None:
                    return None
                edits += deferred
        return edits


@dataclass(frozen=True)
class _Acquire:
    statement: Node  # `sem <- struct{}{}`, or `if err := sem.Acquire(ctx, 1); err != nil {...}`
    name: str  # the semaphore variable
    value: str  # what is sent on a channel semaphore
    weighted: bool  # golang.org/x/sync/semaphore
    declaration_function: Node | None
    # The acquire reads a parameter of the goroutine's literal, or is not the one shape of
    # Acquire we know how to move: reported without a fix.
    unmovable: bool


@dataclass(frozen=True)
class _Releases:
    deferred: list[Node]  # `defer func() { <-sem }()` / `defer sem.Release(1)` statements
    plain: list[Node]  # `<-sem` statements
    other_uses: bool

    @property
    def clean(self) -> bool:
        return not self.other_uses and (
            (len(self.deferred) == 1 and not self.plain) or (not self.deferred and bool(self.plain))
        )


def _enclosing_loop(go_statement: Node) -> Node | None:
    for ancestor in ancestors(go_statement):
        if ancestor.type in FUNCTION_TYPES:
            return None
        if ancestor.type == "for_statement":
            return ancestor
    return None


def _directly_in(go_statement: Node, loop: Node) -> bool:
    holder = go_statement.parent
    block = holder.parent if holder is not None else None
    return block is not None and block == loop.child_by_field_name("body")


def _acquire_of(literal: Node, root: Node, weighted: str | None) -> _Acquire | None:
    """The goroutine's first statement after its defers, when it takes a semaphore slot."""
    statements = statements_of(literal.child_by_field_name("body"))
    first = next((s for s in statements if s.type != "defer_statement"), None)
    if first is None:
        return None
    parameters = {name for name, _ in function_parameters(literal)}
    if first.type == "send_statement":
        channel, value = first.child_by_field_name("channel"), first.child_by_field_name("value")
        if channel is None or value is None or channel.type != "identifier":
            return None
        if not _is_token(value):
            return None
        declaration = unique_declaration(text(channel), first, root)
        if declaration is None or not _is_buffered_make(declaration.value):
            return None
        return _Acquire(first, text(channel), text(value), False, declaration.function, False)
    found = _weighted_acquire(first) if weighted is not None else None
    if found is not None:
        call, fixable = found
        function = call.child_by_field_name("function")
        operand = function.child_by_field_name("operand") if function is not None else None
        if operand is None or operand.type != "identifier":
            return None
        declaration = unique_declaration(text(operand), first, root)
        if declaration is None or declaration.value is None:
            return None
        if call_name(declaration.value) != f"{weighted}.NewWeighted":
            return None
        header = [first.child_by_field_name("initializer"), first.child_by_field_name("condition")]
        used = any(
            n.type == "identifier" and text(n) in parameters
            for part in header
            if part is not None
            for n in descendants(part)
        )
        return _Acquire(first, text(operand), "", True, declaration.function, used or not fixable)
    return None


def _is_token(value: Node) -> bool:
    """`struct{}{}`, `true`, `false` or an integer: a value with no effects to move."""
    if value.type in ("true", "false", "int_literal"):
        return True
    if value.type != "composite_literal":
        return False
    kind, body = value.child_by_field_name("type"), value.child_by_field_name("body")
    return (
        kind is not None
        and kind.type == "struct_type"
        and re.fullmatch(r"struct\s*\{\s*\}", text(kind)) is not None
        and (body is None or body.named_child_count == 0)
    )


def _is_buffered_make(value: Node | None) -> bool:
    if value is None or value.type != "call_expression" or call_name(value) != "make":
        return False
    arguments = call_arguments(value)
    return (
        len(arguments) == 2
        and arguments[0].type == "channel_type"
        and text(arguments[0]).startswith("chan")
        and text(arguments[1]) != "0"
    )


def _weighted_acquire(statement: Node) -> tuple[Node, bool] | None:
    """The `sem.Acquire(ctx, n)` call a statement makes, and whether the statement is
    `if err := sem.Acquire(ctx, n); err != nil { return }`, the one shape we move."""
    if statement.type == "expression_statement" and statement.named_child_count == 1:
        call = _acquire_call(statement.named_children[0])
        return None if call is None else (call, False)  # the error is ignored
    if statement.type == "assignment_statement":
        right = statement.child_by_field_name("right")
        values = right.named_children if right is not None else []
        call = _acquire_call(values[0]) if len(values) == 1 else None
        return None if call is None else (call, False)
    if statement.type != "if_statement":
        return None
    initializer = statement.child_by_field_name("initializer")
    condition = statement.child_by_field_name("condition")
    if condition is None or condition.type != "binary_expression":
        return None
    left, right = condition.child_by_field_name("left"), condition.child_by_field_name("right")
    operator = condition.child_by_field_name("operator")
    if left is None or right is None or operator is None:
        return None
    checks_error = text(operator) == "!=" and right.type == "nil"
    call = _acquire_call(left)  # if sem.Acquire(ctx, 1) != nil { ... }
    if call is None and initializer is not None and initializer.type == "short_var_declaration":
        names = initializer.child_by_field_name("left")
        results = initializer.child_by_field_name("right")
        if (
            names is not None
            and results is not None
            and names.named_child_count == 1
            and results.named_child_count == 1
        ):
            call = _acquire_call(results.named_children[0])
            checks_error = checks_error and text(names.named_children[0]) == text(left)
    if call is None:
        return None
    inner = statements_of(statement.child_by_field_name("consequence"))
    just_returns = (
        statement.child_by_field_name("alternative") is None
        and len(inner) == 1
        and inner[0].type == "return_statement"
        and not inner[0].named_child_count
    )
    return call, checks_error and just_returns


def _acquire_call(node: Node) -> Node | None:
    if node.type != "call_expression" or len(call_arguments(node)) != 2:
        return None
    function = node.child_by_field_name("function")
    field = function.child_by_field_name("field") if function is not None else None
    if function is None or function.type != "selector_expression" or field is None:
        return None
    return node if text(field) == "Acquire" else None


def _releases(literal: Node, acquire: _Acquire) -> _Releases | None:
    """How the goroutine gives its slot back; None when it never does."""
    body = literal.child_by_field_name("body")
    if body is None:
        return None
    deferred: list[Node] = []
    plain: list[Node] = []
    counted: set[int] = set()
    for statement in statements_of(body):
        if statement.type == "defer_statement" and _defers_release(statement, acquire):
            deferred.append(statement)
            counted.update(n.id for n in descendants(statement))
    for node in descendants_outside_functions(body):
        if _is_plain_release(node, acquire.name) and not acquire.weighted:
            plain.append(node)
            counted.update(n.id for n in descendants(node))
    counted.update(n.id for n in descendants(acquire.statement))
    other = any(
        n.type == "identifier" and text(n) == acquire.name and n.id not in counted
        for n in descendants(body)
    )
    if not deferred and not plain:
        return None
    return _Releases(deferred, plain, other)


def _defers_release(statement: Node, acquire: _Acquire) -> bool:
    call = statement.named_children[0] if statement.named_child_count else None
    if call is None or call.type != "call_expression":
        return False
    function = call.child_by_field_name("function")
    if function is None:
        return False
    if acquire.weighted:
        return text(function) == f"{acquire.name}.Release"
    if function.type != "func_literal":
        return False
    inner = statements_of(function.child_by_field_name("body"))
    return any(_is_plain_release(s, acquire.name) for s in inner)


def _is_plain_release(statement: Node, name: str) -> bool:
    channel = received_channel(statement)
    return channel is not None and text(channel) == name


def _insertion_anchor(go_statement: Node) -> Node:
    """The go statement, or the `wg.Add(...)` calls just before it: the slot comes first."""
    anchor = go_statement
    previous = anchor.prev_named_sibling
    while previous is not None and _is_add_call(previous):
        anchor = previous
        previous = anchor.prev_named_sibling
    return anchor


def _counted_after_break(literal: Node, anchor: Node, go_statement: Node) -> bool:
    """Whether every WaitGroup the goroutine marks done is counted between the hoisted
    acquire and the go statement, so that breaking out of the loop there counts nothing."""
    added = set()
    statement: Node | None = anchor
    while statement is not None and statement != go_statement:
        call = statement.named_children[0] if statement.named_child_count else None
        name = call_name(call) if call is not None and call.type == "call_expression" else None
        if name is not None and name.endswith(".Add"):
            added.add(name.removesuffix(".Add"))
        statement = statement.next_named_sibling
    done = {
        name.removesuffix(".Done")
        for node in descendants(literal)
        if node.type == "call_expression"
        and (name := call_name(node)) is not None
        and name.endswith(".Done")
    }
    return done <= added


def _is_add_call(statement: Node) -> bool:
    if statement.type != "expression_statement" or statement.named_child_count != 1:
        return False
    call = statement.named_children[0]
    name = call_name(call) if call.type == "call_expression" else None
    return name is not None and name.endswith(".Add")


def _may_wait_for_loop(
    literal: Node,
    function: Node,
    loop: Node,
    acquire: _Acquire,
    releases: _Releases,
    root: Node,
) -> bool:
    """Whether the goroutine may block until the loop (or code after it) moves on: with the
    acquire in the loop, that would deadlock."""
    skip = {n.id for n in descendants(acquire.statement)} | {acquire.statement.id}
    for release in [*releases.deferred, *releases.plain]:
        skip |= {n.id for n in descendants(release)} | {release.id}
    body = literal.child_by_field_name("body")
    if body is None:
        return True
    own_locks = _locks_held_at(literal, function)
    return _blocks_on_caller(body, function, loop, skip, own_locks, root, depth=0)


def _lock_call(call: Node, methods: tuple[str, ...] = ("Lock", "RLock")) -> str | None:
    name = call_name(call) if call.type == "call_expression" else None
    if name is None or "." not in name:
        return None
    receiver, method = name.rsplit(".", 1)
    return receiver if method in methods else None


def _locks_held_at(literal: Node, function: Node) -> set[str]:
    """Locks the function may hold when it starts the goroutine: locked before it, and not
    unlocked (other than by a defer) between the two."""
    own = list(descendants_outside_functions(function.child_by_field_name("body") or function))
    held = set()
    for node in own:
        receiver = _lock_call(node)
        if receiver is None or node.start_byte > literal.start_byte:
            continue
        unlocked = any(
            _lock_call(other, ("Unlock", "RUnlock")) == receiver
            and node.end_byte < other.start_byte < literal.start_byte
            and not (other.parent is not None and other.parent.type == "defer_statement")
            for other in own
        )
        if not unlocked:
            held.add(receiver)
    return held


def _blocks_on_caller(
    body: Node,
    function: Node,
    loop: Node,
    skip: set[int],
    own_locks: set[str],
    root: Node,
    depth: int,
) -> bool:
    buffered_for_all = iteration_counts(loop)
    channels = _channels_of(function)
    allowed: set[int] = set()
    for node in descendants(body):
        if node.id in skip or node.id in allowed:
            continue
        kind = node.type
        if kind in ("select_statement", "receive_statement"):
            return True
        if kind == "unary_expression":
            operator = node.child_by_field_name("operator")
            if operator is not None and operator.type == "<-":
                return True
        if kind == "send_statement":
            channel = node.child_by_field_name("channel")
            if channel is None or channel.type != "identifier":
                return True
            declaration = unique_declaration(text(channel), node, root)
            capacity = _capacity(declaration.value if declaration is not None else None)
            if capacity not in buffered_for_all:
                return True  # may fill up while nobody reads: the sender then holds its slot
            allowed.add(channel.id)
        if kind == "range_clause":
            right = node.child_by_field_name("right")
            if right is not None and right.type == "identifier" and text(right) in channels:
                return True
        if kind == "call_expression":
            name = call_name(node)
            if name is not None and name.endswith(".Wait"):
                return True
            if _lock_call(node) in own_locks:
                return True  # the function may hold that lock while the loop waits
            function_node = node.child_by_field_name("function")
            if function_node is not None and function_node.type == "identifier":
                declaration = unique_declaration(text(function_node), node, root)
                value = declaration.value if declaration is not None else None
                if value is not None and value.type == "func_literal":
                    inner = value.child_by_field_name("body")
                    if depth > 0 or inner is None:
                        return True
                    if _blocks_on_caller(inner, function, loop, skip, own_locks, root, depth + 1):
                        return True
        if kind == "identifier" and text(node) in channels and node.id not in allowed:
            return True  # a channel of the function handed on or used some other way
    return False


def _capacity(value: Node | None) -> str | None:
    if value is None or value.type != "call_expression" or call_name(value) != "make":
        return None
    arguments = call_arguments(value)
    return text(arguments[1]) if len(arguments) == 2 else None


def _channels_of(function: Node) -> set[str]:
    """Names of channels the function makes or takes as parameters."""
    names = {
        name
        for name, declaration in function_parameters(function)
        if (kind := declaration.child_by_field_name("type")) is not None
        and kind.type == "channel_type"
    }
    body = function.child_by_field_name("body")
    for node in descendants_outside_functions(body) if body is not None else ():
        if node.type in ("short_var_declaration", "var_spec"):
            value = node.child_by_field_name("right") or node.child_by_field_name("value")
            target = node.child_by_field_name("left")
            targets = (
                target.named_children if target is not None else node.children_by_field_name("name")
            )
            values = value.named_children if value is not None else []
            for target_node, value_node in zip(targets, values, strict=False):
                if value_node.type == "call_expression" and call_name(value_node) == "make":
                    arguments = call_arguments(value_node)
                    if arguments and arguments[0].type == "channel_type":
                        names.add(text(target_node))
    return names
