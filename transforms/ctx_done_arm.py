"""ctx-done-arm: a channel operation that ignores the context.Context the function holds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from tree_sitter import Node

from codemod.callers import context_never_cancelled
from codemod.go.channels import (
    ChannelUse,
    called_with,
    case_received_channel,
    channel_use,
    is_channel_make,
    select_cases,
)
from codemod.go.contexts import NEVER_CANCELLED
from codemod.go.flow import loops_not_holding
from codemod.go.goroutines import is_deferred_literal, runs_as_goroutine
from codemod.go.rewrite import alone_on_lines, trailing_comment
from codemod.go.scope import (
    Declaration,
    declared_by_signature,
    references,
    resolve,
    visible,
)
from codemod.go.syntax import (
    FUNCTION_TYPES,
    ancestors,
    call_arguments,
    call_name,
    descendants,
    descendants_of_type,
    enclosing_function,
    import_specs,
    line_indent,
    receive_operand,
    statement_list,
    text,
    text_or_empty,
)
from codemod.go.types import top_level_types, type_parameters_around, zero_value
from codemod.model import Edit, Finding, Fix, Safety
from codemod.package import (
    SIGNAL_NAME,
    ChannelKey,
    ChannelUses,
    PackageView,
    channel_key,
    send_can_leave,
)
from codemod.transform import FileContext, Transform


class ChannelOperationIgnoresContext(Transform):
    """
    ## What it does
    Finds a bare channel send or receive (`ch <- v`, `v := <-ch`, `<-ch`, `for v := range ch`),
    or a `select` with neither a `default` nor a cancellation arm, in a function or goroutine
    that holds a `context.Context` (a parameter, a captured variable, or `r.Context()` of an
    `*http.Request`), and wraps it in a `select` that also returns on `<-ctx.Done()`.

    ## Why is this bad?
    A send on an unbuffered (or full) channel blocks until a receiver takes the value, and a
    receive blocks until a sender provides one or the channel is closed. When the other side
    has stopped (typically because the same context was cancelled), the operation can never
    complete. The Go runtime never collects a goroutine blocked on a channel operation, so the
    goroutine, its stack and everything it references stay alive for the life of the process.
    Selecting on `ctx.Done()` as well gives the operation a way out once the work is cancelled.

    ## Example
    ```go
    import "context"

    func Render(ctx context.Context, doc string, render func(string) string) (string, error) {
        pages := make(chan string)
        go func() {
            pages <- render(doc)
        }()
        select {
        case page := <-pages:
            return page, nil
        case <-ctx.Done():
            return "", ctx.Err()
        }
    }
    ```

    ## Use instead
    ```go
    import "context"

    func Render(ctx context.Context, doc string, render func(string) string) (string, error) {
        pages := make(chan string)
        go func() {
            select {
            case pages <- render(doc):
            case <-ctx.Done():
                return
            }
        }()
        select {
        case page := <-pages:
            return page, nil
        case <-ctx.Done():
            return "", ctx.Err()
        }
    }
    ```

    ## Fix safety
    The arm drops the value once the context is done, so it is right only where the other side
    gives up on that context too; each rule below was judged on real code (docs/validation.md).
    Safe when the results have obvious zero values: none (bare `return`), or a last result of
    type `error` after basic types (`0`, `""`, `false`), pointers, slices, maps, channels,
    functions and interfaces (`nil`), struct types declared in the file (`T{}`) and type
    parameters (`*new(T)`); review when a result type is declared elsewhere (`*new(T)`). When
    the function's own `case <-ctx.Done():` or `if ctx.Err() != nil {` only returns, the new
    arm returns the same values.

    A value received by a `select` in the same function: safe when every such `select` leaves on
    the same context (or one it was derived from, or the argument a goroutine's context
    parameter is bound to); review when it can also leave on a timer or a `default` (the arm
    covers only the cancelled path, a buffer of one covers both); no fix when it leaves on a
    timer or another context only (it may still be waiting for the value the arm drops). A
    channel an unexported function returns to its callers in the package needs review (a caller
    that reads a fixed count with bare receives would hang).

    The other side out of sight (a parameter, a field, a channel handed to other code): the rest
    of the package is read to tell whether it can stop first. A stream in a loop that never ends
    by itself is safe only with a sign that cancellation reaches it: the function waits on
    `ctx.Done()` elsewhere or takes the context for nothing else, or a receiver in the package
    gives up on a `Done()` (without one, review: such contexts were mostly never cancelled). A
    receive from a parameter, from a producer handed the context out of sight, and a `select`
    over channels from elsewhere (most often a deliberate wait under a context nobody cancels)
    need review. No fix for a one-shot hand-off (a reply, a done value, one message: its reader
    often waits with a bare receive), but in an HTTP handler, whose request context ends when
    the client has gone (review); nor for a send in a loop that ends by itself (a consumer that
    drains to the end loses what the arm drops), a stream with a last word (`if err != nil { ch
    <- err }; return`) or that last word, or a range over a channel that package code only
    passes on.

    Reported without a fix: no `error` result to carry the cancellation, `v := <-ch` where the
    element type is not written down, a `range` whose body breaks out, one-line blocks, operations
    followed by a `close`, `Done`, `Unlock`, `Close` (also `_ = c.Close()`, `xio.SafeClose(ch)`) or,
    after a `range`, a send on another channel that an early return would skip, a goroutine's send
    on a channel the function that started it closes afterwards (`wg.Wait(); close(ch)`: its reader
    takes values until that close), a send that forwards what it ranges over from a local channel
    whose producers send without a way out (the arm would stop the drain and strand them), an own
    `case <-ctx.Done():` or `if ctx.Err() != nil {` that closes, stops or logs something first,
    another test of `ctx.Err()` that leaves (`errors.Is(ctx.Err(), ...)`), and goroutines that
    capture the context in scope but work under another one.

    Left alone as unable to leak, or as deliberate waits: sends that fit a local buffer
    (including the first send into a fresh buffered channel), tokens put back into the channel
    they were taken from, timers and tickers, `ctx.Done()`, receives from channels named like
    `done` or `stop`, channels a call handed the context returns (`ch := f(ctx)`, `ch =
    f(ctx)`, `out, errs := f(ctx)`, or a field of its result: `w := f(ctx); <-w.Err`), waits
    for the function's own goroutines (`go func() {...}()`, `go worker(ch)`, a worker in the
    package that sends on or closes the channel), sends whose receivers in the
    package take every value (a `range` until close), receives from channels the package closes,
    one-shot results (each send ends its goroutine, one per `switch` case, `wg.Go`, a recovered
    panic) into a buffer of one, a dropped `<-sem` (a semaphore slot given back), waits after
    calling the context's `cancel` or after `<-ctx.Done()`, contexts made with a timeout in the
    same function, contexts that are never done (`context.WithoutCancel`, or a context every
    caller in the package passes as `context.Background()`: codemod/callers.py) or still nil
    (`var ctx context.Context` not yet assigned), waits in a test helper on its own `ctx :=
    t.Context()` (done only after the helper's test returned), callbacks that capture the
    context (returning early from `wait.Until(func() {...})` makes it call again at once),
    drain loops (`for range ch {}`, which let a producer finish after an early return), `main`,
    `init` and test files.

    ## Go versions
    All (context.Context exists since Go 1.7).
    """

    id: ClassVar[str] = "ctx-done-arm"
    title: ClassVar[str] = "Select on ctx.Done() around a channel operation that can block forever"
    safety: ClassVar[Safety] = Safety.SAFE
    tags: ClassVar[tuple[str, ...]] = ("channel", "context", "goroutine")
    prefilter: ClassVar[re.Pattern[bytes] | None] = re.compile(rb"Context\b|http\.Request")

    candidates: ClassVar[frozenset[str]] = frozenset(
        {
            "send_statement",
            "expression_statement",
            "short_var_declaration",
            "assignment_statement",
            "for_statement",
            "select_statement",
        }
    )

    def find(self, ctx: FileContext) -> Iterator[Finding]:
        if ctx.path.name.endswith("_test.go"):
            return
        names = _FileNames.of(ctx.parsed.root)
        if names.context is None and names.http is None:
            return
        for declaration in ctx.parsed.clean_declarations:
            if declaration.type not in ("function_declaration", "method_declaration"):
                continue
            name = text_or_empty(declaration.child_by_field_name("name"))
            if declaration.type == "function_declaration" and name in ("main", "init"):
                continue
            for node in descendants_of_type(declaration, self.candidates):
                finding = self._check(ctx, names, node)
                if finding is not None:
                    yield finding

    def _check(self, ctx: FileContext, names: _FileNames, node: Node) -> Finding | None:
        operation = _operation(node)
        if operation is None:
            return None
        function = enclosing_function(node)
        if function is None or is_deferred_literal(function):  # returning early changes nothing
            return None
        cancel = _context_in_scope(node, names)
        if cancel is None or cancel.deadline_of == function:
            return None
        safety = Safety.SAFE
        if operation.kind == "select":
            if not _select_needs_arm(node, cancel, ctx.package):
                return None
            # A select over channels from elsewhere is most often the function's deliberate
            # wait (a signal loop, a server's "never returns"), under a context nobody
            # cancels: judged on real code, its arm almost never fired. A reviewer decides.
            safety = Safety.REVIEW
        else:
            assert operation.channel is not None
            channel = _classify_channel(operation.channel, cancel)
            judged = None if channel is None else _judge(operation, channel, cancel, ctx.package)
            if channel is None or judged is None:
                return None
            safety = min(safety, judged)
            operation.element = channel.element
        if _cancelled_before(node, function, cancel):
            return None  # `cancel(); <-done`: waiting for shutdown after cancelling on purpose
        if _after_done(node, function, cancel):
            return None  # the context is already done here: the arm would win half the time
        if _cleanup_after(node, function) or _sends_elsewhere_after(operation, function):
            safety = Safety.REPORT_ONLY  # an early return would skip a close, unlock or reply
        if _closed_by_launcher(operation, function) or _strands_its_producer(
            operation, ctx.package
        ):
            safety = Safety.REPORT_ONLY
        if _works_under_other_context(node, function, cancel, names):
            safety = Safety.REPORT_ONLY  # which context should end the wait is a human's call
        message = _message(operation, cancel)
        returned = _return_statement(function, cancel, names)
        if returned is None:
            return self.finding(ctx, node, message, Safety.REPORT_ONLY)
        own_exit = _own_exit_when_done(function, cancel, node)
        if own_exit is None:
            # The function's own `case <-ctx.Done():` closes or stops something first, or
            # returns what the arm cannot say here: the new arm would leave another way than
            # the code's own exit (judged wrong on real code).
            safety = Safety.REPORT_ONLY
        elif own_exit:
            # Leave the way the function already does when the context is done (`return nil`
            # where the arm would say `ctx.Err()` made a clean stop look like a failure).
            returned = _Return(own_exit, returned.safety)
        edits = _rewrite(ctx.source, operation, cancel, returned, function)
        if edits is None:
            return self.finding(ctx, node, message, Safety.REPORT_ONLY)
        fix = Fix(tuple(edits), f"also select on {cancel.done}")
        safety = min(safety, returned.safety)
        if (
            safety
            and cancel.parameter_of is not None
            and context_never_cancelled(cancel.parameter_of, cancel.name, ctx.package)
        ):
            # Every caller in the package passes a context nobody cancels (Background, or
            # one its own callers got that way): the arm could never fire.
            return None
        return self.finding(ctx, node, message, safety, fix if safety else None)


# --- what the file calls its imports and types ---------------------------------------------


@dataclass(frozen=True)
class _FileNames:
    context: str | None  # the local name of package "context" (or x/net/context)
    http: str | None  # the local name of package "net/http"
    types: dict[str, Node]  # top-level type name -> its type_spec / type_alias

    @staticmethod
    def of(root: Node) -> _FileNames:
        imports: dict[str, str] = {}
        for imported, alias in import_specs(root):
            path = imported or ""
            imports[path] = alias if alias is not None else path.rsplit("/", 1)[-1]
        context = imports.get("context") or imports.get("golang.org/x/net/context")
        usable = {n for n in (context, imports.get("net/http")) if n not in (None, "_", ".")}
        return _FileNames(
            context if context in usable else None,
            imports.get("net/http") if imports.get("net/http") in usable else None,
            top_level_types(root),
        )


# --- the operations this transform rewrites --------------------------------------------------


@dataclass
class _Operation:
    kind: str  # send | receive | assign | declare | range | select
    statement: Node  # the node replaced (the select for `select`, else the statement)
    channel: Node | None
    targets: list[Node] = field(default_factory=list)  # `v, ok` of a receive or range
    element: str | None = None  # the channel's element type, when written down


def _operation(node: Node) -> _Operation | None:
    kind = node.type
    if kind == "send_statement":
        if node.parent is not None and node.parent.type == "communication_case":
            return None
        return _Operation("send", node, node.child_by_field_name("channel"))
    if kind == "expression_statement":
        receive = node.named_children[0] if node.named_child_count == 1 else None
        operand = receive_operand(receive)
        return None if operand is None else _Operation("receive", node, operand)
    if kind in ("short_var_declaration", "assignment_statement"):
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is None or right is None or right.named_child_count != 1:
            return None
        operand = receive_operand(right.named_children[0])
        if operand is None or not 1 <= left.named_child_count <= 2:
            return None
        if kind == "assignment_statement":
            operator = node.child_by_field_name("operator")
            if operator is None or text(operator) != "=":
                return None
            return _Operation("assign", node, operand, list(left.named_children))
        return _Operation("declare", node, operand, list(left.named_children))
    if kind == "for_statement":
        clause = next((c for c in node.named_children if c.type == "range_clause"), None)
        if clause is None:
            return None
        left = clause.child_by_field_name("left")
        targets = list(left.named_children) if left is not None else []
        declares = any(c.type == ":=" for c in clause.children)
        if len(targets) > 1 or (targets and not declares):
            return None  # two variables: not a channel; `v = range ch`: not rewritten
        body = node.child_by_field_name("body")
        if not targets and body is not None and not body.named_child_count:
            # `for range ch {}` drains a producer so that it can finish: an arm that stops
            # the drain strands the producer it was written for (coredns' transfer, judged
            # wrong on real code).
            return None
        return _Operation("range", node, clause.child_by_field_name("right"), targets)
    if kind == "select_statement":
        return _Operation("select", node, None)
    return None


# --- the context in scope ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Cancel:
    done: str  # `ctx.Done()`
    err: str  # `ctx.Err()`
    name: str  # `ctx`, or `r.Context()`
    cancel_function: str | None = None  # `cancel` of `ctx, cancel := context.WithCancel(...)`
    # The function that made it with WithTimeout/WithDeadline: there it bounds one call,
    # and its expiry says nothing about whether the other side of a channel has gone.
    deadline_of: Node | None = None
    # The function or method declaration whose parameter it is: its callers decide whether
    # anyone can cancel it (codemod/callers.py).
    parameter_of: Node | None = None


_TOP_LEVEL_FUNCTIONS = ("function_declaration", "method_declaration")
_CONTEXT_CONSTRUCTORS = frozenset(
    {
        "WithCancel",
        "WithCancelCause",
        "WithTimeout",
        "WithTimeoutCause",
        "WithDeadline",
        "WithDeadlineCause",
        "WithValue",
    }
)


def _context_in_scope(node: Node, names: _FileNames) -> _Cancel | None:
    """The innermost context.Context visible at node, or `r.Context()` of an *http.Request.

    A context captured from an enclosing function counts only through goroutines: returning
    early from a callback (wait.Until, a visitor) makes its caller call it again at once.
    """
    seen: set[str] = set()
    found: tuple[Declaration, _Cancel] | None = None
    for declaration in visible(node):
        if declaration.name in seen or declaration.name == "_":
            continue
        seen.add(declaration.name)
        name = declaration.name
        if _is_context(declaration, names):
            cancel = _Cancel(
                f"{name}.Done()",
                f"{name}.Err()",
                name,
                _cancel_function(declaration),
                enclosing_function(declaration.identifier) if _has_deadline(declaration) else None,
                declaration.owner
                if _is_parameter(declaration) and declaration.owner.type in _TOP_LEVEL_FUNCTIONS
                else None,
            )
            found = (declaration, cancel)
            break
        if (
            found is None
            and names.http is not None
            and text_or_empty(declaration.type).replace(" ", "") == f"*{names.http}.Request"
        ):
            context = f"{name}.Context()"
            found = (declaration, _Cancel(f"{context}.Done()", f"{context}.Err()", context))
    if found is None:
        return None
    declaration, cancel = found
    if _unset_or_detached(declaration, node, names):
        return None
    owner = enclosing_function(declaration.identifier)
    in_goroutine = False
    for function in ancestors(node):
        if function == owner:
            if not in_goroutine and _ends_with_the_test(declaration):
                return None  # `ctx := t.Context()` is done only after this function returned
            return cancel
        if function.type in FUNCTION_TYPES:
            if not runs_as_goroutine(function):
                return None
            in_goroutine = True
    return None


_TEST_HANDLES = re.compile(r"\*testing\.[TBF]|testing\.TB")


def _ends_with_the_test(declaration: Declaration) -> bool:
    """`ctx := t.Context()`: the testing package cancels it after the test function returns,
    just before its Cleanup functions run, so a wait in that function never sees it done (kubo's
    pin tests, judged harmless three times). A goroutine the test leaves behind does see it."""
    value = declaration.value
    callee = value.child_by_field_name("function") if value is not None else None
    if value is None or value.type != "call_expression" or callee is None:
        return False
    field = callee.child_by_field_name("field")
    if callee.type != "selector_expression" or text_or_empty(field) != "Context":
        return False
    operand = callee.child_by_field_name("operand")
    if operand is None or operand.type != "identifier":
        return False
    handle = resolve(text(operand), value)
    return handle is not None and bool(
        _TEST_HANDLES.fullmatch(text_or_empty(handle.type).replace(" ", ""))
    )


def _works_under_other_context(
    node: Node, function: Node, cancel: _Cancel, names: _FileNames
) -> bool:
    """A goroutine that captures the chosen context without using it, but uses another one:
    `solveCtx, cancelSolve := ...; eg.Go(func() error { stream := f(statusCtx); ... })`.
    The goroutine's author picked the other context on purpose (one may be cancelled on
    success), so which one should end the wait is not for a rewrite to guess."""
    if function.type != "func_literal":
        return False
    used = {text(n) for n in descendants(function) if n.type == "identifier"}
    if cancel.name in used:
        return False
    seen: set[str] = set()
    for declaration in visible(node):
        if declaration.name in seen:
            continue
        seen.add(declaration.name)
        if (
            declaration.name != cancel.name
            and declaration.name in used
            and _is_context(declaration, names)
        ):
            return True
    return False


def _unset_or_detached(declaration: Declaration, node: Node, names: _FileNames) -> bool:
    """`var ctx context.Context` not yet assigned at node (still nil: ctx.Done() would panic),
    or a context that can never be done: `ctx = context.WithoutCancel(ctx)` before node."""
    if names.context is None:
        return False
    assigned: list[Node] = []
    for reference in references(declaration):
        names_node = reference.parent
        holder = names_node.parent if names_node is not None else None
        if (
            holder is not None
            and holder.type == "assignment_statement"
            and holder.child_by_field_name("left") == names_node
            and reference.start_byte < node.start_byte
        ):
            right = holder.child_by_field_name("right")
            values = right.named_children if right is not None else []
            assigned.append(values[0] if len(values) == 1 else holder)
    if _is_local_variable(declaration) and declaration.value is None and not assigned:
        return True
    latest = assigned[-1] if assigned else declaration.value
    callee = (call_name(latest) or "") if latest is not None else ""
    package, _, function = callee.rpartition(".")
    # A context never done: an arm on it is dead code, and the code chose it on purpose.
    return package == names.context and function in NEVER_CANCELLED


# Calls that release or signal: code after the operation that a new `return` would skip.
_CLEANUP_CALLS = frozenset({"close", "Done", "Close", "Stop", "Signal", "Broadcast"})


def _cleanup_after(node: Node, function: Node) -> bool:
    """Whether the function closes, unlocks or signals after node (outside a defer).

    An unlock of a lock taken after node does not count: returning early skips both.
    """
    body = function.child_by_field_name("body")
    if body is None:
        return False
    locked_after: set[str] = set()
    for call in descendants(body):
        if call.start_byte < node.end_byte or call.type != "call_expression":
            continue
        if (
            not _result_ignored(call)
            or enclosing_function(call) != function
            or any(a.type == "defer_statement" for a in ancestors(call))
        ):
            continue
        holder, _, name = (call_name(call) or "").rpartition(".")
        if name in ("Lock", "RLock"):
            locked_after.add(holder)
        elif name in ("Unlock", "RUnlock"):
            if holder not in locked_after:
                return True
        elif name in _CLEANUP_CALLS or name.endswith("Close"):  # xio.SafeClose(ch)
            return True
    return False


def _own_exit_when_done(function: Node, cancel: _Cancel, operation: Node) -> str | None:
    """The return statement of the function's own `case <-ctx.Done():` arms and
    `if ctx.Err() != nil {` blocks when they all just return the same thing, in names visible
    at the operation; "" when it has none; None when one does more (a close, a Stop, a log
    line: avalanchego's "exiting early due to context timeout", then `return nil`, judged
    wrong when the arm returned ctx.Err()), tells how the context ended, or they disagree."""
    exits: set[str] = set()
    kinds = frozenset({"communication_case", "if_statement"})
    for node in descendants_of_type(function, kinds):
        if enclosing_function(node) != function:
            continue
        if node.type == "if_statement":
            test = _context_error_test(node, cancel)
            consequence = node.child_by_field_name("consequence")
            if test in (None, "guard") or consequence is None:
                continue  # `if ready && ctx.Err() == nil {` runs while it is not done
            if test == "other":
                return None  # `if errors.Is(ctx.Err(), context.Canceled)`: which end matters
            statements = statement_list(consequence)
        else:
            operand = case_received_channel(node)
            if operand is None or text(operand) != cancel.done:
                continue
            statements = statement_list(node)
        body = [c for c in statements.named_children if c.type != "comment"] if statements else []
        if len(body) != 1 or body[0].type != "return_statement":
            return None
        for name in descendants_of_type(body[0], frozenset({"identifier"})):
            there = resolve(text(name), name)
            here = resolve(text(name), operation)
            if (there and there.identifier) != (here and here.identifier):
                return None  # a local of the arm's scope, not visible at the operation
        exits.add(" ".join(text(body[0]).split()))
    if len(exits) > 1:
        return None
    return exits.pop() if exits else ""


def _context_error_test(statement: Node, cancel: _Cancel) -> str | None:
    """How an if statement reads ctx.Err(): "done" for `if ctx.Err() != nil {` and
    `if err := ctx.Err(); err != nil {`, "guard" for a condition holding `ctx.Err() == nil`,
    "other" for any other test of it, None when it does not read it."""
    initializer = statement.child_by_field_name("initializer")
    condition = statement.child_by_field_name("condition")
    if condition is None:
        return None
    tested = " ".join(text(condition).split())
    declared = " ".join(text(initializer).split()).split(" := ") if initializer else []
    if cancel.err not in tested and not any(cancel.err in d for d in declared[1:]):
        return None
    if tested == f"{cancel.err} != nil" and initializer is None:
        return "done"
    if len(declared) == 2 and declared[1] == cancel.err and tested == f"{declared[0]} != nil":
        return "done"
    if f"{cancel.err} == nil" in tested:
        return "guard"
    return "other"


def _closed_by_launcher(operation: _Operation, function: Node) -> bool:
    """A goroutine's send on a channel that the function starting it closes afterwards
    (`wg.Wait(); close(results)`): its reader takes values until that close, and an arm that
    wins once the context is done drops values at random (cortex's querytee, whose reader then
    indexed an empty slice: judged wrong)."""
    if operation.kind != "send" or operation.channel is None:
        return False
    name = text(operation.channel)
    inner, outer = function, enclosing_function(function)
    while inner.type == "func_literal" and outer is not None:
        for call in descendants_of_type(outer, _CALLS):
            if call.start_byte > inner.end_byte and call_name(call) == "close":
                arguments = call_arguments(call)
                if arguments and text(arguments[0]) == name:
                    return True
        inner, outer = outer, enclosing_function(outer)
    return False


def _strands_its_producer(operation: _Operation, package: PackageView) -> bool:
    """A send that forwards what it ranges over (`for r := range results { errs <- r.Err }`)
    from a local channel whose producers send without a way out: the arm stops the drain, and
    the producer is then the one stuck (minio-go's RemoveObjects: judged wrong as `safe`)."""
    if operation.kind != "send":
        return False
    loop = next(
        (a for a in ancestors(operation.statement) if a.type in (*FUNCTION_TYPES, "for_statement")),
        None,
    )
    clause = (
        next((c for c in loop.named_children if c.type == "range_clause"), None)
        if loop is not None and loop.type == "for_statement"
        else None
    )
    source = clause.child_by_field_name("right") if clause is not None else None
    if source is None or source.type != "identifier":
        return False
    declaration = resolve(text(source), source)
    if declaration is None or not (
        (declaration.value is not None and is_channel_make(declaration.value, bidirectional=False))
        or _assigned_make(declaration) is not None
    ):
        return False
    uses = _local_uses(declaration)
    if any(not send_can_leave(send) for send in uses.sends):
        return True
    producers = _handed_to_package_functions(uses.escapes, package) if uses.escapes else None
    return producers is not None and producers.sends > producers.leaving_sends


def _sends_elsewhere_after(operation: _Operation, function: Node) -> bool:
    """A worker's `for v := range in { ... }` followed by a send on another channel, outside
    a defer: someone waits for that result (rclone's ListR workers owe one each after their
    input loop), and the arm's early return would skip it."""
    body = function.child_by_field_name("body")
    if body is None or operation.channel is None or operation.kind != "range":
        return False
    name = text(operation.channel)
    return any(
        send.start_byte >= operation.statement.end_byte
        and text_or_empty(send.child_by_field_name("channel")) != name
        and enclosing_function(send) == function
        and not any(a.type == "defer_statement" for a in ancestors(send))
        for send in descendants_of_type(body, _SENDS)
    )


def _result_ignored(call: Node) -> bool:
    """`f()` as a statement, or `_ = f()` / `_, _ = f()`."""
    parent = call.parent
    if parent is not None and parent.type == "expression_list":
        parent = parent.parent
    if parent is None:
        return False
    if parent.type == "expression_statement":
        return True
    left = parent.child_by_field_name("left")
    return (
        parent.type == "assignment_statement"
        and left is not None
        and all(text(n) == "_" for n in left.named_children)
    )


def _has_deadline(declaration: Declaration) -> bool:
    value = declaration.value
    callee = (call_name(value) or "") if value is not None else ""
    return callee.rpartition(".")[2].startswith(("WithTimeout", "WithDeadline"))


def _cancel_function(declaration: Declaration) -> str | None:
    """`cancel` in `ctx, cancel := context.WithCancel(parent)`."""
    names = declaration.identifier.parent
    if declaration.index != 0 or names is None or names.type != "expression_list":
        return None
    if names.named_child_count != 2 or names.named_children[1].type != "identifier":
        return None
    return text(names.named_children[1])


def _after_done(node: Node, function: Node, cancel: _Cancel) -> bool:
    """Whether node runs only once the context is done: in a `case <-ctx.Done():` arm or in
    `if ctx.Err() != nil { ... }`. A select on ctx.Done() there would pick either case at
    random, so a send of `ctx.Err()` would be lost half the time."""
    compact_done = cancel.done.replace(" ", "")
    compact_err = cancel.err.replace(" ", "")
    child = node
    for ancestor in ancestors(node):
        if ancestor == function:
            return False
        if ancestor.type == "statement_list":
            # `<-ctx.Done(); ...; ch <- v`: everything after the wait runs once it is done.
            previous = child.prev_named_sibling
            while previous is not None:
                if "".join(text(previous).split()) == f"<-{compact_done}":
                    return True
                previous = previous.prev_named_sibling
        child = ancestor
        if ancestor.type == "communication_case":
            communication = ancestor.child_by_field_name("communication")
            if communication is not None and "".join(text(communication).split()) in (
                f"<-{compact_done}",
            ):
                return True
        if ancestor.type == "if_statement":
            condition = ancestor.child_by_field_name("condition")
            consequence = ancestor.child_by_field_name("consequence")
            if (
                condition is not None
                and consequence is not None
                and consequence.start_byte <= node.start_byte
                and f"{compact_err}!=nil" in "".join(text(condition).split())
            ):
                return True
    return False


def _cancelled_before(node: Node, function: Node, cancel: _Cancel) -> bool:
    """Whether the function calls the context's cancel function before node."""
    if cancel.cancel_function is None:
        return False
    body = function.child_by_field_name("body")
    if body is None:
        return False
    for call in descendants(body):
        if call.start_byte >= node.start_byte:
            return False
        if (
            call.type == "call_expression"
            and call_name(call) == cancel.cancel_function
            and call.parent is not None
            and call.parent.type == "expression_statement"
            and enclosing_function(call) == function
        ):
            return True
    return False


def _is_context(declaration: Declaration, names: _FileNames) -> bool:
    if declaration.type is not None:
        return names.context is not None and text(declaration.type) == f"{names.context}.Context"
    value = declaration.value
    if value is None or value.type != "call_expression":
        return False
    callee = call_name(value) or ""
    package, _, function = callee.rpartition(".")
    if package == names.context and function in _CONTEXT_CONSTRUCTORS:
        return declaration.index == 0
    if function == "Context" and package and not call_arguments(value):
        return declaration.index == 0  # r.Context(), stream.Context(), cmd.Context()
    arguments = call_arguments(value)
    if declaration.index == 0 and arguments and text(arguments[0]) == declaration.name:
        # ctx, span := tracer.Start(ctx, name): derived from itself, by convention; but
        # `r, ok := t.timeout(r)` keeps whatever r was before (an *http.Request, say).
        prior = resolve(declaration.name, value)
        if prior is not None and prior.identifier != declaration.identifier:
            return _is_context(prior, names)
        return True
    # g, ctx := errgroup.WithContext(ctx)
    return function == "WithContext" and declaration.index == 1


# --- the channel operated on -----------------------------------------------------------------

# Receives from these are waits for a shutdown or completion signal, often the exit path itself.
# Channels made by these fire by themselves: time.After(d), clock.Tick(d).
_TIMER_CALLS = frozenset({"After", "Tick"})


@dataclass(frozen=True)
class _Channel:
    name: str  # the identifier or field name, for the signal heuristic
    declaration: Declaration | None
    element: str | None  # the element type as written, when known
    made: Node | None  # `make(chan T, ...)` in this function, when it is a local channel
    known: bool = False  # written down as a channel (a `chan` type or a make)
    producer_owns: bool = False  # returned by a call that was handed the context


def _classify_channel(expression: Node, cancel: _Cancel | None) -> _Channel | None:
    """What the operand of a channel operation is; None when it cannot block forever."""
    while expression.type == "parenthesized_expression" and expression.named_child_count == 1:
        expression = expression.named_children[0]
    if expression.type == "selector_expression":
        field_name = text_or_empty(expression.child_by_field_name("field"))
        if field_name == "C":
            return None  # a timer's or ticker's channel: it fires
        owned = _field_of_context_call(expression, cancel)
        return _Channel(field_name, None, None, None, producer_owns=owned)
    if expression.type == "index_expression":
        operand = expression.child_by_field_name("operand")
        return _Channel(text_or_empty(operand), None, None, None)
    if expression.type != "identifier":
        return None  # time.After(d), ctx.Done(), f(): the callee decides; leave them alone
    name = text(expression)
    declaration = resolve(name, expression)
    if declaration is None:
        return _Channel(name, None, None, None)
    value = declaration.value
    if declaration.type is not None:
        if declaration.type.type != "channel_type":
            return None
        element = declaration.type.child_by_field_name("value")
        if text_or_empty(element) == "time.Time":
            return None  # a timer's channel kept in a variable
        argument = _argument_for(declaration)
        if argument is not None and argument.type == "identifier":
            # go func(c chan T) { ... }(ch): the goroutine works on the caller's channel.
            outer = _classify_channel(argument, cancel)
            if outer is None or outer.made is not None:
                return outer
        made = _assigned_make(declaration) if _is_local_variable(declaration) else None
        # `var ch chan T; ch = walk(ctx, ...)`: like `ch := walk(ctx, ...)`, its producer
        # closes it when the context is done.
        owned = (
            made is None
            and _is_local_variable(declaration)
            and any(_assigned_from_context_call(r, cancel) for r in references(declaration))
        )
        return _Channel(
            name, declaration, text_or_empty(element) or None, made, known=True, producer_owns=owned
        )
    if value is None:
        return _Channel(name, declaration, None, None)
    if declaration.index != 0:
        # `status, errs := wait(ctx, ...)`: every result of a call handed the context.
        owned = value.type == "call_expression" and _passes_context(value, cancel)
        return _Channel(name, declaration, None, None, producer_owns=owned)
    if is_channel_make(value, bidirectional=False):
        element = call_arguments(value)[0].child_by_field_name("value")
        return _Channel(name, declaration, text_or_empty(element) or None, value, known=True)
    if value.type == "selector_expression":
        if text_or_empty(value.child_by_field_name("field")) == "C":
            return None  # ticker := time.NewTicker(d).C
        owned = _field_of_context_call(value, cancel)
        return _Channel(name, declaration, None, None, producer_owns=owned)
    if value.type == "call_expression":
        if (call_name(value) or "").rpartition(".")[2] in _TIMER_CALLS:
            return None
        owned = _passes_context(value, cancel)
        return _Channel(name, declaration, None, None, producer_owns=owned)
    return _Channel(name, declaration, None, None)


def _field_of_context_call(selector: Node, cancel: _Cancel | None) -> bool:
    """`wait := cli.ContainerWait(ctx, id); <-wait.Error`: a field of what a call handed the
    context returned; its goroutine reports the context's end there (judged wrong: an arm
    beside it dropped the exit status and stranded that goroutine)."""
    operand = selector.child_by_field_name("operand")
    if cancel is None or operand is None or operand.type != "identifier":
        return False
    declaration = resolve(text(operand), operand)
    value = declaration.value if declaration is not None else None
    return (
        declaration is not None
        and declaration.type is None
        and value is not None
        and value.type == "call_expression"
        and _passes_context(value, cancel)
    )


def _assigned_from_context_call(identifier: Node, cancel: _Cancel | None) -> bool:
    """`identifier = f(ctx, ...)`: assigned the result of a call handed the context."""
    names = identifier.parent
    assignment = names.parent if names is not None else None
    if names is None or assignment is None or assignment.type != "assignment_statement":
        return False
    right = assignment.child_by_field_name("right")
    if assignment.child_by_field_name("left") != names or right is None:
        return False
    values = right.named_children if right.type == "expression_list" else [right]
    return (
        len(values) == 1
        and values[0].type == "call_expression"
        and _passes_context(values[0], cancel)
    )


def _argument_for(declaration: Declaration) -> Node | None:
    """The argument bound to a parameter of a func literal called on the spot."""
    literal = declaration.owner
    call = literal.parent
    if (
        literal.type != "func_literal"
        or call is None
        or call.type != "call_expression"
        or call.child_by_field_name("function") != literal
    ):
        return None
    names = [d.identifier for d in declared_by_signature(literal)]
    parameters = literal.child_by_field_name("parameters")
    if parameters is None or any(
        p.type == "variadic_parameter_declaration" for p in parameters.named_children
    ):
        return None
    arguments = call_arguments(call)
    index = names.index(declaration.identifier) if declaration.identifier in names else -1
    return arguments[index] if 0 <= index < len(arguments) else None


def _parameter_for(argument: Node) -> Declaration | None:
    """The parameter that an argument of a func literal called on the spot is bound to."""
    arguments = argument.parent
    call = arguments.parent if arguments is not None else None
    literal = call.child_by_field_name("function") if call is not None else None
    if arguments is None or arguments.type != "argument_list" or literal is None:
        return None
    if literal.type != "func_literal":
        return None
    parameters = [d for d in declared_by_signature(literal)]
    return next(
        (p for p in parameters if _argument_for(p) == argument and p.type is not None), None
    )


def _passes_context(call: Node, cancel: _Cancel | None) -> bool:
    """Whether the call is handed the context: its producer can close the channel on cancel."""
    return cancel is not None and any(text(a) == cancel.name for a in call_arguments(call))


def _is_local_variable(declaration: Declaration) -> bool:
    parent = declaration.identifier.parent
    return parent is not None and parent.type == "var_spec"


def _assigned_make(declaration: Declaration) -> Node | None:
    """The make of `var ch chan T` ... `ch = make(chan T)`, when that is its only assignment."""
    makes = [m for m in map(_make_assigned_to, references(declaration)) if m is not None]
    return makes[0] if len(makes) == 1 else None


def _make_assigned_to(identifier: Node) -> Node | None:
    """The make(chan T) in `identifier = make(chan T)`."""
    names = identifier.parent
    assignment = names.parent if names is not None else None
    if names is None or assignment is None or assignment.type != "assignment_statement":
        return None
    right = assignment.child_by_field_name("right")
    if (
        assignment.child_by_field_name("left") != names
        or names.named_child_count != 1
        or right is None
        or right.named_child_count != 1
        or not is_channel_make(right.named_children[0], bidirectional=False)
    ):
        return None
    return right.named_children[0]


def _judge(
    operation: _Operation, channel: _Channel, cancel: _Cancel, package: PackageView
) -> Safety | None:
    """How far a ctx.Done() arm on this operation can be trusted; None: it cannot leak."""
    receives = operation.kind != "send"
    assert operation.channel is not None
    key = channel_key(operation.channel)
    if receives and channel.made is None and key is not None and package.uses(key).closed:
        return None  # the package closes it (a field, a parameter its function closes)
    if operation.kind == "range" and not channel.known:
        return None  # perhaps a slice or a map
    if receives and (SIGNAL_NAME.search(channel.name) or channel.producer_owns):
        return None
    if _releases_semaphore(operation, channel):
        return None  # `<-sem` gives back a slot taken before: the token is there
    if not receives and _drained_before(operation.statement, operation.channel):
        return None  # `select { case <-ch: default: }; ch <- v`: a one-slot mailbox
    if not receives and _seeds_fresh_buffer(operation.statement, operation.channel):
        return None  # `s := &T{ch: make(chan X, 1)}; s.ch <- x`: room for the one value
    if not receives and _replies_to_request(operation.channel):
        return None  # `req := <-requests; req.reply <- v`: the requester waits for its reply
    if not receives and _returns_token(operation.statement, operation.channel):
        return None  # `v := <-sem; ...; sem <- v`: puts back what it took, there is room
    if channel.made is None or channel.declaration is None:
        # A parameter, field or value from elsewhere: ask the rest of the package.
        return _other_side_elsewhere(operation, channel, cancel, key, package)
    if not receives and _first_into_fresh_buffer(operation.statement, channel):
        return None  # `c := make(chan T, 1); c <- v` before anyone else touches c: room for it
    uses = _local_uses(channel.declaration)
    handed_on = [e for e in uses.escapes if not _hands_out_receive_only(e)]
    if not receives and _fits_buffer(channel.made, uses.sends, bool(handed_on)):
        return None  # every send this function can make fits in the buffer
    if receives and (uses.closed or not uses.escapes):
        # This function closes it, or only its own goroutines send on it: they are the ones
        # to fix, and waiting for them is the point.
        return None
    if uses.escapes:
        # A receive waits for a worker it handed the channel to: only when the worker gets
        # the context too do both sides give up together.
        if receives and not all(_passed_with_context(use, cancel) for use in uses.escapes):
            return None
        workers = _handed_to_package_functions(uses.escapes, package)
        if workers is not None:
            if receives and (workers.closed or workers.sends):
                # The workers it was handed to close it, or send on it: this waits for its
                # own workers, and they are the ones to give a way out (go-cni's attach).
                return None
            if receives and not workers.receives:
                # They only pass it on (into a struct, to other code): the producer is out of
                # sight and usually closes it when done, and a reader that leaves early can
                # block it (telegraf's pipeline, judged wrong).
                return Safety.REPORT_ONLY
            if not receives and workers.receives and not workers.leaving_receives:
                return None  # the workers take every value until the channel is closed
        elif receives:
            # Handed with the context to code out of sight: such a producer usually closes
            # the channel when it is done or cancelled, and the arm then never fires.
            return Safety.REVIEW
        if any(_returned_to_package_callers(use) for use in uses.escapes):
            # Its readers are this package's own callers: one that reads a fixed count with
            # bare receives hangs on the value the arm drops (judged wrong on real code).
            return min(_unknown_other_side(operation, cancel), Safety.REVIEW)
        # Handed elsewhere: whether that side gives up on the context too is not visible.
        return _unknown_other_side(operation, cancel)
    # The receiver can walk away (select with another way out): the sender then blocks forever.
    if uses.receives and all(_select_has_exit(s, None) for s in uses.receives):
        return _receivers_give_up_with(uses.receives, cancel, operation.statement)
    return None


def _receivers_give_up_with(selects: list[Node | None], cancel: _Cancel, operation: Node) -> Safety:
    """How far to trust the arm when this function's own selects receive the value.

    The arm drops the value once the context is done, so it is right only when every receiver
    gives up on that same context (or one it derives from) too. A receiver that waits on a
    timer alone is still waiting when the arm fires: the value it waits for is lost (judged
    wrong on real code); a buffer of one is the fix there. One that also leaves on a timer or a
    default still strands the sender on that path: the arm covers only part of the leak.
    """
    lineage = _context_lineage(cancel, operation)
    safety = Safety.SAFE
    for select in selects:
        assert select is not None  # _select_has_exit(None) is False
        exits = [c for c in select_cases(select) if _is_exit_case(c)]
        if not any(_done_of(c) in lineage for c in exits):
            return Safety.REPORT_ONLY
        if any(_done_of(c) not in lineage for c in exits):
            safety = Safety.REVIEW
    return safety


def _is_exit_case(case: Node, cancel: _Cancel | None = None) -> bool:
    """A `default`, or a receive from a timer, a Done(), a signal channel or a channel the
    producer owns: a way out of the select other than the data it waits for."""
    if case.type == "default_case":
        return True
    operand = case_received_channel(case)
    if operand is None:
        return False
    channel = _classify_channel(operand, cancel)
    return channel is None or channel.producer_owns or bool(SIGNAL_NAME.search(channel.name))


def _done_of(case: Node) -> str | None:
    """`ctx` of `case <-ctx.Done():`."""
    operand = case_received_channel(case)
    if operand is None or operand.type != "call_expression" or call_arguments(operand):
        return None
    callee = operand.child_by_field_name("function")
    if callee is None or callee.type != "selector_expression":
        return None
    owner = callee.child_by_field_name("operand")
    if owner is None or text_or_empty(callee.child_by_field_name("field")) != "Done":
        return None
    return text(owner)


def _context_lineage(cancel: _Cancel, node: Node) -> set[str]:
    """The context's name and the names of the contexts it stands for or was derived from in
    scope: `sub, cancel := context.WithCancel(ctx)`, or the argument bound to a goroutine's
    parameter (`go func(ctx context.Context) {...}(timedCtx)`). When any is done, so is it."""
    lineage = {cancel.name}
    name, at = cancel.name, node
    while True:
        declaration = resolve(name, at)
        if declaration is None:
            break
        value = declaration.value
        if value is None:
            value = _argument_for(declaration)
        elif value.type == "call_expression" and (
            (call_name(value) or "").rpartition(".")[2] in _CONTEXT_CONSTRUCTORS
        ):
            arguments = call_arguments(value)
            value = arguments[0] if arguments else None
        if value is None or value.type != "identifier" or text(value) in lineage:
            break
        name, at = text(value), value
        lineage.add(name)
    return lineage


def _returned_to_package_callers(use: Node) -> bool:
    """`return ch` from an unexported function or method: every reader is in this package."""
    statement = use.parent.parent if use.parent is not None else None
    if statement is None or statement.type != "return_statement":
        return False
    function = enclosing_function(statement)
    if function is None or function.type not in ("function_declaration", "method_declaration"):
        return False
    return not text_or_empty(function.child_by_field_name("name"))[:1].isupper()


def _watches_context(statement: Node, cancel: _Cancel) -> bool:
    """The function around the statement is meant to stop on its context: it waits on
    `ctx.Done()` elsewhere (a poll of `ctx.Err()` between steps is not such a wait), or it
    takes the context as a parameter and uses it nowhere else, so ending this wait is all
    the parameter can be for (`func (t *Ticker) Run(ctx context.Context, out chan<- int)`)."""
    function = enclosing_function(statement)
    if function is None:
        return False
    uses = [n for n in descendants(function) if n.type == "identifier" and text(n) == cancel.name]
    if any(
        n.parent is not None
        and n.parent.type == "selector_expression"
        and n.parent.parent is not None
        and text(n.parent.parent) == cancel.done
        and not _holds(statement, n)
        for n in uses
    ):
        return True
    declaration = resolve(cancel.name, statement)
    return (
        declaration is not None
        and declaration.owner == function
        and _is_parameter(declaration)
        and all(n == declaration.identifier for n in uses)
    )


# A counting semaphore: `sem <- struct{}{}` takes a slot, a discarded `<-sem` gives it back.
_SEMAPHORE_NAME = re.compile(r"(?i)^(sem|sema|semaphore|tokens?|slots?|limiter|throttle)s?$")


def _releases_semaphore(operation: _Operation, channel: _Channel) -> bool:
    """A bare `<-sem` statement (the value dropped) on a channel named as a semaphore: a
    release of a slot the code took before, which finds its token waiting (telegraf's
    delivery trackers were judged so on real code)."""
    return (
        operation.kind == "receive"
        and not operation.targets
        and operation.statement.type == "expression_statement"
        and _SEMAPHORE_NAME.match(channel.name.rpartition(".")[2]) is not None
    )


def _first_into_fresh_buffer(send: Node, channel: _Channel) -> bool:
    """The first use of a buffered channel made in this function, outside any loop around
    the send: the buffer is empty, so the send cannot block."""
    made, declaration = channel.made, channel.declaration
    if made is None or declaration is None or loops_not_holding(send, made):
        return False
    if enclosing_function(send) != enclosing_function(made):
        return False
    arguments = call_arguments(made)
    if len(arguments) < 2 or arguments[1].type != "int_literal":
        return False
    if text(arguments[1]).strip("0_") == "":
        return False  # make(chan T, 0)
    target = send.child_by_field_name("channel")
    return not any(
        made.end_byte <= r.start_byte < send.start_byte
        for r in references(declaration)
        if r != target
    )


def _other_side_elsewhere(
    operation: _Operation,
    channel: _Channel,
    cancel: _Cancel,
    key: ChannelKey | None,
    package: PackageView,
) -> Safety | None:
    """A field, a parameter or a channel from a call: what the rest of the package says.

    A ctx.Done() arm removes a leak only when the other side can stop while this one waits.
    Judged on real code (docs/validation.md), most arms on channels whose other side is out
    of sight never fired: a consumer that ranges until the producer closes, a producer that
    closes when done. So a fix is offered as safe only with a sign that the other side can
    walk away: a receiver in the package that selects on another way out, or a producer
    loop that never ends by itself (its consumer must stop first).
    """
    # Without a sign that cancellation reaches this code (the function waits on ctx.Done()
    # elsewhere, or a receiver in the package gives up on a Done()), the context was judged on
    # real code to be mostly one nobody cancels (Background, the process's signals) or the
    # other side drained anyway: such arms never fire, and a reviewer decides.
    heeded = _watches_context(operation.statement, cancel)
    unknown = _unknown_other_side(operation, cancel)
    if operation.kind == "send":
        uses = package.uses(key) if key is not None and key[0] == "field" else None
        if uses is not None and uses.buffered_makes and not uses.unbuffered_makes:
            # A field that is a buffered mailbox made per call by the function that waits on it:
            # one send finds room, and an arm ready at the same time would drop it at random
            # (echo's timeout middleware, whose error then never reached the chain: judged
            # wrong). A buffer made once and fed by a repeating handler can still fill (dapr's
            # test apps, where the arm was judged correct), so only mailboxes count.
            unknown = unknown if _streams(operation) else Safety.REPORT_ONLY
        if uses is not None and uses.receives:
            if not uses.leaving_receives:
                return None  # every receiver in the package keeps taking values
            heeded = heeded or uses.cancelled_receives > 0
            return unknown if heeded else min(unknown, Safety.REVIEW)
        if _in_endless_loop(operation.statement):
            return unknown if heeded else min(unknown, Safety.REVIEW)
        if _streams(operation):
            # The consumer is out of sight and the loop ends by itself: a consumer that drains
            # to the end loses what the arm drops (terraform's plan diagnostics, judged wrong).
            return Safety.REPORT_ONLY
        return min(unknown, Safety.REVIEW)
    if channel.declaration is not None and _is_parameter(channel.declaration):
        return Safety.REVIEW  # the caller's producer: it usually closes the channel when done
    return unknown if heeded else min(unknown, Safety.REVIEW)


def _is_parameter(declaration: Declaration) -> bool:
    parent = declaration.identifier.parent
    return parent is not None and parent.type in (
        "parameter_declaration",
        "variadic_parameter_declaration",
    )


def _in_endless_loop(statement: Node) -> bool:
    """The innermost loop around the statement is `for { ... }`: it ends only by a return or
    break, so a consumer that stops reading leaves it waiting for good."""
    for ancestor in ancestors(statement):
        if ancestor.type in FUNCTION_TYPES:
            return False
        if ancestor.type == "for_statement":
            return not _breaks_out(ancestor) and all(
                c.type == "block"
                or (c.type == "for_clause" and c.child_by_field_name("condition") is None)
                for c in ancestor.named_children
            )
    return False


def _handed_to_package_functions(escapes: list[Node], package: PackageView) -> ChannelUses | None:
    """What the functions of this package a local channel is passed to (`go worker(ctx, ch)`,
    `s.consume(ch)`) do with it; None when any use hands it elsewhere."""
    merged = ChannelUses()
    for use in escapes:
        call = _call_taking(use)
        callee = call.child_by_field_name("function") if call is not None else None
        if call is None or callee is None:
            return None
        if callee.type == "selector_expression":
            callee = callee.child_by_field_name("field")
        if callee is None or callee.type not in ("identifier", "field_identifier"):
            return None
        arguments = call_arguments(call)
        found = package.parameter_uses(text(callee), arguments.index(use))
        if found is None:
            return None
        merged.add(found)
    return merged


def _unknown_other_side(operation: _Operation, cancel: _Cancel) -> Safety:
    """How far to trust an arm when the channel's other side is out of sight.

    On a stream (the same channel, operated on every iteration of a loop) the other side
    stops taking values once the work is cancelled, and the arm is what lets this side stop
    too. A one-shot hand-off (a reply, a future's result, a done value, one message) was
    wrong or harmless nine times in ten on real code (docs/validation.md): its reader often
    waits without a context and loses the value the arm drops. It gets no fix, but in an
    HTTP handler: the request's context ends when the client has gone, and the job or reply
    is for no one after that (a reviewer decides).
    """
    if not _streams(operation):
        return Safety.REVIEW if cancel.name.endswith(".Context()") else Safety.REPORT_ONLY
    # A stream's reader waits for its last word (an error, a final record): an arm drops a
    # chunk or that word just when the context ends the stream (etcd's GetStream, vitess'
    # watch: judged wrong both as `safe` and as `review`).
    return Safety.REPORT_ONLY if _has_last_word(operation) else Safety.SAFE


def _has_last_word(operation: _Operation) -> bool:
    """A stream that ends with a final send (`if err != nil { ch <- err }; return`) on the
    same channel: its reader waits for that last word (etcd's GetStream), and an arm that
    drops a value mid-stream lets the reader see a clean end of a cut-short stream."""
    if operation.kind != "send" or operation.channel is None:
        return False
    function = enclosing_function(operation.statement)
    if function is None:
        return False
    name = text(operation.channel)
    return any(
        send != operation.statement
        and text_or_empty(send.child_by_field_name("channel")) == name
        and _ends_path(send)
        for send in descendants_of_type(function, _SENDS)
    )


_SENDS = frozenset({"send_statement"})


def _streams(operation: _Operation) -> bool:
    """The operation repeats in a loop on one channel (not a fresh reply channel each time)."""
    if operation.kind == "range":
        return True
    if operation.kind == "send" and _ends_path(operation.statement):
        return False  # `ch <- err; return` in a loop: the last word, not one of a stream
    loop = next(
        (a for a in ancestors(operation.statement) if a.type in ("for_statement", *FUNCTION_TYPES)),
        None,
    )
    if loop is None or loop.type != "for_statement" or operation.channel is None:
        return False
    root = operation.channel
    while root.type in ("selector_expression", "index_expression", "parenthesized_expression"):
        inner = root.child_by_field_name("operand") or (
            root.named_children[0] if root.named_child_count else None
        )
        if inner is None:
            return False
        root = inner
    if root.type != "identifier":
        return False
    declaration = resolve(text(root), root)
    # `rc := pending[id]; rc <- v` or `req := <-queue; req.reply <- v` inside the loop: a
    # different channel each time, so each send is a one-shot reply.
    return declaration is None or not (
        loop.start_byte <= declaration.identifier.start_byte < loop.end_byte
    )


def _replies_to_request(channel: Node | None) -> bool:
    """`x.reply <- v` where x was received from a channel: a request whose sender waits."""
    while channel is not None and channel.type == "index_expression":
        channel = channel.child_by_field_name("operand")
    if channel is None or channel.type != "selector_expression":
        return False
    operand = channel.child_by_field_name("operand")
    while operand is not None and operand.type == "selector_expression":
        operand = operand.child_by_field_name("operand")
    if operand is None or operand.type != "identifier":
        return False
    declaration = resolve(text(operand), operand)
    if declaration is None:
        return False
    if receive_operand(declaration.value) is not None:
        return True  # `case req := <-requests:`
    for reference in references(declaration):
        names = reference.parent
        holder = names.parent if names is not None else None
        if holder is None or holder.type not in ("assignment_statement", "receive_statement"):
            continue
        right = holder.child_by_field_name("right")
        if right is not None and right.type == "expression_list" and right.named_child_count:
            right = right.named_children[0]
        if holder.child_by_field_name("left") == names and receive_operand(right) is not None:
            return True  # `case e = <-w.queue:`
    return False


def _returns_token(statement: Node, channel: Node | None) -> bool:
    """An earlier receive from the same channel in this function, or in the function that
    started this goroutine (`<-sem; go func() { ...; sem <- token }()`): a token put back."""
    function = enclosing_function(statement)
    while function is not None and function.type == "func_literal":
        outer = enclosing_function(function)
        if outer is None:
            break
        function = outer
    if channel is None or function is None:
        return False
    wanted = text(channel)
    for node in descendants(function):
        if node.start_byte >= statement.start_byte:
            break
        operand = receive_operand(node)
        if operand is not None and text(operand) == wanted:
            return True
    return False


def _hands_out_receive_only(use: Node) -> bool:
    """`return ch` as a `<-chan T` result, or `out = ch` into a `<-chan T` variable: whoever
    gets it can only receive, so it adds no sends that could overflow the buffer."""
    names = use.parent
    holder = names.parent if names is not None else None
    if names is not None and names.type == "argument_list" and holder is not None:
        return _receive_only_parameter(holder, names.named_children.index(use))
    if names is None or names.type != "expression_list" or holder is None:
        return False
    index = names.named_children.index(use) if use in names.named_children else -1
    if holder.type == "return_statement":
        function = enclosing_function(holder)
        result = function.child_by_field_name("result") if function is not None else None
        if result is None:
            return False
        kinds = [result] if result.type != "parameter_list" else []
        for declaration in result.named_children if result.type == "parameter_list" else []:
            kind = declaration.child_by_field_name("type")
            count = max(1, len(declaration.children_by_field_name("name")))
            kinds += [kind] * count if kind is not None else []
        return 0 <= index < len(kinds) and text_or_empty(kinds[index]).startswith("<-")
    if holder.type == "assignment_statement" and holder.child_by_field_name("right") == names:
        left = holder.child_by_field_name("left")
        targets = left.named_children if left is not None else []
        if not 0 <= index < len(targets) or targets[index].type != "identifier":
            return False
        target = resolve(text(targets[index]), targets[index])
        return target is not None and text_or_empty(target.type).startswith("<-")
    return False


def _receive_only_parameter(call: Node, index: int) -> bool:
    """`f(ch)` where func f in this file takes that argument as a `<-chan T`."""
    callee = call.child_by_field_name("function")
    if callee is None or callee.type != "identifier":
        return False
    root = call
    while root.parent is not None:
        root = root.parent
    for declaration in root.named_children:
        if declaration.type != "function_declaration":
            continue
        if text_or_empty(declaration.child_by_field_name("name")) != text(callee):
            continue
        kinds: list[Node] = []
        parameters = declaration.child_by_field_name("parameters")
        for parameter in parameters.named_children if parameters is not None else []:
            kind = parameter.child_by_field_name("type")
            count = max(1, len(parameter.children_by_field_name("name")))
            kinds += [kind] * count if kind is not None else []
        return 0 <= index < len(kinds) and text_or_empty(kinds[index]).startswith("<-")
    return False


def _fed_by_own_goroutine(declaration: Declaration) -> bool:
    """A local channel closed or sent on only from goroutines this function starts."""
    owner = enclosing_function(declaration.identifier)
    signals = []
    for node in references(declaration):
        parent = node.parent
        if parent is None:
            continue
        sends = parent.type == "send_statement" and parent.child_by_field_name("channel") == node
        if sends or (parent.type == "argument_list" and called_with(parent) == "close"):
            signals.append(node)
        elif _handed_to_go_statement(node):
            continue  # `go worker(ch)`: a goroutine this function starts feeds it
        elif not _neutral_use(node, parent) and receive_operand(parent) != node:
            return False  # handed to someone else
    if not signals:
        return any(_handed_to_go_statement(n) for n in references(declaration))
    for node in signals:
        started = False
        for ancestor in ancestors(node):
            if ancestor == owner:
                break
            call = ancestor.parent
            if (
                ancestor.type == "func_literal"
                and call is not None
                and call.parent is not None
                and call.parent.type == "go_statement"
            ):
                started = True
        if not started:
            return False
    return True


def _call_taking(argument: Node) -> Node | None:
    """The call that `argument` is passed to directly (`f(a, argument)`), if any."""
    arguments = argument.parent
    if arguments is None or arguments.type != "argument_list":
        return None
    return arguments.parent


def _handed_to_go_statement(identifier: Node) -> bool:
    """`go worker(x, ch)`: the channel is an argument of a call this function starts."""
    call = _call_taking(identifier)
    return call is not None and call.parent is not None and call.parent.type == "go_statement"


def _drained_before(statement: Node, channel: Node | None) -> bool:
    previous = statement.prev_named_sibling
    while previous is not None and previous.type == "comment":
        previous = previous.prev_named_sibling
    if previous is None or previous.type != "select_statement" or channel is None:
        return False
    cases = select_cases(previous)
    if not any(c.type == "default_case" for c in cases):
        return False
    for case in cases:
        operand = case_received_channel(case)
        if operand is not None and text(operand) == text(channel):
            return True
    return False


def _seeds_fresh_buffer(send: Node, channel: Node | None) -> bool:
    """`x.f <- v` once, where x was just built as `&T{f: make(chan E, n)}` in this function."""
    if channel is None or channel.type != "selector_expression":
        return False
    operand, field_node = (
        channel.child_by_field_name("operand"),
        channel.child_by_field_name("field"),
    )
    if operand is None or field_node is None or operand.type != "identifier":
        return False
    declaration = resolve(text(operand), operand)
    literal = declaration.value if declaration is not None else None
    if literal is not None and literal.type == "unary_expression":
        literal = literal.child_by_field_name("operand")
    if literal is None or literal.type != "composite_literal":
        return False
    make = next(
        (
            element.child_by_field_name("value")
            for element in descendants(literal)
            if element.type == "keyed_element"
            and text_or_empty(element.child_by_field_name("key")) == text(field_node)
        ),
        None,
    )
    if make is None or make.type != "literal_element" or make.named_child_count != 1:
        return False
    make = make.named_children[0]
    if not is_channel_make(make, bidirectional=False) or loops_not_holding(send, make):
        return False
    sends = [
        n
        for n in descendants(enclosing_function(send) or send)
        if n.type == "send_statement"
        and text_or_empty(n.child_by_field_name("channel")) == text(channel)
    ]
    return len(sends) == 1 and _fits_buffer(make, sends, escapes=False)


def _passed_with_context(use: Node, cancel: _Cancel) -> bool:
    call = _call_taking(use)
    return call is not None and any(text(a) == cancel.name for a in call_arguments(call))


def _fits_buffer(made: Node, sends: list[Node], escapes: bool) -> bool:
    """Whether the sends on a local channel can never exceed the capacity given to make."""
    arguments = call_arguments(made)
    if len(arguments) < 2 or text(arguments[1]) == "0":
        return False
    capacity = arguments[1]
    if _sized_at_run_time(capacity):
        # make(chan error, len(items)): sized by its author for every send to come.
        return True
    if escapes:
        return False
    by_function: dict[int, list[Node]] = {}
    for send in sends:
        function = enclosing_function(send)
        if function is None or not _runs_once(function, made):
            return False
        loops = loops_not_holding(send, made)
        if loops and not (_ends_path(send) and all(_holds(function, loop) for loop in loops)):
            # A loop repeats the send, unless the send ends the function's run: a retry loop
            # whose every send is followed by return sends once.
            return False
        by_function.setdefault(function.id, []).append(send)
    bounds = {
        key: 1 if all(map(_ends_path, group)) else len(group) for key, group in by_function.items()
    }
    for key, group in by_function.items():
        # `defer func() { if r := recover(); r != nil { ch <- err } }()` in a goroutine whose
        # own sends each end its run: the panic path and those sends exclude each other.
        owner = _recovering_owner(enclosing_function(group[0]))
        if owner is not None and owner.id in bounds and all(map(_ends_path, by_function[owner.id])):
            bounds[owner.id] = max(bounds[owner.id], bounds.pop(key))
    bound = sum(bounds.values())
    if capacity.type == "int_literal":
        return bound <= int(text(capacity), 0)
    return bound <= 1


def _recovering_owner(function: Node | None) -> Node | None:
    """For a deferred func literal that calls recover(), the function that defers it."""
    if function is None or not is_deferred_literal(function):
        return None
    if not any(call_name(c) == "recover" for c in descendants_of_type(function, _CALLS)):
        return None
    return enclosing_function(function)


_CALLS = frozenset({"call_expression"})


def _holds(outer: Node, inner: Node) -> bool:
    return outer.start_byte <= inner.start_byte and inner.end_byte <= outer.end_byte


def _sized_at_run_time(capacity: Node) -> bool:
    """len(xs), n, 2*len(xs): computed in the function, not a package constant."""
    if capacity.type == "int_literal":
        return False
    for node in (capacity, *descendants(capacity)):
        if node.type == "call_expression" and call_name(node) == "len":
            return True
        if node.type == "identifier":
            declaration = resolve(text(node), node)
            holder = declaration.identifier.parent if declaration is not None else None
            if holder is not None and holder.type != "const_spec":
                return True
    return False


def _runs_once(function: Node, made: Node) -> bool:
    """The function that makes the channel, or a literal started once by go or defer."""
    if function.start_byte <= made.start_byte < function.end_byte:
        return True
    call = function.parent
    if call is not None and call.type == "argument_list":
        # wg.Go(func() {...}), g.Go(func() error {...}): started once, like a go statement.
        started = _call_taking(function)
        name = call_name(started) if started is not None else None
        return name is not None and name.endswith(".Go") and len(call.named_children) == 1
    return (
        call is not None
        and call.type == "call_expression"
        and call.child_by_field_name("function") == function
        and call.parent is not None
        and call.parent.type in ("go_statement", "defer_statement")
    )


def _ends_path(send: Node) -> bool:
    """The send is the last thing its function does: followed by return, or at the end,
    also from the end of an `if` block: `if err != nil { ch <- err }; return`."""
    node = send
    while True:
        statements = node.parent
        if statements is None or statements.type != "statement_list":
            return False
        following = node.next_named_sibling
        while following is not None and following.type == "comment":
            following = following.next_named_sibling
        while following is not None and _bare_call(following):
            following = following.next_named_sibling  # `cancel()`, `wg.Done()` on the way out
        if following is not None:
            return following.type == "return_statement"
        block = statements.parent
        if block is not None and block.type in _SWITCH_CASES:
            switch = block.parent  # the last statement of a case: what follows the switch
            if switch is None or switch.type not in _SWITCHES:
                return False
            node = switch
            continue
        holder = block.parent if block is not None else None
        if holder is None:
            return False
        if holder.type in FUNCTION_TYPES:
            return True
        if holder.type != "if_statement":
            return False
        while holder.parent is not None and holder.parent.type == "if_statement":
            holder = holder.parent  # else if: the statement after the whole chain
        node = holder


_SWITCH_CASES = frozenset({"expression_case", "type_case", "default_case"})
_SWITCHES = frozenset({"expression_switch_statement", "type_switch_statement"})


def _bare_call(statement: Node) -> bool:
    """`f()` or `x.f()` as a statement: a call with no arguments (a cancel, a Done)."""
    call = statement.named_children[0] if statement.type == "expression_statement" else None
    return call is not None and call.type == "call_expression" and not call_arguments(call)


@dataclass
class _LocalUses:
    sends: list[Node] = field(default_factory=list)
    receives: list[Node | None] = field(default_factory=list)  # the select, None when bare
    escapes: list[Node] = field(default_factory=list)  # passed, stored, returned, assigned
    closed: bool = False


def _local_uses(declaration: Declaration) -> _LocalUses:
    """How a channel declared in this function is used."""
    uses = _LocalUses()
    for node in references(declaration):
        parent = node.parent
        assert parent is not None
        use = channel_use(node)
        if use is ChannelUse.SEND:
            uses.sends.append(parent)
        elif use is ChannelUse.RECEIVE:
            holder = parent.parent
            if holder is not None and holder.type == "receive_statement":
                case = holder.parent
                uses.receives.append(case.parent if case is not None else None)
            else:
                uses.receives.append(None)
        elif use is ChannelUse.RANGE:
            uses.receives.append(None)
        elif use is ChannelUse.CLOSE:
            uses.closed = True
        elif (parameter := _parameter_for(node)) is not None:
            inner = _local_uses(parameter)  # go func(c chan T) { ... }(ch)
            uses.sends += inner.sends
            uses.receives += inner.receives
            uses.escapes += inner.escapes
            uses.closed = uses.closed or inner.closed
        elif not _neutral_use(node, parent):
            uses.escapes.append(node)
    return uses


def _neutral_use(node: Node, parent: Node) -> bool:
    """close(ch), len(ch), `ch != nil`, `ch = make(chan T)`: uses that hand it to no one."""
    if parent.type == "argument_list":
        return called_with(parent) in ("close", "len", "cap")
    if parent.type == "binary_expression":
        operator = parent.child_by_field_name("operator")
        return operator is not None and operator.type in ("==", "!=")
    return _make_assigned_to(node) is not None


# --- selects ---------------------------------------------------------------------------------


def _closed_in_package(case: Node, package: PackageView) -> bool:
    operand = case_received_channel(case)
    key = channel_key(operand) if operand is not None else None
    return key is not None and key[0] == "field" and package.uses(key).closed


def _select_has_exit(select: Node | None, cancel: _Cancel | None) -> bool:
    """A select with a default, a timer, a Done() or a signal arm: it does not wait forever."""
    return select is not None and any(_is_exit_case(c, cancel) for c in select_cases(select))


def _select_needs_arm(select: Node, cancel: _Cancel, package: PackageView) -> bool:
    cases = select_cases(select)
    if not cases or _select_has_exit(select, cancel):
        return False
    if any(_closed_in_package(case, package) for case in cases):
        return False  # an arm on a channel the package closes: the select ends with it
    for case in cases:
        # An arm that hears from a goroutine this function started: the select waits for
        # its own worker, which is the one to give a way out.
        operand = case_received_channel(case)
        channel = _classify_channel(operand, cancel) if operand is not None else None
        if (
            channel is not None
            and channel.made is not None
            and channel.declaration is not None
            and _fed_by_own_goroutine(channel.declaration)
        ):
            return False
    # Some arm must talk to code outside this function: a select over the function's own
    # workers' channels waits for them, and they are the ones to fix.
    for case in cases:
        communication = case.child_by_field_name("communication")
        if communication is None:
            return False
        if communication.type == "send_statement":
            operand = communication.child_by_field_name("channel")
        else:
            operand = receive_operand(communication.child_by_field_name("right"))
        channel = _classify_channel(operand, cancel) if operand is not None else None
        if channel is None:
            continue
        if channel.made is None or channel.declaration is None:
            return True
        if _local_uses(channel.declaration).escapes:
            return True
    return False


# --- the return statement for the ctx.Done() arm ----------------------------------------------


@dataclass(frozen=True)
class _Return:
    statement: str
    safety: Safety


def _return_statement(function: Node, cancel: _Cancel, names: _FileNames) -> _Return | None:
    result = function.child_by_field_name("result")
    if result is None:
        return _Return("return", Safety.SAFE)
    types: list[Node] = []
    if result.type == "parameter_list":
        for declaration in result.named_children:
            type_node = declaration.child_by_field_name("type")
            if type_node is None:
                return None
            types.extend([type_node] * max(1, len(declaration.children_by_field_name("name"))))
    else:
        types.append(result)
    if not types or text(types[-1]) != "error":
        return None  # no error result to carry the cancellation: a human must choose
    type_parameters = type_parameters_around(function)
    values: list[str] = []
    safety = Safety.SAFE
    for type_node in types[:-1]:
        zero = zero_value(type_node, names.types, type_parameters)
        if zero is None:
            zero, safety = f"*new({text(type_node)})", Safety.REVIEW
        values.append(zero)
    values.append(cancel.err)
    return _Return("return " + ", ".join(values), safety)


# --- the rewrite -----------------------------------------------------------------------------


def _message(operation: _Operation, cancel: _Cancel) -> str:
    channel = text(operation.channel) if operation.channel is not None else ""
    what = {
        "send": f"send on `{channel}`",
        "receive": f"receive from `{channel}`",
        "assign": f"receive from `{channel}`",
        "declare": f"receive from `{channel}`",
        "range": f"range over `{channel}`",
        "select": "select",
    }[operation.kind]
    return (
        f"{what} blocks forever if the other side has gone, although {cancel.done} "
        f"is in scope; select on it too"
    )


def _rewrite(
    source: bytes, operation: _Operation, cancel: _Cancel, returned: _Return, function: Node
) -> list[Edit] | None:
    statement = operation.statement
    if operation.kind == "select":
        return _add_select_arm(source, statement, cancel, returned)
    if not alone_on_lines(source, statement):
        return None
    parent = statement.parent
    if parent is None or parent.type != "statement_list":
        return None  # a label, an if-initializer, a for post statement: leave it to a human
    indent = line_indent(source, statement.start_byte)
    arm = f"{indent}case <-{cancel.done}:\n{indent}\t{returned.statement}\n"
    if operation.kind == "range":
        return _rewrite_range(source, operation, cancel, returned, function, indent)
    prefix = ""
    if operation.kind in ("send", "receive", "assign"):
        communication = text(statement)
    else:  # v := <-ch  ->  var v T; select { case v = <-ch: ... }
        declared = _declarations_for(operation, statement)
        if declared is None:
            return None
        prefix = "".join(f"var {name} {type_}\n{indent}" for name, type_ in declared)
        left = ", ".join(text(t) for t in operation.targets)
        assert operation.channel is not None
        communication = f"{left} = <-{text(operation.channel)}"
    # A trailing comment stays with the operation it described: on the `case` line.
    end, comment = trailing_comment(statement)
    replacement = f"{prefix}select {{\n{indent}case {communication}:{comment}\n{arm}{indent}}}"
    return [Edit(statement.start_byte, end, replacement)]


def _declarations_for(operation: _Operation, statement: Node) -> list[tuple[str, str]] | None:
    """(name, type) for each variable `v, ok := <-ch` declares; None when unknowable."""
    if operation.element is None:
        return None
    declared: list[tuple[str, str]] = []
    for index, target in enumerate(operation.targets):
        name = text(target)
        if target.type != "identifier":
            return None
        if name == "_":
            continue
        if _same_block(name, statement):
            continue  # `:=` assigns the variable already declared in this block
        declared.append((name, operation.element if index == 0 else "bool"))
    return declared


def _same_block(name: str, statement: Node) -> bool:
    """Whether a variable called name is declared earlier in statement's own block."""
    block = statement.parent
    declaration = resolve(name, statement)
    if declaration is None or block is None:
        return False
    owner_block = declaration.identifier
    for ancestor in ancestors(owner_block):
        if ancestor.type == "statement_list":
            return ancestor == block
        if ancestor.type in FUNCTION_TYPES:
            # A parameter lives in the function body's block.
            body = ancestor.child_by_field_name("body")
            return body is not None and block.parent == body
    return False


def _add_select_arm(
    source: bytes, select: Node, cancel: _Cancel, returned: _Return
) -> list[Edit] | None:
    close_brace = select.end_byte - 1
    line_start = source.rfind(b"\n", 0, close_brace) + 1
    if source[line_start:close_brace].strip():
        return None
    indent = line_indent(source, close_brace)
    arm = f"{indent}case <-{cancel.done}:\n{indent}\t{returned.statement}\n"
    return [Edit(line_start, line_start, arm)]


def _rewrite_range(
    source: bytes,
    operation: _Operation,
    cancel: _Cancel,
    returned: _Return,
    function: Node,
    indent: str,
) -> list[Edit] | None:
    loop = operation.statement
    body = loop.child_by_field_name("body")
    if body is None or _breaks_out(body) or _has_goto(function):
        return None
    if any(n.type == "raw_string_literal" and b"\n" in (n.text or b"") for n in descendants(body)):
        return None  # re-indenting would change the string
    if any(n.type == "comment" and b"\n" in (n.text or b"") for n in descendants(body)):
        return None
    open_line_end = source.find(b"\n", body.start_byte)
    close_line_start = source.rfind(b"\n", 0, body.end_byte - 1) + 1
    # A comment after the loop's `{` stays on the new loop's first line.
    comment = source[body.start_byte + 1 : open_line_end].strip().decode("utf-8")
    if (
        open_line_end == -1
        or (comment and not comment.startswith("//"))
        or source[close_line_start : body.end_byte - 1].strip()
        or close_line_start <= open_line_end
    ):
        return None  # `for v := range ch { f(v) }` on one line
    inner = source[open_line_end + 1 : close_line_start].decode("utf-8")
    lines = inner.split("\n")[:-1] if inner.endswith("\n") else inner.split("\n")
    body_text = "".join(("\t\t" + line if line.strip() else "") + "\n" for line in lines)
    used = {text(n) for n in descendants(function) if n.type in ("identifier", "label_name")}
    ok = next(n for n in ("ok", "open", "more", "received", "recvOK") if n not in used)
    if len(operation.targets) == 1 and text(operation.targets[0]) != "_":
        value = text(operation.targets[0])
    else:
        value = "_"
    label = ""
    if _ends_function(loop, function) and function.child_by_field_name("result") is None:
        exit_statement = "return"
    else:
        label = next(n for n in ("loop", "recvLoop", "rangeLoop", "chanLoop") if n not in used)
        exit_statement = f"break {label}"
    assert operation.channel is not None
    head = f"{label}:\n{indent}" if label else ""
    replacement = (
        f"{head}for {{{' ' + comment if comment else ''}\n"
        f"{indent}\tselect {{\n"
        f"{indent}\tcase {value}, {ok} := <-{text(operation.channel)}:\n"
        f"{indent}\t\tif !{ok} {{\n"
        f"{indent}\t\t\t{exit_statement}\n"
        f"{indent}\t\t}}\n"
        f"{body_text}"
        f"{indent}\tcase <-{cancel.done}:\n"
        f"{indent}\t\t{returned.statement}\n"
        f"{indent}\t}}\n"
        f"{indent}}}"
    )
    return [Edit(loop.start_byte, loop.end_byte, replacement)]


_BREAK_SCOPES = frozenset(
    {
        "for_statement",
        "expression_switch_statement",
        "type_switch_statement",
        "select_statement",
        "func_literal",
    }
)


def _breaks_out(body: Node) -> bool:
    """An unlabelled `break` of this loop: inside the new select it would only end the select."""
    stack = list(body.named_children)
    while stack:
        node = stack.pop()
        if node.type == "break_statement" and node.named_child_count == 0:
            return True
        if node.type not in _BREAK_SCOPES:
            stack.extend(node.named_children)
    return False


def _has_goto(function: Node) -> bool:
    return any(n.type == "goto_statement" for n in descendants(function))


def _ends_function(loop: Node, function: Node) -> bool:
    body = function.child_by_field_name("body")
    statements = loop.parent
    return (
        body is not None
        and statements is not None
        and statements.parent == body
        and statements.named_children[-1] == loop
    )
