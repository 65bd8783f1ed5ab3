"""waitgroup-to-errgroup: a WaitGroup fan-out that keeps the first error by hand."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from tree_sitter import Node

from codemod.edits import apply_edits
from codemod.go.syntax import (
    call_arguments,
    call_name,
    descendants,
    descendants_of_type,
    enclosing_function,
    function_parameters,
    line_indent,
    statement_list,
    text,
)
from codemod.model import Edit, Finding, Fix, Safety
from codemod.transform import FileContext, Transform

ERRGROUP = "golang.org/x/sync/errgroup"
SYNC_MODULE = "golang.org/x/sync"
# The newest golang.org/x/sync whose own `go` line is not above the module's (from its go.mod
# files on the module proxy), so requiring it never raises the module's Go version.
SYNC_VERSIONS: tuple[tuple[tuple[int, int], str], ...] = (
    ((1, 26), "v0.25.0"),
    ((1, 25), "v0.22.0"),
    ((1, 24), "v0.19.0"),
    ((1, 23), "v0.16.0"),
    ((1, 18), "v0.11.0"),
    ((1, 17), "v0.4.0"),
    ((0, 0), "v0.2.0"),
)


def sync_version_for(go_version: tuple[int, int]) -> str:
    return next(version for minimum, version in SYNC_VERSIONS if go_version >= minimum)


class WaitgroupToErrgroup(Transform):
    """
    ## What it does
    Finds a `sync.WaitGroup` fan-out whose goroutines keep the first error by hand (a mutex
    and a `firstErr` variable) and never cancel each other, and rewrites it with
    `errgroup.WithContext` from `golang.org/x/sync`. On Go 1.25 and later, a fan-out with no
    error handling (`wg.Add(1)`, `go func() { defer wg.Done(); ... }()`) becomes
    `wg.Go(func() { ... })`.

    ## Why is this bad?
    When one goroutine fails, the others run on to the end: nothing cancels them, and when
    they block (on the network, on a channel, on a context nobody cancels) the caller's
    `wg.Wait()` and every goroutine behind it stay blocked with them. The hand-written
    `mu.Lock(); if firstErr == nil { firstErr = err }` machinery is also easy to get subtly
    wrong (a `wg.Done()` skipped on one path blocks `Wait` forever). `errgroup.Group` keeps the
    first error, and `errgroup.WithContext` cancels the siblings' context when it happens.

    ## Example
    ```go
    import (
        "context"
        "sync"
    )

    func FetchAll(ctx context.Context, urls []string) error {
        var wg sync.WaitGroup
        var mu sync.Mutex
        var firstErr error
        for _, url := range urls {
            wg.Add(1)
            go func(url string) {
                defer wg.Done()
                if err := fetch(ctx, url); err != nil {
                    mu.Lock()
                    if firstErr == nil {
                        firstErr = err
                    }
                    mu.Unlock()
                }
            }(url)
        }
        wg.Wait()
        return firstErr
    }
    ```

    ## Use instead
    ```go
    import (
        "context"

        "golang.org/x/sync/errgroup"
    )

    func FetchAll(ctx context.Context, urls []string) error {
        g, groupCtx := errgroup.WithContext(ctx)
        var firstErr error
        for _, url := range urls {
            url := url
            g.Go(func() error {
                if err := fetch(groupCtx, url); err != nil {
                    return err
                }
                return nil
            })
        }
        firstErr = g.Wait()
        return firstErr
    }
    ```

    ## Fix safety
    Safe for the first-error shape: `g.Wait()` returns the same first error the mutex kept.
    The intended change is that the goroutines now get the group's context, which is
    cancelled as soon as one of them fails (and once `Wait` returns), so siblings stop early
    instead of blocking the caller's `Wait`. Code after `Wait` keeps the original context.
    When no context is in scope, or the goroutines do not use it, errgroup would cancel
    nothing: the finding is reported without a fix.
    Loop variables passed as arguments are copied first (`url := url`) where the module's Go
    version (before 1.22) shares them between iterations. A fan-out that collects every error
    (`errs = append(errs, err)` under the mutex, `errs` declared a `[]error`) is a `review`
    fix: after it, `errs` holds only the first error, since the others are cancelled instead
    of failing on their own. Appending results under the mutex is not recording errors.
    A channel semaphore limiting the fan-out (`sem <- struct{}{}` before `go`, a deferred
    `<-sem` inside) becomes `g.SetLimit(n)`. The fix adds `golang.org/x/sync` to `go.mod` at
    the newest version whose own `go` line is not newer than the module's, and its sums to
    `go.sum` when the Go module proxy can be reached.

    ## Go versions
    All for errgroup. Copies of loop variables passed as arguments are added before Go 1.22
    only, where a loop variable is shared between iterations. `sync.WaitGroup.Go` exists
    since Go 1.25: the `wg.Go` rewrite applies to modules on 1.25 or later only (it removes
    no leak by itself; it makes the lost-`Done` and `Add`-in-goroutine mistakes impossible).
    """

    id: ClassVar[str] = "waitgroup-to-errgroup"
    title: ClassVar[str] = "Replace a hand-written WaitGroup fan-out with errgroup"
    safety: ClassVar[Safety] = Safety.SAFE
    tags: ClassVar[tuple[str, ...]] = ("waitgroup", "errgroup", "goroutine")
    prefilter: ClassVar[re.Pattern[bytes] | None] = re.compile(rb"\.Add\(")

    candidates: ClassVar[frozenset[str]] = frozenset({"go_statement"})

    def find(self, ctx: FileContext) -> Iterator[Finding]:
        for declaration in ctx.parsed.clean_declarations:
            for node in descendants_of_type(declaration, self.candidates):
                fanout = _match_fanout(node)
                if fanout is None:
                    continue
                finding = self._first_error(ctx, fanout) or self._waitgroup_go(ctx, fanout)
                if finding is not None:
                    yield finding

    def _waitgroup_go(self, ctx: FileContext, fanout: _Fanout) -> Finding | None:
        """No error handling at all, Go >= 1.25: `wg.Go` cannot forget the Add or the Done."""
        if not ctx.module.go_at_least(1, 25) or fanout.arguments or fanout.add_statement is None:
            return None
        if fanout.acquire is not None:
            return None  # a limited fan-out: errgroup's SetLimit is the tool, not wg.Go
        mentions = [
            n
            for n in descendants(fanout.literal_body)
            if n.type == "identifier"
            and text(n) == fanout.waitgroup
            and not fanout.done.start_byte <= n.start_byte < fanout.done.end_byte
        ]
        if _error_recordings(fanout) or mentions:
            return None  # the opening `defer wg.Done()` is the only mention allowed
        source = ctx.source
        body = fanout.literal_body
        done_line = source.rfind(b"\n", 0, fanout.done.start_byte)
        inner = (
            source[body.start_byte + 1 : done_line]
            + source[fanout.done.end_byte : body.end_byte - 1]
        ).decode("utf-8")
        add_line = source.rfind(b"\n", 0, fanout.add_statement.start_byte) + 1
        go_line = source.rfind(b"\n", 0, fanout.go_statement.start_byte) + 1
        name = fanout.waitgroup
        fix = Fix(
            (
                Edit(add_line, go_line, ""),
                Edit(
                    fanout.go_statement.start_byte,
                    fanout.go_statement.end_byte,
                    f"{name}.Go(func() {{{inner}}})",
                ),
            ),
            f"use {name}.Go",
        )
        message = (
            f"`{name}.Add(1)` + `go` + `defer {name}.Done()` is `{name}.Go` since Go 1.25: "
            "nothing leaks here today, but later edits to `wg.Go` cannot lose the Add or the "
            "Done (a lost Done blocks Wait forever)"
        )
        return self.finding(ctx, fanout.go_statement, message, Safety.SAFE, fix)

    def _first_error(self, ctx: FileContext, fanout: _Fanout) -> Finding | None:
        recordings = _error_recordings(fanout)
        if not recordings:
            return None
        if any(r is None for r in recordings):
            return self.finding(
                ctx,
                fanout.go_statement,
                "WaitGroup fan-out records errors by hand and never cancels its siblings; "
                "use errgroup (not rewritten: every error is kept, not only the first)",
                Safety.REPORT_ONLY,
            )
        plan = _plan_errgroup(ctx, fanout, [r for r in recordings if r is not None])
        message = (
            f"WaitGroup fan-out keeps the first error in `{fanout.error_var}` by hand and never "
            "cancels the other goroutines; errgroup does both"
        )
        safety = Safety.SAFE
        if fanout.collects_all:
            message = (
                f"WaitGroup fan-out collects every error in `{fanout.error_var}` and never "
                "cancels the other goroutines; errgroup cancels them on the first error "
                "(review: only that first error is kept)"
            )
            safety = Safety.REVIEW
        if plan is None or ctx.module.gomod_path is None:
            return self.finding(ctx, fanout.go_statement, message, Safety.REPORT_ONLY)
        version = sync_version_for(ctx.module.go_version)
        fix = Fix(
            tuple(plan),
            "use errgroup.Group for the fan-out",
            imports=(ERRGROUP,),
            imports_maybe_unused=("sync",),
            requires=((SYNC_MODULE, version),),
        )
        return self.finding(ctx, fanout.go_statement, message, safety, fix)


@dataclass
class _Fanout:
    go_statement: Node
    literal: Node
    literal_body: Node
    arguments: list[Node]
    waitgroup: str
    add_statement: Node | None  # `wg.Add(1)` right before the go statement in the loop
    done: Node  # the `defer wg.Done()` statement opening the goroutine
    loop: Node | None
    function: Node
    wait_statement: Node | None = None
    error_var: str = ""
    mutex: str = ""
    collects_all: bool = False  # `errs = append(errs, err)`: errgroup would keep only the first
    acquire: Node | None = None  # `sem <- struct{}{}` in the loop, before the go statement
    release: Node | None = None  # `defer func() { <-sem }()` opening the goroutine
    declarations: dict[str, Node] = field(default_factory=dict)


def _statement_call(statement: Node) -> tuple[str, str, list[Node]] | None:
    """`x.M(args)` as a statement (or deferred) -> ("x", "M", args)."""
    node = statement
    if node.type in ("expression_statement", "defer_statement") and node.named_child_count:
        node = node.named_children[0]
    if node.type != "call_expression":
        return None
    name = call_name(node)
    if name is None or "." not in name or name.count(".") != 1:
        return None
    receiver, method = name.split(".")
    return receiver, method, call_arguments(node)


def _match_fanout(go_statement: Node) -> _Fanout | None:
    call = go_statement.named_children[0] if go_statement.named_child_count else None
    literal = call.child_by_field_name("function") if call is not None else None
    if call is None or literal is None or literal.type != "func_literal":
        return None
    body = literal.child_by_field_name("body")
    statements = statement_list(body) if body is not None else None
    function = enclosing_function(go_statement)
    if body is None or statements is None or function is None or not statements.named_children:
        return None
    first = statements.named_children[0]
    done = _statement_call(first) if first.type == "defer_statement" else None
    if done is None or done[1] != "Done" or done[2]:
        return None
    waitgroup = done[0]
    parent = go_statement.parent
    loop = parent.parent.parent if parent is not None and parent.parent is not None else None
    if parent is None or loop is None or loop.type != "for_statement":
        return None
    # The loop body is `wg.Add(1)` and the go statement, maybe with a semaphore acquire.
    before = parent.named_children[:-1]
    if parent.named_children[-1] != go_statement or not 1 <= len(before) <= 2:
        return None
    add_statement = acquire = None
    for statement in before:
        step = _statement_call(statement)
        if (
            step is not None
            and step[:2] == (waitgroup, "Add")
            and [text(a) for a in step[2]] == ["1"]
        ):
            add_statement = statement
        elif _semaphore_send(statement) is not None:
            acquire = statement
    if add_statement is None or len(before) != 1 + (acquire is not None):
        return None
    release = None
    if acquire is not None:
        semaphore = _semaphore_send(acquire)
        second = statements.named_children[1] if statements.named_child_count > 1 else None
        if second is None or " ".join(text(second).split()) != (
            f"defer func() {{ <-{semaphore} }}()"
        ):
            return None
        release = second
    if not _declares_waitgroup(function, waitgroup):
        return None
    return _Fanout(
        go_statement=go_statement,
        literal=literal,
        literal_body=body,
        arguments=call_arguments(call),
        waitgroup=waitgroup,
        add_statement=add_statement,
        done=first,
        loop=loop,
        function=function,
        acquire=acquire,
        release=release,
    )


def _semaphore_send(statement: Node) -> str | None:
    """`sem <- struct{}{}` -> "sem"."""
    if statement.type != "send_statement":
        return None
    channel, value = (
        statement.child_by_field_name("channel"),
        statement.child_by_field_name("value"),
    )
    if channel is None or value is None or channel.type != "identifier":
        return None
    return text(channel) if " ".join(text(value).split()) == "struct{}{}" else None


_WAITGROUP_DECLARATION = re.compile(
    r"^(?:var\s+(\w+)\s+sync\.WaitGroup|(\w+)\s*:=\s*(?:&)?sync\.WaitGroup\{\})$"
)


def _declares_waitgroup(function: Node, name: str) -> bool:
    body = function.child_by_field_name("body")
    if body is None:
        return False
    for node in descendants(body):
        if node.type in ("var_declaration", "short_var_declaration"):
            match = _WAITGROUP_DECLARATION.match(text(node))
            if match and name in match.groups():
                return enclosing_function(node) == function
    return False


def _mentions(node: Node, name: str) -> bool:
    return any(c.type == "identifier" and text(c) == name for c in descendants(node))


@dataclass
class _Recording:
    """`mu.Lock(); if firstErr == nil { firstErr = E }; mu.Unlock()` inside the goroutine."""

    statements: list[Node]  # the statements to replace with `return E`
    value: str  # E
    trailing_return: Node | None


_FIRST_ASSIGN = re.compile(r"^if\s+(\w+)\s*==\s*nil\s*\{\s*(\w+)\s*=\s*(.+?)\s*\}$", re.S)


def _error_recordings(fanout: _Fanout) -> list[_Recording | None]:
    """Each place the goroutine stores an error; None for one that is not the first-error shape.

    A locked region that touches neither the error variable nor an error slice (a results
    map under the same mutex) is not a recording and is left as it is.
    """
    windows: list[tuple[list[Node], int, str]] = []
    for node in descendants(fanout.literal_body):
        if node.type != "statement_list" or enclosing_function(node) != fanout.literal:
            continue
        statements = node.named_children
        for index, statement in enumerate(statements):
            call = _statement_call(statement)
            if call is not None and call[1] == "Lock" and statement.type != "defer_statement":
                windows.append((statements, index, call[0]))
    recordings: list[_Recording | None] = []
    others: list[list[Node]] = []
    for statements, index, mutex in windows:
        recording = _first_error_recording(statements, index, mutex, fanout)
        if recording is None and not any(recordings):
            recording = _append_recording(statements, index, mutex, fanout)
        elif recording is not None and fanout.collects_all:
            recording = None  # first-error and every-error recordings mixed: not one shape
        if recording is None:
            others.append(statements[index : index + 3])
        else:
            recordings.append(recording)
    for window in others:
        touched = " ".join(text(s) for s in window)
        if (fanout.error_var and re.search(rf"\b{fanout.error_var}\b", touched)) or re.search(
            r"=\s*append\(\w+,\s*\w*[eE]rr", touched
        ):
            recordings.append(None)
    return recordings


def _first_error_recording(
    statements: list[Node], index: int, mutex: str, fanout: _Fanout
) -> _Recording | None:
    window = statements[index : index + 3]
    if len(window) < 3:
        return None
    middle, unlock = window[1], _statement_call(window[2])
    match = _FIRST_ASSIGN.match(text(middle)) if middle.type == "if_statement" else None
    if (
        match is None
        or match.group(1) != match.group(2)
        or unlock is None
        or unlock[:2] != (mutex, "Unlock")
        or (fanout.error_var and fanout.error_var != match.group(1))
    ):
        return None
    consequence = middle.child_by_field_name("consequence")
    assignment = _only_statement(consequence)
    value = assignment.child_by_field_name("right") if assignment is not None else None
    after = statements[index + 3] if index + 3 < len(statements) else None
    trailing = after if after is not None and text(after) == "return" else None
    if value is None or (after is not None and trailing is None):
        return None  # code after the recording would become unreachable after `return`
    fanout.error_var, fanout.mutex = match.group(1), mutex
    return _Recording(window, text(value), trailing)


_APPEND_ASSIGN = re.compile(r"^(\w+)\s*=\s*append\(\s*(\w+)\s*,\s*(\w+)\s*\)$")


def _append_recording(
    statements: list[Node], index: int, mutex: str, fanout: _Fanout
) -> _Recording | None:
    """`mu.Lock(); errs = append(errs, err); mu.Unlock()`: every error is kept."""
    window = statements[index : index + 3]
    if len(window) < 3 or window[1].type != "assignment_statement":
        return None
    match = _APPEND_ASSIGN.match(" ".join(text(window[1]).split()))
    unlock = _statement_call(window[2])
    if (
        match is None
        or match.group(1) != match.group(2)
        or unlock is None
        or unlock[:2] != (mutex, "Unlock")
        or (fanout.error_var and fanout.error_var != match.group(1))
        or not _declared_error_slice(fanout.function, match.group(1))
    ):
        return None  # an append to a slice of results is not an error recording
    after = statements[index + 3] if index + 3 < len(statements) else None
    trailing = after if after is not None and text(after) == "return" else None
    if after is not None and trailing is None:
        return None
    fanout.error_var, fanout.mutex, fanout.collects_all = match.group(1), mutex, True
    return _Recording(window, match.group(3), trailing)


_ERROR_SLICE_VALUE = re.compile(r"^(?:\[\]error\s*\{.*\}|make\(\s*\[\]error\s*[,)].*)$", re.S)


def _declared_error_slice(function: Node, name: str) -> bool:
    """`name` is declared a `[]error` in `function` or a function around it.

    `var errs []error`, `errs := []error{}`, `errs := make([]error, 0, n)` or a parameter or
    result `errs []error`. A slice of results appended under the mutex is not one: rewriting
    it as errors would return the results from `g.Go` and fail to compile.
    """
    scope: Node | None = function
    while scope is not None:
        declared = _error_slice_declaration(scope, name)
        if declared is not None:
            return declared
        scope = enclosing_function(scope)
    return False


def _error_slice_declaration(function: Node, name: str) -> bool | None:
    """Whether `function`'s own declaration of `name` is a `[]error`; None when it has none."""
    for node in descendants(function):
        if node.type not in ("var_spec", "parameter_declaration", "short_var_declaration"):
            continue
        if enclosing_function(node) != function:
            continue
        if node.type == "short_var_declaration":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            names = [text(n) for n in left.named_children] if left is not None else []
            if name not in names:
                continue
            values = right.named_children if right is not None else []
            if len(values) != len(names):
                return False
            return bool(_ERROR_SLICE_VALUE.match(text(values[names.index(name)]).strip()))
        names = [text(n) for n in node.children_by_field_name("name")]
        if name not in names:
            continue
        declared_type = node.child_by_field_name("type")
        if declared_type is not None:
            return " ".join(text(declared_type).split()) == "[]error"
        value = node.child_by_field_name("value")
        values = value.named_children if value is not None else []
        if len(values) != len(names):
            return False
        return bool(_ERROR_SLICE_VALUE.match(text(values[names.index(name)]).strip()))
    return None


def _only_statement(block: Node | None) -> Node | None:
    statements = statement_list(block) if block is not None else None
    if statements is None or statements.named_child_count != 1:
        return None
    only = statements.named_children[0]
    return only if only.type == "assignment_statement" else None


def _plan_errgroup(
    ctx: FileContext, fanout: _Fanout, recordings: list[_Recording]
) -> list[Edit] | None:
    source = ctx.source
    function_body = fanout.function.child_by_field_name("body")
    loop = fanout.loop
    if function_body is None or loop is None or loop.parent is None:
        return None
    wait = _find_wait(loop, fanout.waitgroup)
    if wait is None:
        return None
    declarations = _find_declarations(function_body, fanout)
    if declarations is None:
        return None
    wg_declaration, mutex_declaration = declarations
    # Every mention of the WaitGroup, mutex and error variable must be one we rewrite.
    handled = [wg_declaration, fanout.add_statement, fanout.done, wait]
    handled += [s for r in recordings for s in r.statements]
    if _mentioned_outside(function_body, fanout.waitgroup, handled):
        return None
    if mutex_declaration is not None and _mentioned_outside(
        function_body, fanout.mutex, [*handled, mutex_declaration]
    ):
        mutex_declaration = None  # the mutex guards other state too: it stays
    if _mentioned_inside(fanout.literal_body, fanout.error_var, recordings):
        return None
    used = {text(n) for n in descendants(fanout.function) if n.type == "identifier"}
    group = next(n for n in ("g", "group", "errGroup", "eg") if n not in used)
    context_param = _context_parameter(fanout.function)
    group_ctx = None
    if context_param is None or not _mentions(fanout.literal_body, context_param):
        return None  # nothing to cancel: errgroup would only tidy the code up
    group_ctx = next(n for n in ("groupCtx", "gctx", "egCtx") if n not in used)
    group_declaration = f"{group}, {group_ctx} := errgroup.WithContext({context_param})"
    edits: list[Edit] = []
    if fanout.acquire is not None:
        limit = _semaphore_limit(source, function_body, fanout)
        if limit is None:
            return None
        capacity, semaphore_declaration = limit
        at = line_indent(source, wg_declaration.start_byte)
        group_declaration += f"\n{at}{group}.SetLimit({capacity})"
        edits.append(_delete_statement(source, semaphore_declaration))

    edits.append(Edit(wg_declaration.start_byte, wg_declaration.end_byte, group_declaration))
    if mutex_declaration is not None:
        edits.append(_delete_statement(source, mutex_declaration))
    indent = line_indent(source, fanout.go_statement.start_byte)
    goroutine = _goroutine_body(source, fanout, recordings, context_param, group_ctx, indent)
    if goroutine is None:
        return None
    copies = _argument_copies(ctx, fanout, indent)
    if copies is None:
        return None
    assert fanout.add_statement is not None
    edits.append(
        Edit(
            # From the first statement of the loop body: `wg.Add(1)`, or the acquire before it.
            min(s.start_byte for s in (fanout.add_statement, fanout.acquire) if s is not None),
            fanout.go_statement.end_byte,
            f"{copies}{group}.Go(func() error {{{goroutine}}})",
        )
    )
    if fanout.collects_all:
        keep = f"{fanout.error_var} = append({fanout.error_var}, err)"
        at = line_indent(source, wait.start_byte)
        check = f"if err := {group}.Wait(); err != nil {{\n{at}\t{keep}\n{at}}}"
        edits.append(Edit(wait.start_byte, wait.end_byte, check))
    else:
        edits.append(Edit(wait.start_byte, wait.end_byte, f"{fanout.error_var} = {group}.Wait()"))
    return edits


def _semaphore_limit(source: bytes, body: Node, fanout: _Fanout) -> tuple[str, Node] | None:
    """The capacity of `sem := make(chan struct{}, N)` when sem is used only as the limit."""
    assert fanout.acquire is not None and fanout.release is not None
    name = _semaphore_send(fanout.acquire)
    statements = statement_list(body)
    if name is None or statements is None:
        return None
    for statement in statements.named_children:
        compact = " ".join(text(statement).split())
        match = re.fullmatch(rf"{name} := make\(chan struct\{{\}}, (.+)\)", compact)
        if match is None:
            continue
        if _mentioned_outside(body, name, [statement, fanout.acquire, fanout.release]):
            return None
        return match.group(1), statement
    return None


def _find_wait(loop: Node, waitgroup: str) -> Node | None:
    sibling = loop.next_named_sibling
    while sibling is not None and sibling.type == "comment":
        sibling = sibling.next_named_sibling
    call = _statement_call(sibling) if sibling is not None else None
    if sibling is None or sibling.type == "defer_statement" or call is None:
        return None
    return sibling if call[:2] == (waitgroup, "Wait") and not call[2] else None


def _find_declarations(body: Node, fanout: _Fanout) -> tuple[Node, Node | None] | None:
    """The `var wg sync.WaitGroup` and `var mu sync.Mutex` statements of the function."""
    statements = statement_list(body)
    if statements is None:
        return None
    wg_declaration = mutex_declaration = None
    for statement in statements.named_children:
        compact = " ".join(text(statement).split())
        if compact in (
            f"var {fanout.waitgroup} sync.WaitGroup",
            f"{fanout.waitgroup} := sync.WaitGroup{{}}",
            f"{fanout.waitgroup} := &sync.WaitGroup{{}}",
        ):
            wg_declaration = statement
        elif compact == f"var {fanout.mutex} sync.Mutex":
            mutex_declaration = statement
    if wg_declaration is None:
        return None
    return wg_declaration, mutex_declaration


def _within(node: Node, containers: list[Node | None]) -> bool:
    return any(
        c is not None and c.start_byte <= node.start_byte and node.end_byte <= c.end_byte
        for c in containers
    )


def _mentioned_outside(body: Node, name: str, handled: list[Node | None]) -> bool:
    return any(
        n.type == "identifier" and text(n) == name and not _within(n, handled)
        for n in descendants(body)
    )


def _mentioned_inside(body: Node, name: str, recordings: list[_Recording]) -> bool:
    handled: list[Node | None] = [s for r in recordings for s in r.statements]
    return _mentioned_outside(body, name, handled)


def _context_parameter(function: Node) -> str | None:
    for name, declaration in function_parameters(function):
        kind = declaration.child_by_field_name("type")
        if kind is not None and text(kind) == "context.Context" and name != "_":
            return name
    return None


def _delete_statement(source: bytes, statement: Node) -> Edit:
    """Remove a statement with its whole line."""
    start = source.rfind(b"\n", 0, statement.start_byte)
    return Edit(start, statement.end_byte, "")


def _goroutine_body(
    source: bytes,
    fanout: _Fanout,
    recordings: list[_Recording],
    context_param: str | None,
    group_ctx: str | None,
    indent: str,
) -> str | None:
    """The goroutine's body as a `func() error`: records become returns, `return nil` at the end."""
    body = fanout.literal_body
    base = body.start_byte + 1
    edits: list[Edit] = []
    for opening in (fanout.done, fanout.release):
        if opening is not None:
            line_start = source.rfind(b"\n", 0, opening.start_byte)
            edits.append(Edit(line_start - base, opening.end_byte - base, ""))
    for recording in recordings:
        first, last = recording.statements[0], recording.statements[-1]
        end = (recording.trailing_return or last).end_byte
        edits.append(Edit(first.start_byte - base, end - base, f"return {recording.value}"))
    for node in descendants(body):
        if group_ctx and node.type == "identifier" and text(node) == context_param:
            # Inside the goroutine, at any depth: the group's context cancels siblings.
            edits.append(Edit(node.start_byte - base, node.end_byte - base, group_ctx))
        elif node.type == "return_statement" and enclosing_function(node) == fanout.literal:
            if any(_within(node, [r.trailing_return]) for r in recordings):
                continue
            if node.named_child_count:
                return None  # a func literal with results is not what we matched
            edits.append(Edit(node.start_byte - base, node.end_byte - base, "return nil"))
    try:
        inner = apply_edits(source[base : body.end_byte - 1], edits).decode("utf-8")
    except ValueError:
        return None  # two rewrites touch the same code: not a shape we are sure of
    statements = statement_list(body)
    last_statement = statements.named_children[-1] if statements is not None else None
    if last_statement is None or last_statement.type != "return_statement":
        inner = inner.rstrip() + f"\n{indent}\treturn nil\n{indent}"
    return inner


def _argument_copies(ctx: FileContext, fanout: _Fanout, indent: str) -> str | None:
    """`param := arg` lines that keep the values the goroutine's arguments captured."""
    parameters = function_parameters(fanout.literal)
    if len(parameters) != len(fanout.arguments):
        return None
    loop_variables = _loop_variables(fanout.loop)
    lines = []
    for (name, _), argument in zip(parameters, fanout.arguments, strict=True):
        if name == "_":
            continue
        same = text(argument) == name
        if same and name in loop_variables and ctx.module.go_at_least(1, 22):
            continue  # per-iteration loop variables since Go 1.22
        lines.append(f"{name} := {text(argument)}\n{indent}")
    return "".join(lines)


def _loop_variables(loop: Node | None) -> set[str]:
    if loop is None:
        return set()
    names: set[str] = set()
    for child in loop.named_children:
        if child.type == "range_clause":
            left = child.child_by_field_name("left")
            names.update(text(n) for n in (left.named_children if left else []))
        elif child.type == "for_clause":
            initializer = child.child_by_field_name("initializer")
            left = initializer.child_by_field_name("left") if initializer else None
            names.update(text(n) for n in (left.named_children if left else []))
    return names
