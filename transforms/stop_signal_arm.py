"""stop-signal-arm: a goroutine loop with no way out, given one on its owner's stop signal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from tree_sitter import Node

from codemod.callers import context_never_cancelled
from codemod.go.flow import innermost_breakable
from codemod.go.rewrite import alone_on_lines, trailing_comment
from codemod.go.scope import free_name, identifier_names
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
    line_indent,
    made_channel_type,
    receive_operand,
    statement_list,
    text,
    text_or_empty,
)
from codemod.go.timers import imports_time
from codemod.model import Edit, Finding, Fix, Safety
from codemod.owners import (
    STOP_METHOD,
    OwnerFacts,
    is_signal_channel_type,
    package_owner_facts,
    receiver_type,
)
from codemod.package import SIGNAL_NAME, channel_key
from codemod.transform import FileContext, Transform

_SEMAPHORE_NAME = re.compile(r"(?i)sem|tokens?$|slots?$|limit|throttle|lock")
_STOP_REQUEST = re.compile(r"(?i)stop|quit|shutdown|exit|kill|cancel|clos|term")
_TIMER_CALLS = frozenset({"time.After", "time.Tick"})
_CONTEXT_TYPE = re.compile(r"^(?:\w+\.)?Context$")
_TICKER_TYPE = re.compile(r"^\*?time\.(?:Ticker|Timer)$")
_STOP_VARIABLE = re.compile(r"(?i)^(?:stop|quit|done|exit|closing|closed|shutdown|die|dying|term)")
# Calls that end the program or the goroutine: a loop that reaches one is meant to stay.
_ENDS_PROGRAM = re.compile(r"^(?:os\.Exit|log\.Fatal\w*|runtime\.Goexit|\w+\.Fatal\w*)$")


class StopSignalArm(Transform):
    """
    ## What it does
    Finds a goroutine that cannot leave when its owner stops. A loop with no way out: `for
    range t.C` or `for { <-t.C ... }` over a ticker, a `for { select {...} }` waiting on
    timers, `for { ...; time.Sleep(d) }` or `for ; true; <-t.C {`, with no `return`, `break`
    or `goto` that leaves it; a `for v := range ch` over a channel nothing closes; a bare send
    to a loop that leaves on the stop signal. When the owner has a stop signal (a channel
    field that a method of the receiver's type closes, learnt from the code; a context kept
    in a field whose cancel function the package calls; a `chan struct{}` parameter or
    captured variable named like `stopCh`, `done` or `quit`; a `ctx` the function holds), the
    wait becomes a `select` that also returns when it fires. Without one, a loop is reported
    with what to add.

    ## Why is this bad?
    A goroutine that can never leave its loop lives as long as the process. `Ticker.Stop`
    does not close `t.C` (so that a receive cannot see a false tick), so a goroutine ranging
    over a stopped ticker's channel blocks forever; one whose ticker is never stopped, or that
    sleeps between rounds, keeps waking up and working after its owner was closed, holding the
    owner and everything it references. Every owner created and closed (a connection, a
    cache, a server restarted on reload) leaves one such goroutine behind.

    ## Example
    ```go
    import (
        "sync"
        "time"
    )

    type Flusher struct {
        mu      sync.Mutex
        ticker  *time.Ticker
        quit    chan struct{}
        flushed int
    }

    func (f *Flusher) Start() {
        f.ticker = time.NewTicker(time.Second)
        f.quit = make(chan struct{})
        go func() {
            for range f.ticker.C {
                f.mu.Lock()
                f.flushed++
                f.mu.Unlock()
            }
        }()
    }

    func (f *Flusher) Close() {
        f.ticker.Stop()
        close(f.quit)
    }
    ```

    ## Use instead
    ```go
    import (
        "sync"
        "time"
    )

    type Flusher struct {
        mu      sync.Mutex
        ticker  *time.Ticker
        quit    chan struct{}
        flushed int
    }

    func (f *Flusher) Start() {
        f.ticker = time.NewTicker(time.Second)
        f.quit = make(chan struct{})
        go func() {
            for {
                select {
                case <-f.quit:
                    return
                case <-f.ticker.C:
                }
                f.mu.Lock()
                f.flushed++
                f.mu.Unlock()
            }
        }()
    }

    func (f *Flusher) Close() {
        f.ticker.Stop()
        close(f.quit)
    }
    ```

    ## Fix safety
    The wait for the next tick (or the end of a sleep, or the next value) becomes a `select`
    that also returns on the stop signal; the loop's body is left as it was, after the
    `select`, so its `break`, `continue` and labels keep their meaning. Safe when the loop
    waits on tickers or sleeps only and the signal is a channel field closed by a method of
    the receiver's type, a context field whose cancel function the package calls, or a stop
    channel parameter: leaving then drops only ticks nobody waits for. Review when the signal
    is a `ctx` (its cancellation may mean something else to this loop; none when every caller
    in the package passes one nobody cancels), a local channel the function never closes, a
    stop field the package sets again after the goroutine starts (the new case reads it every
    round: that read would race with the write),
    when the `select` being extended also waits for data, for a range over a channel (the
    values queued when the signal fires are dropped), and for a send (its value is dropped).
    A send is reported only on a field of the receiver or a local (a reply to a request
    belongs to its asker), unbuffered, whose receivers in the package include one that can
    leave, outside a `Stop`/`Close`-like method, and not itself a stop request (`stopCh <-`);
    not when the owner type's own receives on that field all take every value, when the
    waiter that leaves drains the channel later (another case of its select, or a `defer`
    ranging over a local channel); with results to return it is reported without a fix, and
    so is any wait whose stop channel the package also sends on (it carries requests: a new
    receive could take one meant for another goroutine). A range is reported only over an
    unexported channel field, or a local channel not handed to any call (`signal.Notify`),
    that nothing in the package closes. `for ; true; <-t.C {`, a `for range` with a variable
    whose element type is not written down, one-line loops, and loops whose wait is not at
    the top level of the body are reported without a fix. With no stop signal a loop is
    reported only when the owner can clearly end: the ticker is stopped somewhere (its
    goroutine then blocks forever) or the receiver's type has a `Stop`/`Close`-like method.

    Left alone: loops that can leave (`return`, a `break` of the loop or of a label around
    it, `goto`, `panic`, `log.Fatal`), goroutines started in `main` or `init` or in a
    `sync.Once`, package `main` without a stop signal or whose function only `main` starts,
    test files, bare receives and sleeps
    outside loops (judged on real code: a loop's own mailbox, a token, a deliberate delay),
    semaphore and lock channels, and channels a call returns.

    ## Go versions
    All. A sleep becomes `case <-time.After(d):` from Go 1.23 (whose unreferenced timers are
    collected at once), and a `time.NewTimer` stopped on the way out before.
    """

    id: ClassVar[str] = "stop-signal-arm"
    title: ClassVar[str] = "Give a goroutine loop with no way out a case on its owner's stop signal"
    safety: ClassVar[Safety] = Safety.SAFE
    tags: ClassVar[tuple[str, ...]] = ("goroutine", "ticker", "channel")
    prefilter: ClassVar[re.Pattern[bytes] | None] = re.compile(rb"\.C\b|time\.Sleep\(|<-|\bchan\b")
    candidates: ClassVar[frozenset[str]] = frozenset({"for_statement", "send_statement"})

    def find(self, ctx: FileContext) -> Iterator[Finding]:
        if ctx.path.name.endswith("_test.go"):
            return
        package_main = _package_name(ctx.source) == "main"
        has_time = imports_time(ctx.parsed.root)
        facts: OwnerFacts | None = None
        for declaration in ctx.parsed.clean_declarations:
            if declaration.type not in ("function_declaration", "method_declaration"):
                continue
            if text_or_empty(declaration.child_by_field_name("name")) in ("main", "init"):
                continue
            for node in descendants_of_type(declaration, self.candidates):
                if node.type == "for_statement":
                    wait = _endless_wait(node) if has_time else None
                    operation = None
                else:
                    wait, operation = None, _blocking_operation(node)
                if wait is None and operation is None:
                    continue
                goroutine = _goroutine_of(node, declaration, ctx)
                in_method = operation is not None and declaration.type == "method_declaration"
                if goroutine is None and not in_method:
                    continue
                if facts is None:
                    ctx.siblings.consulted = True  # the scan cache depends on the siblings
                    facts = package_owner_facts(ctx.parsed.root, ctx.siblings.files())
                if (
                    goroutine is not None
                    and goroutine.type != "func_literal"
                    and text_or_empty(goroutine.child_by_field_name("name")) not in facts.started
                ):
                    goroutine = None
                if (
                    package_main
                    and goroutine is not None
                    and goroutine.type != "func_literal"
                    and _started_only_from_main(goroutine, ctx)
                ):
                    continue  # started once by main: it lives as long as the program, by design
                if goroutine is None:
                    if not in_method:
                        continue
                    # Not started by `go` here, but a method of the owner: whoever calls it
                    # blocks as well once the other side left on the owner's stop signal.
                    goroutine = enclosing_function(node)
                    if goroutine is None or goroutine.type == "func_literal":
                        continue
                if wait is not None:
                    finding = self._check(
                        ctx, node, wait, goroutine, declaration, facts, package_main
                    )
                else:
                    assert operation is not None
                    finding = self._check_operation(ctx, operation, goroutine, declaration, facts)
                if finding is not None:
                    yield finding

    def _check_operation(
        self,
        ctx: FileContext,
        operation: _Operation,
        goroutine: Node,
        declaration: Node,
        facts: OwnerFacts,
    ) -> Finding | None:
        """A bare send or receive in a goroutine whose owner has a stop signal (not a ctx:
        ctx-done-arm handles those): the other side may have left on that signal."""
        receiver, owner_type = (
            receiver_type(declaration) if declaration.type == "method_declaration" else (None, None)
        )
        node = operation.statement
        stop = _stop_signal(node, goroutine, receiver, owner_type, facts, ctx)
        if stop is None or not stop.fires:
            return None  # none, a ctx (ctx-done-arm's case), or a channel nobody may close
        if _context_parameter_visible(node):
            return None
        channel = text(operation.channel)
        if channel == stop.expression or _not_blocking_forever(operation, ctx, facts):
            return None
        if STOP_METHOD.match(text_or_empty(declaration.child_by_field_name("name"))):
            return None  # stopping: the signal may have fired already, on purpose
        if operation.kind == "send" and _STOP_REQUEST.search(_last(channel)):
            return None  # `stopCh <- struct{}{}` asks someone else to stop
        started = goroutine.type == "func_literal" or _started_directly(goroutine, ctx)
        if not _owned_channel(operation.channel, receiver):
            return None  # `req.done <- v`: a reply to a request, whose asker is not the owner
        field = operation.channel.child_by_field_name("field")
        if (
            operation.channel.type == "selector_expression"
            and field is not None
            and facts.of(owner_type).receivers_stay(text(field))
        ):
            return None  # the owner's own receivers take every value: none leaves on the signal
        if field is not None and _drained_after_leaving(text(field), ctx):
            return None  # the waiter that leaves takes the value later (a drain goroutine)
        if operation.channel.type == "identifier" and _drained_on_return(channel, declaration):
            return None  # a deferred drain reads every value until the sender closes it
        what = f"send on `{channel}`"
        where = "in a goroutine" if started else "in a method of the owner"
        message = (
            f"{what} {where} blocks forever once the other side has stopped; "
            f"select on {stop.expression} too"
        )
        if goroutine.child_by_field_name("result") is not None:
            # What to return is the author's call; going on without the value (judged on
            # real code) ran into the next wait for the same stopped side.
            return self.finding(ctx, node, message, Safety.REPORT_ONLY)
        if stop.safety == Safety.REPORT_ONLY:
            return self.finding(ctx, node, message, Safety.REPORT_ONLY)
        if (
            not alone_on_lines(ctx.source, node)
            or node.parent is None
            or (node.parent.type != "statement_list")
        ):
            return self.finding(ctx, node, message, Safety.REPORT_ONLY)
        indent = line_indent(ctx.source, node.start_byte)
        end, comment = trailing_comment(node)
        replacement = (
            f"select {{\n{indent}case {text(node)}:{comment}\n"
            f"{indent}case <-{stop.expression}:\n{indent}\treturn\n{indent}}}"
        )
        fix = Fix(
            (Edit(node.start_byte, end, replacement),),
            f"also select on {stop.expression}",
        )
        # Leaving drops the value sent or the one awaited: whether anyone still waits for
        # it after the stop signal is a reviewer's call.
        return self.finding(ctx, node, message, Safety.REVIEW, fix)

    def _check(
        self,
        ctx: FileContext,
        loop: Node,
        wait: _Wait,
        goroutine: Node,
        declaration: Node,
        facts: OwnerFacts,
        package_main: bool,
    ) -> Finding | None:
        receiver, owner_type = (
            receiver_type(declaration) if declaration.type == "method_declaration" else (None, None)
        )
        stop = _stop_signal(loop, goroutine, receiver, owner_type, facts, ctx)
        what = _describe(wait)
        if wait.kind == "range-channel":
            assert wait.channel is not None
            if stop is None or not _never_closed(wait.channel, stop, ctx, facts):
                return None
            wait = _Wait(
                wait.kind,
                wait.node,
                None,
                wait.variable,
                wait.safety,
                wait.channel,
            )
        if stop is None:
            if package_main:
                return None
            ticker_stopped = (
                wait.ticker is not None
                and _last(wait.ticker) in facts.stopped
                and _stopped_outside(wait.ticker, goroutine, declaration)
            )
            stop_methods = facts.of(owner_type).stop_methods
            if ticker_stopped:
                why = f"`{wait.ticker}.Stop()` does not close its channel, so it blocks forever"
            elif stop_methods:
                why = f"it keeps running after `{stop_methods[0]}`"
            else:
                return None
            return self.finding(
                ctx,
                loop,
                f"goroutine loop {what} has no way out: {why}; add a `chan struct{{}}` the "
                f"owner closes when it stops (or a context it cancels) and select on it",
                Safety.REPORT_ONLY,
            )
        message = f"goroutine loop {what} has no way out; select on {stop.expression} too"
        if goroutine.child_by_field_name("result") is not None:
            return self.finding(ctx, loop, message, Safety.REPORT_ONLY)
        edits = _rewrite(ctx, loop, wait, stop, goroutine)
        if edits is None:
            return self.finding(ctx, loop, message, Safety.REPORT_ONLY)
        safety = min(stop.safety, wait.safety)
        if safety == Safety.REPORT_ONLY:
            return self.finding(ctx, loop, message, Safety.REPORT_ONLY)
        fix = Fix(tuple(edits), f"also select on {stop.expression}")
        return self.finding(ctx, loop, message, safety, fix)


def _stopped_outside(ticker: str, goroutine: Node, declaration: Node) -> bool:
    """A local ticker is stopped outside its goroutine (a `defer t.Stop()` inside the endless
    loop's own function never runs); a field's Stop may be anywhere in the package."""
    if "." in ticker:
        return True
    return any(
        n.type == "call_expression"
        and call_name(n) == f"{ticker}.Stop"
        and not (goroutine.start_byte <= n.start_byte < goroutine.end_byte)
        for n in descendants(declaration)
    )


def _last(expression: str) -> str:
    return expression.rsplit(".", 1)[-1]


def _package_name(source: bytes) -> str | None:
    match = re.search(rb"^package\s+(\w+)", source, re.M)
    return match.group(1).decode() if match else None


# --- the loop and what it waits on --------------------------------------------------------


@dataclass(frozen=True)
class _Wait:
    """Where a loop with no way out waits: the statement to rewrite and how."""

    kind: str  # range-ticker | receive-ticker | select | sleep | unknown
    node: Node  # the loop (range), the `<-t.C` statement, the select, the time.Sleep statement
    ticker: str | None = None  # `t` of `t.C`
    variable: str | None = None  # `tick` of `for tick := range t.C`
    safety: Safety = Safety.SAFE
    channel: Node | None = None  # the data channel of `for v := range ch`


def _endless_wait(loop: Node) -> _Wait | None:
    """How a `for` loop that can never leave waits; None when it can leave or is not ours."""
    body = loop.child_by_field_name("body")
    if body is None:
        return None
    clause = next((c for c in loop.named_children if c.type != "block"), None)
    if clause is not None and clause.type == "range_clause":
        right = clause.child_by_field_name("right")
        left = clause.child_by_field_name("left")
        names = [text(n) for n in left.named_children] if left is not None else []
        if len(names) > 1 or right is None:
            return None
        variable = names[0] if names and names[0] != "_" else None
        ticker = _ticker_of(right)
        if ticker is None:
            # A range over a data channel waits between values whatever its body does: a
            # return on an error does not help while nothing comes. Only a close ends it.
            if variable is not None and not any(c.type == ":=" for c in clause.children):
                return None  # `for v = range ch`: not rewritten
            return _Wait("range-channel", loop, None, variable, Safety.REVIEW, right)
        if _can_leave(loop, body):
            return None
        return _Wait("range-ticker", loop, ticker, variable)
    if _can_leave(loop, body):
        return None
    if clause is not None and clause.type == "for_clause":
        # `for ; true; <-t.C {`: runs the body, then waits for the next tick, for ever.
        condition = clause.child_by_field_name("condition")
        update = clause.child_by_field_name("update")
        ticker = _ticker_of(_received_expression(update))
        if (condition is None or text(condition) == "true") and ticker is not None:
            return _Wait("post-ticker", loop, ticker)
        return None
    if clause is not None and clause.type != "comment":
        return None  # `for cond {` or `for i := 0; ...` can end
    statements = statement_list(body)
    top = [s for s in statements.named_children if s.type != "comment"] if statements else []
    waits: list[_Wait] = []
    for statement in top:
        operand = _received(statement)
        if operand is not None and (ticker := _ticker_of(operand)) is not None:
            waits.append(_Wait("receive-ticker", statement, ticker))
        elif statement.type == "select_statement":
            waits.append(_select_wait(statement))
        elif _is_sleep(statement):
            waits.append(_Wait("sleep", statement))
    if len(waits) == 1 and waits[0].kind != "unknown":
        return waits[0]
    if any(_holds_timer_wait(n) for n in descendants_outside_functions(body)):
        return _Wait("unknown", loop)  # it waits on a timer, but not where we can add a case
    return None


def _can_leave(loop: Node, body: Node) -> bool:
    """Whether control can leave the loop by a return, a break of it, a goto, or a call that
    ends the program (such a loop is meant to stay, not to leak)."""
    labels = {
        text(label)
        for ancestor in [loop, *ancestors(loop)]
        if ancestor.type == "labeled_statement"
        and (label := ancestor.child_by_field_name("label")) is not None
    }
    for node in descendants_outside_functions(body):
        if node.type in ("return_statement", "goto_statement"):
            return True
        if node.type == "break_statement":
            label = next((c for c in node.named_children if c.type == "label_name"), None)
            if label is not None:
                if text(label) in labels:
                    return True
            elif innermost_breakable(node) == loop:
                return True
        if node.type == "continue_statement":
            label = next((c for c in node.named_children if c.type == "label_name"), None)
            own = loop.parent
            own_label = (
                text_or_empty(own.child_by_field_name("label"))
                if own is not None and own.type == "labeled_statement"
                else None
            )
            if label is not None and text(label) in labels and text(label) != own_label:
                return True
        if node.type == "call_expression" and _ENDS_PROGRAM.match(call_name(node) or ""):
            return True
        if node.type == "call_expression" and call_name(node) == "panic":
            return True
    return False


def _ticker_of(channel: Node | None) -> str | None:
    """`t` for the channel `t.C` (a ticker's or timer's); None for any other channel."""
    if channel is None or channel.type != "selector_expression":
        return None
    if text_or_empty(channel.child_by_field_name("field")) != "C":
        return None
    operand = channel.child_by_field_name("operand")
    return text(operand) if operand is not None else None


def _received_expression(node: Node | None) -> Node | None:
    """`ch` of `<-ch`, whether the node is the expression or a statement holding it."""
    if node is None:
        return None
    if node.type == "expression_statement" and node.named_child_count == 1:
        node = node.named_children[0]
    return receive_operand(node)


def _received(statement: Node) -> Node | None:
    if statement.type != "expression_statement" or statement.named_child_count != 1:
        return None
    return receive_operand(statement.named_children[0])


def _is_sleep(statement: Node) -> bool:
    if statement.type != "expression_statement" or statement.named_child_count != 1:
        return False
    call = statement.named_children[0]
    return call.type == "call_expression" and call_name(call) == "time.Sleep"


def _holds_timer_wait(node: Node) -> bool:
    if node.type == "call_expression" and call_name(node) == "time.Sleep":
        return True
    return _ticker_of(receive_operand(node)) is not None


def _select_wait(select: Node) -> _Wait:
    """A select in the loop: all its cases timers (safe), or some wait for data (review)."""
    ticker = None
    data = False
    for case in select.named_children:
        if case.type == "default_case":
            return _Wait("unknown", select)  # it polls: the loop spins, not ours to judge
        if case.type != "communication_case":
            continue
        communication = case.child_by_field_name("communication")
        operand = _communication_operand(communication)
        if operand is None:
            data = True  # a send
            continue
        found = _ticker_of(operand)
        if found is not None:
            ticker = ticker or found
        elif operand.type == "call_expression" and call_name(operand) in _TIMER_CALLS:
            continue
        elif SIGNAL_NAME.search(text(operand)) or text(operand).endswith("Done()"):
            return _Wait("unknown", select)  # it already waits on a signal of its own
        else:
            data = True
    if ticker is None and not data:
        return _Wait("unknown", select)
    return _Wait("select", select, ticker, None, Safety.REVIEW if data else Safety.SAFE)


def _communication_operand(communication: Node | None) -> Node | None:
    if communication is None or communication.type == "send_statement":
        return None
    if communication.type == "receive_statement":
        right = communication.child_by_field_name("right")
        return receive_operand(right)
    if communication.type == "expression_statement" and communication.named_child_count == 1:
        return receive_operand(communication.named_children[0])
    return receive_operand(communication)


def _describe(wait: _Wait) -> str:
    if wait.kind == "range-ticker":
        return f"ranging over `{wait.ticker}.C`"
    if wait.kind in ("receive-ticker", "post-ticker"):
        return f"waiting on `{wait.ticker}.C`"
    if wait.kind == "range-channel" and wait.channel is not None:
        return f"ranging over `{text(wait.channel)}`"
    if wait.kind == "sleep":
        return "sleeping between rounds"
    if wait.kind == "select" and wait.ticker is not None:
        return f"selecting on `{wait.ticker}.C`"
    if wait.kind == "select":
        return "waiting in a select with no timer or stop case"
    return "waiting on a timer"


# --- the goroutine and its owner's stop signal ---------------------------------------------


def _goroutine_of(loop: Node, declaration: Node, ctx: FileContext) -> Node | None:
    """The function the loop runs in when that is a goroutine: a func literal started by `go`
    (not inside a sync.Once), or a method whose name some `go x.name(...)` starts."""
    function = next((a for a in ancestors(loop) if a.type in FUNCTION_TYPES), None)
    if function is None:
        return None
    if function.type == "func_literal":
        call = function.parent
        if call is None or call.type != "call_expression" or call.parent is None:
            return None
        if call.parent.type != "go_statement":
            return None
        if any(a.type == "call_expression" and _is_once(a) for a in ancestors(call)):
            return None
        return function
    if (
        function.type in ("method_declaration", "function_declaration")
        and function == declaration
        and _started_directly(function, ctx)
    ):
        return function
    return None


def _drained_after_leaving(field_name: str, ctx: FileContext) -> bool:
    """A select of the file receives on `x.<field>`, and another of its cases receives on it
    again (`case <-ctx.Done(): go func() { <-x.result }()`): the send completes after all."""
    for select in descendants_of_type(ctx.parsed.root, frozenset({"select_statement"})):
        cases = [c for c in select.named_children if c.type == "communication_case"]
        waiting = [
            c for c in cases if _receives_field(c.child_by_field_name("communication"), field_name)
        ]
        if not waiting:
            continue
        for case in cases:
            if case in waiting:
                continue
            if any(
                _field_received(n, field_name)
                for n in descendants(case)
                if n != case.child_by_field_name("communication")
            ):
                return True
    return False


def _drained_on_return(name: str, declaration: Node) -> bool:
    """A `defer` of the function ranges over or receives from the local channel `name`."""
    for deferred in descendants_of_type(declaration, frozenset({"defer_statement"})):
        for node in descendants(deferred):
            if node.type == "range_clause":
                right = node.child_by_field_name("right")
                if right is not None and text(right) == name:
                    return True
            operand = receive_operand(node) if node.type == "unary_expression" else None
            if operand is not None and text(operand) == name:
                return True
    return False


def _receives_field(communication: Node | None, field_name: str) -> bool:
    return communication is not None and any(
        _field_received(n, field_name) for n in descendants(communication)
    )


def _field_received(node: Node, field_name: str) -> bool:
    operand = receive_operand(node) if node.type == "unary_expression" else None
    return (
        operand is not None
        and operand.type == "selector_expression"
        and text_or_empty(operand.child_by_field_name("field")) == field_name
    )


def _started_only_from_main(function: Node, ctx: FileContext) -> bool:
    """`go name(...)` statements of the file all sit in `func main`, and there is one."""
    name = text_or_empty(function.child_by_field_name("name"))
    starts = [
        statement
        for statement in descendants_of_type(ctx.parsed.root, frozenset({"go_statement"}))
        if _started_call_name(statement) == name
    ]
    return bool(starts) and all(
        any(
            a.type == "function_declaration"
            and text_or_empty(a.child_by_field_name("name")) == "main"
            for a in ancestors(statement)
        )
        for statement in starts
    )


def _started_call_name(statement: Node) -> str | None:
    call = next((c for c in statement.named_children if c.type == "call_expression"), None)
    function = call.child_by_field_name("function") if call is not None else None
    return text(function) if function is not None and function.type == "identifier" else None


def _is_once(call: Node) -> bool:
    name = call_name(call) or ""
    return name.endswith(".Do") and "nce" in name


@dataclass(frozen=True)
class _Stop:
    expression: str  # what to receive from: `s.quit`, `ctx.Done()`
    safety: Safety
    # A signal that does fire on the owner's stop: the owner's closed field or cancelled
    # context, a stop channel handed in, a local one closed in sight (not a `ctx`, whose
    # waits are ctx-done-arm's, nor a local nobody closes).
    fires: bool = True


def _stop_signal(
    loop: Node,
    goroutine: Node,
    receiver: str | None,
    owner_type: str | None,
    facts: OwnerFacts,
    ctx: FileContext,
) -> _Stop | None:
    """The owner's stop signal visible at the loop, most specific first."""
    if receiver is not None and owner_type is not None and not _shadowed(receiver, loop):
        channel = facts.stop_channel(owner_type)
        context = facts.cancelled_context(owner_type)
        field_name = channel[0] if channel is not None else context
        if field_name is not None:
            expression = f"{receiver}.{field_name}" + ("" if channel is not None else ".Done()")
            # The loop reads the field each round: a field set again after the goroutine
            # starts (a restart, a lazy make) would be a data race the old loop never had.
            set_before = _assigned_before_start(field_name, goroutine, ctx)
            settled = facts.field_assignments.get(field_name, 0) <= set_before
            if channel is not None and ctx.package.uses(("field", field_name)).sends:
                # It also carries requests (`s.stop <- 0` for one worker): a new receive
                # could take one meant for another goroutine.
                return _Stop(expression, Safety.REPORT_ONLY)
            return _Stop(expression, Safety.SAFE if settled else Safety.REVIEW)
    for function in [a for a in ancestors(loop) if a.type in FUNCTION_TYPES]:
        for name, declaration in function_parameters(function):
            written = text_or_empty(declaration.child_by_field_name("type"))
            if _shadowed_below(name, loop, function):
                continue
            if is_signal_channel_type(written, name) and _STOP_VARIABLE.match(name):
                return _Stop(name, Safety.SAFE)
            if _CONTEXT_TYPE.match(written.replace(" ", "")) and name != "_":
                if function.type in (
                    "function_declaration",
                    "method_declaration",
                ) and context_never_cancelled(function, name, ctx.package):
                    return None
                return _Stop(f"{name}.Done()", Safety.REVIEW, fires=False)
        local = _local_stop_channel(function, loop)
        if local is not None:
            return local
        if function.type != "func_literal":
            break
    return None


def _local_stop_channel(function: Node, loop: Node) -> _Stop | None:
    """`stop := make(chan struct{})` in an enclosing function, closed there or in a closure it
    keeps (safe), or only made (review: who closes it is out of sight)."""
    body = function.child_by_field_name("body")
    if body is None:
        return None
    for node in descendants_outside_functions(body):
        if node.type != "short_var_declaration" or node.end_byte > loop.start_byte:
            continue
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is None or right is None or left.named_child_count != 1:
            continue
        name = text(left.named_children[0])
        value = right.named_children[0] if right.named_child_count == 1 else None
        if value is None or call_name(value) != "make" or not _STOP_VARIABLE.match(name):
            continue
        arguments = call_arguments(value)
        if not arguments or not is_signal_channel_type(text(arguments[0]), name):
            continue
        closed = any(
            n.type == "call_expression"
            and call_name(n) == "close"
            and [text(a) for a in call_arguments(n)] == [name]
            for n in descendants(body)
        )
        return _Stop(name, Safety.SAFE if closed else Safety.REVIEW, fires=closed)
    return None


def _shadowed(name: str, loop: Node) -> bool:
    """A func literal between the method and the loop declares `name` again."""
    for function in ancestors(loop):
        if function.type == "func_literal":
            if any(n == name for n, _ in function_parameters(function)):
                return True
        elif function.type in FUNCTION_TYPES:
            break
    return False


def _shadowed_below(name: str, loop: Node, function: Node) -> bool:
    for ancestor in ancestors(loop):
        if ancestor == function:
            return False
        if ancestor.type == "func_literal" and any(
            n == name for n, _ in function_parameters(ancestor)
        ):
            return True
    return False


# --- blocking operations in a goroutine ------------------------------------------------------


@dataclass(frozen=True)
class _Operation:
    kind: str  # send (judged on real code, a bare receive next to a stop signal was a
    # loop's own mailbox, a token or a handshake, never a wait for a sender that had left)
    statement: Node
    channel: Node


def _blocking_operation(node: Node) -> _Operation | None:
    """A bare `ch <- v` statement (not a select case)."""
    if node.type != "send_statement" or node.parent is None:
        return None
    if node.parent.type == "communication_case":
        return None
    channel = node.child_by_field_name("channel")
    return None if channel is None else _Operation("send", node, channel)


def _not_blocking_forever(operation: _Operation, ctx: FileContext, facts: OwnerFacts) -> bool:
    """Sends that complete by themselves or are the point: into a buffer, to receivers that
    take every value, on semaphores and tokens, on channels a call returns."""
    channel = operation.channel
    written = text(channel)
    if _ticker_of(channel) is not None or written.endswith(("Done()", ")")):
        return True  # a timer, a Done(), a channel a call returns: not the owner's to judge
    key = channel_key(channel)
    if key is None:
        return True
    uses = ctx.package.uses(key)
    if _SEMAPHORE_NAME.search(_last(written)):
        return True  # a slot taken or given back: waiting for one is the point
    made = _local_make(channel)
    if made is not None and len(call_arguments(made)) > 1:
        return True  # a buffer takes it
    if channel.type == "selector_expression" and facts.always_buffered(
        text_or_empty(channel.child_by_field_name("field"))
    ):
        return True  # a mailbox with room: a slot, not a rendezvous
    # The other side can leave only from a select with another way out; receivers that take
    # every value (a range until close, a bare receive) are there until the send completes.
    return not uses.leaving_receives


def _local_make(channel: Node) -> Node | None:
    """The `make(chan T, ...)` a local channel was declared with, in an enclosing function."""
    if channel.type != "identifier":
        return None
    name = text(channel)
    for function in (a for a in ancestors(channel) if a.type in FUNCTION_TYPES):
        body = function.child_by_field_name("body")
        for node in descendants(body) if body is not None else ():
            if node.type == "short_var_declaration":
                left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
                targets = left.named_children if left is not None else []
                values = right.named_children if right is not None else []
            elif node.type == "var_spec":
                targets = node.children_by_field_name("name")
                value = node.child_by_field_name("value")
                values = value.named_children if value is not None else []
            else:
                continue
            if len(targets) != len(values):
                continue
            for target, value in zip(targets, values, strict=True):
                if text(target) == name and made_channel_type(value) is not None:
                    return value
    return None


def _context_parameter_visible(node: Node) -> bool:
    for function in (a for a in ancestors(node) if a.type in FUNCTION_TYPES):
        for name, declaration in function_parameters(function):
            written = text_or_empty(declaration.child_by_field_name("type")).replace(" ", "")
            if _CONTEXT_TYPE.match(written) and name != "_":
                return True
    return False


# --- the rewrite ---------------------------------------------------------------------------


def _rewrite(
    ctx: FileContext, loop: Node, wait: _Wait, stop: _Stop, goroutine: Node
) -> list[Edit] | None:
    source = ctx.source
    if wait.kind == "unknown" or not alone_on_lines(source, wait.node):
        return None
    if any(n.type == "goto_statement" for n in descendants_outside_functions(goroutine)):
        return None
    indent = line_indent(source, wait.node.start_byte)
    arm = f"case <-{stop.expression}:\n"
    if wait.kind in ("range-ticker", "range-channel"):
        body = loop.child_by_field_name("body")
        assert body is not None
        line_end = source.find(b"\n", body.start_byte)
        after_brace = source[body.start_byte + 1 : line_end].strip().decode("utf-8")
        if line_end == -1 or (after_brace and not after_brace.startswith("//")):
            return None  # code after `{`
        comment = f" {after_brace}" if after_brace else ""
        inner = indent + "\t"
        declare = ""
        if wait.channel is not None:
            if wait.channel.type == "call_expression":
                return None  # `range f()` calls f once; a case would call it every round
            receive = f"<-{text(wait.channel)}"
        else:
            receive = f"<-{wait.ticker}.C"
        if wait.variable is not None:
            element = (
                _channel_element(wait.channel, loop, ctx)
                if wait.channel is not None
                else _ticker_element(wait.ticker or "", loop, ctx)
            )
            if element is None:
                return None
            declare = f"\n{inner}var {wait.variable} {element}"
            receive = f"{wait.variable} = {receive}"
        header = (
            f"for {{{comment}{declare}\n"
            f"{inner}select {{\n"
            f"{inner}{arm}"
            f"{inner}\treturn\n"
            f"{inner}case {receive}:\n"
            f"{inner}}}"
        )
        return [Edit(loop.start_byte, line_end, header)]
    end, comment = trailing_comment(wait.node)
    if wait.kind == "receive-ticker":
        replacement = (
            f"select {{\n{indent}{arm}{indent}\treturn\n"
            f"{indent}case {text(wait.node)}:{comment}\n{indent}}}"
        )
        return [Edit(wait.node.start_byte, end, replacement)]
    if wait.kind == "select":
        close_brace = wait.node.end_byte - 1
        line_start = source.rfind(b"\n", 0, close_brace) + 1
        if source[line_start:close_brace].strip():
            return None
        return [Edit(line_start, line_start, f"{indent}{arm}{indent}\treturn\n")]
    if wait.kind == "sleep":
        call = wait.node.named_children[0]
        arguments = call_arguments(call)
        if len(arguments) != 1:
            return None
        duration = text(arguments[0])
        if ctx.module.go_version >= (1, 23):
            replacement = (
                f"select {{\n{indent}{arm}{indent}\treturn\n"
                f"{indent}case <-time.After({duration}):{comment}\n{indent}}}"
            )
        else:
            timer = free_name("timer", identifier_names(goroutine))
            replacement = (
                f"{timer} := time.NewTimer({duration})\n"
                f"{indent}select {{\n{indent}{arm}{indent}\t{timer}.Stop()\n{indent}\treturn\n"
                f"{indent}case <-{timer}.C:{comment}\n{indent}}}"
            )
        return [Edit(wait.node.start_byte, end, replacement)]
    return None


def _ticker_element(ticker: str, loop: Node, ctx: FileContext) -> str | None:
    """`time.Time` when `ticker` is known to be a *time.Ticker or *time.Timer."""
    facts_fields = [
        (spec, field)
        for spec in descendants(ctx.parsed.root)
        if spec.type == "field_declaration"
        for field in spec.children_by_field_name("name")
        if text(field) == _last(ticker)
    ]
    if "." in ticker:
        written = [text_or_empty(spec.child_by_field_name("type")) for spec, _ in facts_fields]
        return "time.Time" if written and all(_TICKER_TYPE.match(w) for w in written) else None
    function = next((a for a in ancestors(loop) if a.type in FUNCTION_TYPES), None)
    while function is not None:
        body = function.child_by_field_name("body")
        for node in descendants(body) if body is not None else ():
            if node.type == "short_var_declaration":
                left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
                if (
                    left is not None
                    and right is not None
                    and [text(n) for n in left.named_children] == [ticker]
                    and right.named_child_count == 1
                    and call_name(right.named_children[0]) in ("time.NewTicker", "time.NewTimer")
                ):
                    return "time.Time"
        function = next((a for a in ancestors(function) if a.type in FUNCTION_TYPES), None)
    return None


def _started_directly(function: Node, ctx: FileContext) -> bool:
    """Some `go x.name(...)` / `go name(...)` of the package starts this very function."""
    name = text_or_empty(function.child_by_field_name("name"))
    return name in _started_in(ctx.source) or any(
        name in _started_in(source) for _, source in ctx.siblings.files()
    )


_GO_CALL = re.compile(rb"\bgo\s+(?:[\w.\[\]]*\.)?(\w+)\s*\(")


@lru_cache(maxsize=2048)
def _started_in(source: bytes) -> frozenset[str]:
    """Names a file starts with `go`: read once per file per process, not once per loop."""
    return frozenset(m.group(1).decode() for m in _GO_CALL.finditer(source))


def _never_closed(channel: Node, stop: _Stop, ctx: FileContext, facts: OwnerFacts) -> bool:
    """A channel ranged over that nothing in the package closes, and nothing else can: an
    unexported field, or a channel made in the enclosing functions; a call's result (a
    watcher's `ResultChan()`) counts when the stop signal is the owner's, not the call's."""
    written = text(channel)
    if written == stop.expression or SIGNAL_NAME.search(_last(written)):
        return False
    if channel.type == "call_expression":
        return False  # who closes what a call returns is out of sight
    if channel.type == "selector_expression":
        name = text_or_empty(channel.child_by_field_name("field"))
        if not name or not name[0].islower():
            return False
        written_types = [
            stops.fields[name] for stops in facts.types.values() if name in stops.fields
        ]
        if not written_types or not all(_element_of(w) for w in written_types):
            return False  # a map or a slice, or a field of a type out of sight
    elif channel.type == "identifier":
        if _local_make(channel) is None:
            return False  # a parameter: its maker may close it
        if _handed_to_calls(channel):
            return False  # `signal.Notify(ch)`, a producer it is given to: theirs to close
    else:
        return False
    key = channel_key(channel)
    return key is not None and not ctx.package.uses(key).closed


def _channel_element(channel: Node | None, loop: Node, ctx: FileContext) -> str | None:
    """The element type of a field's `chan T` (declared in the file or package) or of a
    local `make(chan T)`; None when it is not written down."""
    if channel is None:
        return None
    written: list[str] = []
    if channel.type == "selector_expression":
        name = text_or_empty(channel.child_by_field_name("field"))
        roots = [ctx.parsed.root]
        for root in roots:
            for spec in descendants(root):
                if spec.type == "field_declaration" and any(
                    text(n) == name for n in spec.children_by_field_name("name")
                ):
                    written.append(text_or_empty(spec.child_by_field_name("type")))
    elif channel.type == "identifier":
        made = _local_make(channel)
        arguments = call_arguments(made) if made is not None else []
        if arguments:
            written.append(text(arguments[0]))
    elements = {_element_of(w) for w in written}
    if len(elements) != 1:
        return None
    return elements.pop()


def _element_of(written: str) -> str | None:
    match = re.match(r"^(?:<-\s*)?chan\s*(?!<-)(.+)$", written.strip())
    return match.group(1).strip() if match else None


def _handed_to_calls(channel: Node) -> bool:
    """The local channel is an argument of some call in its function."""
    name = text(channel)
    function = enclosing_function(channel)
    while function is not None and function.type == "func_literal":
        function = enclosing_function(function)
    body = function.child_by_field_name("body") if function is not None else None
    for node in descendants(body) if body is not None else ():
        if node.type == "argument_list" and any(
            a.type == "identifier" and text(a) == name for a in node.named_children
        ):
            return True
    return False


def _owned_channel(channel: Node, receiver: str | None) -> bool:
    """A field of the receiver itself (`s.jobs`), or a local or parameter (`errc`)."""
    if channel.type == "identifier":
        return True
    operand = channel.child_by_field_name("operand")
    return (
        channel.type == "selector_expression"
        and receiver is not None
        and operand is not None
        and text(operand) == receiver
    )


def _assigned_before_start(field_name: str, goroutine: Node, ctx: FileContext) -> int:
    """How many `x.field = ...` statements run, in the function holding the `go` statement
    that starts this goroutine, before it (then the go statement orders them before every
    read). Only `go` statements of this file are seen; elsewhere counts as none."""
    if goroutine.type == "func_literal":
        statements = [a for a in ancestors(goroutine) if a.type == "go_statement"][:1]
    else:
        name = text_or_empty(goroutine.child_by_field_name("name"))
        statements = [
            n
            for n in descendants(ctx.parsed.root)
            if n.type == "go_statement" and re.search(rf"\b{re.escape(name)}\s*\(", text(n))
        ]
    if len(statements) != 1:
        return 0
    start = statements[0]
    function = enclosing_function(start)
    body = function.child_by_field_name("body") if function is not None else None
    count = 0
    for node in descendants(body) if body is not None else ():
        if node.start_byte >= start.start_byte:
            break
        if node.type == "assignment_statement":
            left = node.child_by_field_name("left")
            count += sum(
                1
                for target in (left.named_children if left is not None else [])
                if target.type == "selector_expression"
                and text_or_empty(target.child_by_field_name("field")) == field_name
            )
    return count
