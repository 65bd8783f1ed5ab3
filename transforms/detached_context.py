"""detached-context: context.Background()/TODO() where the caller's context is in scope."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from tree_sitter import Node

from codemod.callers import context_never_cancelled, package_functions
from codemod.go.contexts import CONTEXT_PATHS, ROOT_CONTEXTS
from codemod.go.goroutines import enclosing_go_statement
from codemod.go.syntax import (
    FUNCTION_TYPES,
    ancestors,
    call_arguments,
    call_name,
    descendants,
    descendants_of_type,
    imported_name,
    statement_list,
    text,
)
from codemod.model import Finding, Safety
from codemod.transform import FileContext, Transform

# Entry points and tests own their lifetime: a fresh context is their job.
ROOT_FUNCTION = re.compile(r"^(?:main|init|(?:Test|Benchmark|Fuzz|Example)(?:$|[^a-z].*))$")
# Cleanup must run even when the caller's context is already done: only report there.
CLEANUP_WORDS = frozenset(
    {
        *("clean", "cleanup", "close", "shutdown", "stop", "tear", "teardown", "release"),
        *("unlock", "destroy", "dispose", "finalize", "terminate", "rollback", "abort"),
        *("cancel", "purge"),  # a cancel request must go out after the caller gave up
    }
)
TRAILING_COMMENT = re.compile(r"//\s*(.*)$")
# Callees that only look something up in the context (a logger, a span, a metric): nothing
# there blocks or can be cancelled, so the context they get detaches no work.
LOOKUP_CALLEES = frozenset(
    {"G", "L", "Ctx", "FromContext", "FromContextOrDiscard", "LoggerFromContext"}
    | {"HandleErrorWithContext", "SpanFromContext", "SpanContextFromContext"}
)
LOOKUP_WORDS = frozenset({"log", "klog", "logr", "bklog", "logger", "logging", "zerolog", "slog"})
LOOKUP_PREFIXES = ("Observe", "Log")
# A comment above an enclosing statement that says the work is meant to run on its own.
DELIBERATE = re.compile(
    r"background|detach|outliv|independ|async|regardless|uncancel|not\s+(?:be\s+)?cancel"
    r"|cancel|fresh\s+context|new\s+context",
    re.IGNORECASE,
)
# What a declaration is scoped to: the rest of its block, or the statement it initialises.
SCOPES = frozenset(
    {
        "statement_list",
        "if_statement",
        "for_statement",
        "expression_switch_statement",
        "type_switch_statement",
        *FUNCTION_TYPES,
    }
)


class DetachedContext(Transform):
    """
    ## What it does
    Finds `context.Background()` and `context.TODO()` inside a function that already
    receives a `context.Context` (or an `*http.Request`), and reports it with the context to
    pass instead: the parameter, or `r.Context()`. It never rewrites (see Fix safety).

    ## Why is this bad?
    Cancellation flows down the tree of contexts: when a caller gives up (a client
    disconnects, a deadline passes, a server shuts down), only work running under a context
    derived from the caller's sees `ctx.Done()` close. A call made with
    `context.Background()` is cut off from that tree. A goroutine it starts that waits on
    `<-ctx.Done()`, or one that blocks sending results nobody reads any more, is never woken:
    the Go runtime does not collect a goroutine blocked on a channel, so it and everything it
    references stay alive for the life of the process.

    ## Example
    ```go
    import (
        "context"
        "net"
        "time"
    )

    func Lookup(ctx context.Context, r *net.Resolver, host string) ([]string, error) {
        tctx, cancel := context.WithTimeout(context.Background(), time.Second)
        defer cancel()
        return r.LookupHost(tctx, host)
    }
    ```

    ## Use instead
    ```go
    import (
        "context"
        "net"
        "time"
    )

    func Lookup(ctx context.Context, r *net.Resolver, host string) ([]string, error) {
        tctx, cancel := context.WithTimeout(ctx, time.Second)
        defer cancel()
        return r.LookupHost(tctx, host)
    }
    ```

    ## Fix safety
    Report only. Which context should end a piece of work is the author's decision: judged on
    code no rule was written from (three corpora, docs/validation.md), passing the caller's
    context was wrong in 10 of 36 fixes (a cleanup, a stop, a cancel request or a second clock
    that must outlive the caller; options the callee reads from its context) and removed a real
    leak in 4. Rules learnt from each sample caught only the shapes seen, so the transform
    points at the call and names the context, and does not rewrite it.

    No finding where a fresh context is the point or looks deliberate: inside `defer`, after
    `<-ctx.Done()` (or after a `select` or loop, labelled or not, that goes on once the context
    is done), for `ctx = context.Background()` defaults, for comparisons such as `ctx !=
    context.Background()`, for logger, span and metric lookups (`log.G(context.TODO())`), when
    a same-file callee names that parameter `_`, in `main`, `init`, test and example functions;
    where every caller in the package passes a context nobody cancels (codemod/callers.py);
    where the context is stored in a field or package variable (or derived with a cancel that
    is not simply deferred), a comment sits on or above the statement or its `go` statement,
    the parameter is reassigned, shadowed or `_`, the function is a cleanup (`Close`, `Stop`,
    `release`, `purge`...) or reads its context's `Deadline()`, a goroutine is started from an
    HTTP handler (net/http cancels `r.Context()` as soon as the handler returns); where the
    context, or what it builds, may outlive the call or be a choice: it is assigned as is or
    returned as is, it sits in a func literal that is stored or returned or handed to a cleanup
    registration (`t.Cleanup`, `AddOnClose`, `context.AfterFunc`), the callee's result is
    returned or stored, the callee is a cleanup (`Release`, `Close`, `Shutdown`, `Cancel`...),
    a function value made in this function, or a same-file function that opens with `if ctx
    == nil || ctx.Err() != nil`, the same callee gets the caller's context in the other branch
    of an `if`, a comment above the enclosing statements speaks of background, async, detached
    or cancelled work; where the function is a service loop that stops cleanly when its
    context is done (`case <-ctx.Done(): return nil`); and where the callee, anywhere in the
    package, reads values from that context (`ctx.Value`, `GetOrDefaultFromCtx(ctx, ...)`).

    ## Go versions
    All. `context.WithoutCancel`, the explicit way to detach, needs Go 1.21.
    """

    id: ClassVar[str] = "detached-context"
    title: ClassVar[str] = "context.Background() where the caller's context is in scope"
    safety: ClassVar[Safety] = Safety.REPORT_ONLY
    tags: ClassVar[tuple[str, ...]] = ("context", "goroutine")
    prefilter: ClassVar[re.Pattern[bytes] | None] = re.compile(rb"\.(?:Background|TODO)\(\)")

    candidates: ClassVar[frozenset[str]] = frozenset({"call_expression"})

    def find(self, ctx: FileContext) -> Iterator[Finding]:
        root = ctx.parsed.root
        package = next(
            (n for p in CONTEXT_PATHS if (n := imported_name(root, p)) is not None), None
        )
        if package is None:
            return
        http = imported_name(root, "net/http")
        for declaration in ctx.parsed.clean_declarations:
            if declaration.type not in ("function_declaration", "method_declaration"):
                continue
            name = declaration.child_by_field_name("name")
            if name is not None and ROOT_FUNCTION.match(text(name)):
                continue
            for node in descendants_of_type(declaration, self.candidates):
                if _is_detached_call(node, package):
                    finding = self._check(ctx, node, package, http, root)
                    if finding is not None:
                        yield finding

    def _check(
        self,
        ctx: FileContext,
        call: Node,
        package: str,
        http: str | None,
        root: Node,
    ) -> Finding | None:
        scope = _scope_of(call, package, http)
        if scope is None or _exempt(call, scope):
            return None
        callee = _callee(call, package)
        declared: list[Node] = []
        if callee is not None:
            if _looks_up(callee.call):
                return None  # `log.G(context.TODO())`: a logger lookup detaches no work
            declared = _declarations(root, callee.name)
            if declared and all(_ignores_parameter(d, callee.index) for d in declared):
                return None  # the callee declares that parameter `_`: nothing is detached
        called = text(call)
        if scope.request:
            message = (
                f"{called} ignores the request's context: when the client goes away or the "
                f"handler returns, this work is not cancelled; pass {scope.name}.Context() if "
                "it should stop then"
            )
        else:
            received = f"`{scope.name}`" if scope.name not in ("", "_") else "the context"
            message = (
                f"{called} ignores {received} this function receives: cancelling the caller "
                f"no longer stops this work; pass {received} if it should"
            )
        # From here on, a fresh context that looks deliberate is no finding: judged on four
        # corpora, those were the reports a reader dismissed, and the fixes that went wrong.
        if (
            scope.name in ("", "_")
            or _reassigned(scope, call)
            or _stored(call, scope.function, package)
            or _reads_deadline(scope)
        ):
            return None
        go_statement = enclosing_go_statement(call, scope.function)
        if go_statement is not None and scope.request:
            return None  # net/http cancels r.Context() as soon as the handler returns
        # A comment at the statement (or its goroutine) usually explains why it detaches.
        explained = _statements_of(call, scope.function)
        if go_statement is not None:
            explained.append(go_statement)
        if any(_commented(ctx.source, n) for n in explained):
            return None
        if CLEANUP_WORDS.intersection(_words(_top_level_name(call))):
            return None
        if callee is not None and (
            CLEANUP_WORDS.intersection(_words(callee.name))
            or any(_tests_parameter_first(d, callee.index) for d in declared)
            or _passed_context_elsewhere(scope, callee)
            or _local_function_value(callee, scope.function)
            or _result_escapes(callee, scope.function)
        ):
            return None
        if (
            _assigned_as_is(call)
            or _returned_as_is(call)
            or _stops_cleanly_when_done(scope)
            or _in_escaping_closure(call, scope.function)
            or _in_cleanup_callback(call, scope.function)
            or _deliberate_comment(ctx.source, call, scope.function)
        ):
            return None
        if callee is not None and any(
            _reads_values(d, callee.index) for d in package_functions(ctx.package, callee.name)
        ):
            # The callee reads options from its context: a fresh one drops the caller's on
            # purpose (cloudevents' ToEvent, where passing ctx made it fail).
            return None
        if (
            not scope.request
            and scope.function.type in ("function_declaration", "method_declaration")
            and context_never_cancelled(scope.function, scope.name, ctx.package)
        ):
            # Every caller in the package passes a context nobody cancels: nothing is detached.
            return None
        # Which context should end this work is the author's call: reported, never rewritten.
        return self.finding(ctx, call, message, Safety.REPORT_ONLY)


def _reads_deadline(scope: _Scope) -> bool:
    """The function reads its context's `Deadline()`: a fresh context next to it is a second
    clock kept apart on purpose (temporal's matcher tells which of the two fired)."""
    if scope.request:
        return False
    wanted = f"{scope.name}.Deadline"
    return any(
        call_name(n) == wanted
        for n in descendants_of_type(scope.function, frozenset({"call_expression"}))
    )


@dataclass(frozen=True)
class _Scope:
    """The nearest enclosing function that receives a context (or a request)."""

    function: Node
    name: str  # the parameter's name; "" when unnamed
    request: bool  # an *http.Request: its context is name.Context()


@dataclass(frozen=True)
class _Callee:
    """The call that receives the detached context (through any context.WithX wrappers)."""

    call: Node
    name: str  # `Release` for ref.Release(...), `f` for f(...); "" for other callees
    index: int  # the argument position of the context


def _callee(call: Node, package: str) -> _Callee | None:
    value = call
    while True:
        parent = value.parent
        while parent is not None and parent.type == "parenthesized_expression":
            value, parent = parent, parent.parent
        if parent is None or parent.type != "argument_list" or parent.parent is None:
            return None
        wrapper = parent.parent
        if wrapper.type != "call_expression":
            return None
        function = wrapper.child_by_field_name("function")
        if function is None:
            return None
        operand = function.child_by_field_name("operand")
        if function.type == "selector_expression" and operand and text(operand) == package:
            value = wrapper  # context.WithTimeout(context.Background(), d): look further up
            continue
        arguments = [a for a in parent.named_children if a.type != "comment"]
        index = next((i for i, a in enumerate(arguments) if a == value), -1)
        field = function.child_by_field_name("field")
        name = (
            text(field)
            if function.type == "selector_expression" and field is not None
            else text(function)
            if function.type == "identifier"
            else ""
        )
        return _Callee(wrapper, name, index)


def _looks_up(call: Node) -> bool:
    """A logger, span or metric lookup: `log.G(ctx)`, `klog.FromContext(ctx)`, `m.Observe...`."""
    function = call.child_by_field_name("function")
    if function is None:
        return False
    selector = function.type == "selector_expression"
    field = function.child_by_field_name("field") if selector else None
    name = text(field) if field is not None else text(function)
    if name in LOOKUP_CALLEES or name.startswith(LOOKUP_PREFIXES):
        return True
    operand = function.child_by_field_name("operand")
    words = _words(text(operand)) if operand is not None else set()
    return bool(LOOKUP_WORDS.intersection(words))


_DECLARATIONS = frozenset({"function_declaration", "method_declaration"})


def _declarations(root: Node, name: str) -> list[Node]:
    """The functions and methods of this file called name."""
    if not name:
        return []
    found = []
    for node in root.named_children:
        if node.type in _DECLARATIONS:
            declared = node.child_by_field_name("name")
            if declared is not None and text(declared) == name:
                found.append(node)
    return found


def _parameter_name(function: Node, index: int) -> str | None:
    """The name of the index-th parameter ("" when unnamed); None when there is none."""
    names: list[str] = []
    parameters = function.child_by_field_name("parameters")
    for declaration in parameters.named_children if parameters is not None else ():
        if declaration.type == "variadic_parameter_declaration":
            variadic = declaration.child_by_field_name("name")
            names.append(text(variadic) if variadic is not None else "")
            continue
        if declaration.type != "parameter_declaration":
            continue
        declared = declaration.children_by_field_name("name")
        names.extend([text(n) for n in declared] if declared else [""])
    return names[index] if 0 <= index < len(names) else None


def _ignores_parameter(function: Node, index: int) -> bool:
    return _parameter_name(function, index) in ("", "_")


def _tests_parameter_first(function: Node, index: int) -> bool:
    """The callee opens with `if ctx == nil` or `if ctx.Err() != nil`: it treats a fresh
    context as a sentinel, so which one it gets changes what it does."""
    name = _parameter_name(function, index)
    body = function.child_by_field_name("body")
    block = statement_list(body) if body is not None else None
    first = block.named_children[0] if block is not None and block.named_child_count else None
    if not name or name == "_" or first is None or first.type != "if_statement":
        return False
    condition = first.child_by_field_name("condition")
    compact = re.sub(r"\s", "", text(condition)) if condition is not None else ""
    return f"{name}==nil" in compact or f"{name}.Err()" in compact


def _passed_context_elsewhere(scope: _Scope, callee: _Callee) -> bool:
    """The function passes its own context to the same callee where it found that context
    done: a fresh one elsewhere is a sentinel meaning "not cancelled" (etcd's compactBarrier)."""
    function = callee.call.child_by_field_name("function")
    if function is None:
        return False
    wanted = text(function)
    expression = _context_expression(scope)
    for other in descendants_of_type(scope.function, frozenset({"call_expression"})):
        if other == callee.call:
            continue
        other_function = other.child_by_field_name("function")
        if other_function is None or text(other_function) != wanted:
            continue
        arguments = other.child_by_field_name("arguments")
        values = [a for a in arguments.named_children if a.type != "comment"] if arguments else []
        if (
            0 <= callee.index < len(values)
            and text(values[callee.index]) == expression
            and (_under_context_test(other, scope) or _other_branch(other, callee.call))
        ):
            return True
    return False


def _other_branch(one: Node, other: Node) -> bool:
    """`if c { f(ctx) } else { f(context.TODO()) }`: the author chose per branch."""
    for ancestor in ancestors(one):
        if ancestor.type != "if_statement":
            continue
        if not _contains(ancestor, other):
            continue
        consequence = ancestor.child_by_field_name("consequence")
        alternative = ancestor.child_by_field_name("alternative")
        if consequence is None or alternative is None:
            return False
        return (_contains(consequence, one) and _contains(alternative, other)) or (
            _contains(alternative, one) and _contains(consequence, other)
        )
    return False


def _local_function_value(callee: _Callee, function: Node) -> bool:
    """`wrap, ok := ctx.Value(key).(Wrapper)` ... `wrap(context.Background())`: a function
    value made here decides itself what the fresh context is for."""
    target = callee.call.child_by_field_name("function")
    if target is None or target.type != "identifier":
        return False
    body = function.child_by_field_name("body")
    for node in descendants(body) if body is not None else ():
        if node.start_byte >= callee.call.start_byte:
            break
        if node.type == "short_var_declaration" and _assigns_name(node, text(target)):
            return True
    return False


def _result_escapes(callee: _Callee, function: Node) -> bool:
    """What the call builds outlives this function: it is returned (directly or through a
    variable) or put in a composite literal, and may keep using the context it was given."""
    holder = callee.call.parent
    if holder is not None and holder.type == "expression_list":
        holder = holder.parent
    if holder is None:
        return False
    if holder.type in ("return_statement", "literal_element", "keyed_element"):
        return True
    if holder.type not in ("short_var_declaration", "assignment_statement"):
        return False
    left = holder.child_by_field_name("left")
    names = {text(n) for n in left.named_children if n.type == "identifier"} if left else set()
    names.discard("_")
    names.discard("err")
    body = function.child_by_field_name("body")
    for node in descendants(body) if body is not None else ():
        if node.start_byte < holder.end_byte or node.type != "identifier":
            continue
        if text(node) not in names:
            continue
        parent = node.parent
        if parent is not None and parent.type == "expression_list":
            parent = parent.parent
        if parent is not None and parent.type in (
            "return_statement",
            "literal_element",
            "keyed_element",
        ):
            return True  # `return rac`, `&readerAt{rac, desc}`: the value itself goes on
    return False


def _assigned_as_is(call: Node) -> bool:
    """`x := context.Background()`: a context variable of its own, used later in ways this
    transform does not follow."""
    parent = call.parent
    return (
        parent is not None
        and parent.type == "expression_list"
        and parent.parent is not None
        and parent.parent.type in ("short_var_declaration", "assignment_statement", "var_spec")
    ) or (parent is not None and parent.type == "var_spec")


_VALUE_READERS = re.compile(r"Value|FromC(?:tx|ontext)")


def _reads_values(function: Node, index: int) -> bool:
    """The function reads values from its index-th (context) parameter: `ctx.Value(k)`, or a
    helper such as `GetOrDefaultFromCtx(ctx, k, d)` or `FooFromContext(ctx)`."""
    name = _parameter_name(function, index)
    if not name or name == "_":
        return False
    for call in descendants_of_type(function, frozenset({"call_expression"})):
        called = call_name(call) or ""
        if called == f"{name}.Value":
            return True
        helper = called.rsplit(".", 1)[-1]
        arguments = call_arguments(call)
        if (
            arguments
            and text(arguments[0]) == name
            and _VALUE_READERS.search(helper)
            and not helper.startswith("With")  # context.WithValue derives, it does not read
        ):
            return True
    return False


def _stops_cleanly_when_done(scope: _Scope) -> bool:
    """The function waits for its own context to be done and then stops cleanly (`case
    <-ctx.Done(): return nil`, or `<-ctx.Done()` and shutting down): a service loop whose other
    work runs under a fresh context on purpose, so that a stop does not fail it half way
    (cortex's lifecycler, whose tokens step would turn a stop into a failure: judged wrong;
    loki's worker, which cancels its threads itself)."""
    if scope.request or not scope.name:
        return False
    body = scope.function.child_by_field_name("body")
    for node in descendants(body) if body is not None else ():
        if any(_func_literals_around(node, scope.function)):
            continue
        if node.type == "expression_statement" and _waits_for_done(node, scope):
            return True
        if node.type != "communication_case":
            continue
        communication = node.child_by_field_name("communication")
        if communication is None or not _waits_for_done(communication, scope):
            continue
        last = _last_statement(node)
        if last is not None and re.fullmatch(r"return(\s+nil)?", text(last).strip()):
            return True
    return False


def _returned_as_is(call: Node) -> bool:
    """`return context.Background()`: the function hands out a context of its choosing, often
    one branch of an option (go-redis returns the caller's context only when timeouts are
    enabled; passing it there was judged wrong on real code)."""
    holder = call.parent
    if holder is not None and holder.type == "expression_list":
        holder = holder.parent
    return holder is not None and holder.type == "return_statement"


def _func_literals_around(node: Node, function: Node) -> Iterator[Node]:
    """The func literals between node and the function that receives the context."""
    return (a for a in _ancestors_until(node, function) if a.type == "func_literal")


def _in_cleanup_callback(call: Node, function: Node) -> bool:
    """Inside a func literal handed to a cleanup registration (`t.Cleanup(...)`,
    `p.AddOnClose(...)`, `context.AfterFunc(...)`) or named as a cleanup: it runs when the
    caller's context has ended, so that context would cancel the cleanup itself (livekit's
    on-close notification, judged wrong on real code)."""
    for literal in _func_literals_around(call, function):
        arguments = literal.parent
        if _named_as_cleanup(literal):
            return True
        registration = arguments.parent if arguments is not None else None
        if (
            arguments is None
            or arguments.type != "argument_list"
            or registration is None
            or registration.type != "call_expression"
        ):
            continue
        name = (call_name(registration) or "").rsplit(".", 1)[-1]
        if name == "AfterFunc" or CLEANUP_WORDS.intersection(_words(name)):
            return True
    return False


def _named_as_cleanup(literal: Node) -> bool:
    """`cleanup := func() {...}`, `teardown = func() {...}`: run when the work is over, often
    by a caller whose context has expired (seaweedfs' test setup)."""
    names = literal.parent
    holder = names.parent if names is not None and names.type == "expression_list" else None
    if holder is None or holder.type not in ("short_var_declaration", "assignment_statement"):
        return False
    left = holder.child_by_field_name("left")
    return left is not None and any(
        CLEANUP_WORDS.intersection(_words(text(target))) for target in left.named_children
    )


def _in_escaping_closure(call: Node, function: Node) -> bool:
    """Inside a func literal stored in a field, a composite literal or returned: it runs after
    this function returned, when its context may be long done."""
    for literal in _func_literals_around(call, function):
        holder = literal.parent
        if holder is not None and holder.type == "expression_list":
            holder = holder.parent
        if holder is None:
            continue
        if holder.type in ("return_statement", "literal_element", "keyed_element"):
            return True
        if holder.type == "assignment_statement":
            left = holder.child_by_field_name("left")
            if left is not None and any(t.type != "identifier" for t in left.named_children):
                return True
    return False


def _under_context_test(node: Node, scope: _Scope) -> bool:
    """Inside `if ctx.Err() != nil { ... }` (or `ctx == nil`): the branch for a done context."""
    for ancestor in _ancestors_until(node, scope.function):
        if ancestor.type == "if_statement":
            condition = ancestor.child_by_field_name("condition")
            if condition is not None and _tests_context(condition, scope):
                return True
    return False


def _deliberate_comment(source: bytes, call: Node, function: Node) -> bool:
    """A comment above an enclosing statement says the work runs on its own: "a background
    refresh", "must outlive the request", "detached from ..."."""
    for ancestor in ancestors(call):
        if ancestor == function:
            return False
        if ancestor.parent is not None and ancestor.parent.type == "statement_list":
            # The comment may head the statement, or the short group it belongs to:
            # `// Start an async lookup.` / `p.fetching = true` / `go p.fetch(...)`.
            previous = ancestor.prev_named_sibling
            while previous is not None and previous.type == "comment":
                previous = previous.prev_named_sibling
            for statement in (ancestor, previous):
                comment = _comment_above(source, statement) if statement is not None else ""
                if comment and DELIBERATE.search(comment):
                    return True
    return False


def _comment_above(source: bytes, node: Node) -> str:
    """The block of `//` comment lines right above the node's first line."""
    line_start = source.rfind(b"\n", 0, node.start_byte) + 1
    lines: list[bytes] = []
    end = line_start - 1
    while end > 0:
        start = source.rfind(b"\n", 0, end) + 1
        line = source[start:end].strip()
        if not line.startswith(b"//"):
            break
        lines.append(line)
        end = start - 1
    return b" ".join(reversed(lines)).decode("utf-8", "replace")


def _is_detached_call(call: Node, package: str) -> bool:
    function = call.child_by_field_name("function")
    arguments = call.child_by_field_name("arguments")
    if function is None or function.type != "selector_expression" or arguments is None:
        return False
    operand, field = function.child_by_field_name("operand"), function.child_by_field_name("field")
    return (
        operand is not None
        and field is not None
        and text(operand) == package
        and text(field) in ROOT_CONTEXTS
        and arguments.named_child_count == 0
    )


def _scope_of(call: Node, package: str, http: str | None) -> _Scope | None:
    for ancestor in ancestors(call):
        if ancestor.type not in FUNCTION_TYPES:
            continue
        request: _Scope | None = None
        for declaration in _parameters(ancestor):
            kind = declaration.child_by_field_name("type")
            names = declaration.children_by_field_name("name")
            name = text(names[0]) if len(names) == 1 else ""
            if kind is None or len(names) > 1:
                continue
            if text(kind) == f"{package}.Context":
                return _Scope(ancestor, name, request=False)
            if http is not None and _is_request_type(kind, http) and request is None:
                request = _Scope(ancestor, name, request=True)
        if request is not None:
            return request
    return None


def _parameters(function: Node) -> list[Node]:
    parameters = function.child_by_field_name("parameters")
    if parameters is None:
        return []
    return [p for p in parameters.named_children if p.type == "parameter_declaration"]


def _is_request_type(kind: Node, http: str) -> bool:
    return kind.type == "pointer_type" and re.sub(r"\s", "", text(kind)) == f"*{http}.Request"


def _exempt(call: Node, scope: _Scope) -> bool:
    """Places where a fresh context is the point: cleanup, after the context is done, defaults."""
    name = scope.name
    value = call
    while value.parent is not None and value.parent.type == "parenthesized_expression":
        value = value.parent
    if value.parent is not None and value.parent.type == "binary_expression":
        return True  # `ctx != context.Background()`: a sentinel compared, not a context used
    child = call
    for ancestor in ancestors(call):
        if ancestor == scope.function:
            return False
        if ancestor.type == "defer_statement":
            return True  # cleanup must run even though the context is done
        if name and ancestor.type == "communication_case":
            communication = ancestor.child_by_field_name("communication")
            if communication is not None and _waits_for_done(communication, scope):
                return True
        if name and ancestor.type == "if_statement":
            condition = ancestor.child_by_field_name("condition")
            consequence = ancestor.child_by_field_name("consequence")
            if condition is not None and child == consequence and _tests_context(condition, scope):
                return True  # `if ctx.Err() != nil { ... }`, `if ctx == nil { ... }`
        if name and ancestor.type == "statement_list" and _done_before(child, scope):
            return True
        if (
            ancestor.type == "assignment_statement"
            and not scope.request
            and _assigns_name(ancestor, name)
        ):
            return True  # `ctx = context.Background()`: a default for a nil context
        child = ancestor
    return False


def _context_expression(scope: _Scope) -> str:
    return f"{scope.name}.Context()" if scope.request else scope.name


def _waits_for_done(node: Node, scope: _Scope) -> bool:
    compact = re.sub(r"\s", "", text(node))
    if f"<-{_context_expression(scope)}.Done()" in compact:
        return True
    # `done := ctx.Done()` ... `case <-done:`
    return any(
        f"<-{alias}" == compact
        or compact.startswith(f"<-{alias}:")
        or compact.endswith(f"<-{alias}")
        for alias in _done_aliases(scope)
    )


def _done_aliases(scope: _Scope) -> list[str]:
    body = scope.function.child_by_field_name("body")
    done = f"{_context_expression(scope)}.Done()"
    aliases: list[str] = []
    for node in descendants(body) if body is not None else ():
        if node.type not in ("short_var_declaration", "assignment_statement"):
            continue
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is None or right is None or left.named_child_count != 1:
            continue
        if re.sub(r"\s", "", text(right)) == done:
            aliases.append(text(left.named_children[0]))
    return aliases


def _tests_context(condition: Node, scope: _Scope) -> bool:
    compact = re.sub(r"\s", "", text(condition))
    expression = _context_expression(scope)
    return f"{expression}.Err()" in compact or f"{scope.name}==nil" in compact


def _done_before(statement: Node, scope: _Scope) -> bool:
    """An earlier statement of the same list waited for the context to be done."""
    sibling = statement.prev_named_sibling
    while sibling is not None:
        earlier = _unlabelled(sibling)
        waits = earlier.type == "expression_statement" or (
            earlier.type == "select_statement" and _only_done(earlier, scope)
        )
        if waits and _waits_for_done(earlier, scope):
            return True
        if earlier.type in ("select_statement", "for_statement") and _ends_on_done(earlier, scope):
            return True
        sibling = sibling.prev_named_sibling
    return False


def _unlabelled(statement: Node) -> Node:
    """The loop or select of `heartBeat: for { ... }` (cortex's visit marker breaks out of a
    labelled loop on ctx.Done(), then cleans up with a fresh context: judged wrong to tie)."""
    while statement.type == "labeled_statement":
        inner = next((c for c in statement.named_children if c.type != "label_name"), None)
        if inner is None:
            break
        statement = inner
    return statement


def _ends_on_done(statement: Node, scope: _Scope) -> bool:
    """A select, or a loop, that goes on to the next statement once the context is done:
    a `case <-ctx.Done():` that does not return, or `for ctx.Err() == nil`. What follows it
    may run after the caller gave up, so a fresh context there is deliberate."""
    if statement.type == "for_statement":
        clause = next(
            (c for c in statement.named_children if c.type not in ("block", "comment")), None
        )
        if clause is not None and _tests_context(clause, scope):
            return True
    for case in descendants_of_type(statement, frozenset({"communication_case"})):
        if any(_func_literals_around(case, statement)):
            continue
        communication = case.child_by_field_name("communication")
        if (
            communication is not None
            and _waits_for_done(communication, scope)
            and not _returns(case)
        ):
            return True
    return False


def _ancestors_until(node: Node, top: Node) -> Iterator[Node]:
    for ancestor in ancestors(node):
        if ancestor == top:
            return
        yield ancestor


def _only_done(select: Node, scope: _Scope) -> bool:
    """A select that only falls through once the context is done: every other case returns."""
    cases = [c for c in select.named_children if c.type in ("communication_case", "default_case")]
    waits = False
    for case in cases:
        communication = case.child_by_field_name("communication")
        if communication is not None and _waits_for_done(communication, scope):
            waits = True
        elif not _returns(case):
            return False
    return waits


def _last_statement(case: Node) -> Node | None:
    statements = statement_list(case)
    return statements.named_children[-1] if statements and statements.named_child_count else None


def _returns(case: Node) -> bool:
    last = _last_statement(case)
    return last is not None and last.type == "return_statement"


def _assigns_name(assignment: Node, name: str) -> bool:
    left = assignment.child_by_field_name("left")
    return left is not None and any(
        c.type == "identifier" and text(c) == name for c in left.named_children
    )


def _reassigned(scope: _Scope, call: Node) -> bool:
    """The parameter is reassigned in its function, or shadowed where the call is."""
    body = scope.function.child_by_field_name("body")
    if body is None:
        return True
    for node in descendants(body):
        if node.type == "assignment_statement" and _assigns_name(node, scope.name):
            return True
        if node.start_byte > call.start_byte:
            continue  # a later declaration cannot shadow the call
        declares = (
            node.type in ("short_var_declaration", "range_clause")
            and _assigns_name(node, scope.name)
        ) or (
            node.type == "var_spec"
            and any(text(n) == scope.name for n in node.children_by_field_name("name"))
        )
        if declares and _shadows(node, call):
            return True
        if node.type in FUNCTION_TYPES and _contains(node, call):
            parameters = [n for p in _parameters(node) for n in p.children_by_field_name("name")]
            if any(text(n) == scope.name for n in parameters):
                return True
    return False


def _shadows(declaration: Node, call: Node) -> bool:
    """Whether a declaration's scope (the rest of its block, or its statement) holds call."""
    holder: Node | None = declaration.parent
    while holder is not None and holder.type not in SCOPES:
        holder = holder.parent
    return holder is not None and _contains(holder, call)


def _contains(node: Node, inner: Node) -> bool:
    return node.start_byte <= inner.start_byte and inner.end_byte <= node.end_byte


def _stored(call: Node, function: Node, package: str) -> bool:
    """The context (or one derived from it) goes into a field, a composite literal, or a
    package variable: it is meant to live on after this call."""
    value = call
    parent = value.parent
    derived = True  # only context.WithX calls wrap it: the result is a context
    # Up through the calls that wrap it: context.WithCancel(context.Background()), (...).
    while parent is not None and parent.type in ("argument_list", "parenthesized_expression"):
        wrapper = parent.parent if parent.type == "argument_list" else parent
        if wrapper is None:
            return False
        if wrapper.type == "call_expression":
            callee = wrapper.child_by_field_name("function")
            operand = callee.child_by_field_name("operand") if callee is not None else None
            field = callee.child_by_field_name("field") if callee is not None else None
            derived = derived and (
                (operand is not None and text(operand) == package)
                or (field is not None and text(field).startswith("With"))
            )
        value, parent = wrapper, wrapper.parent
    if parent is None:
        return False
    if parent.type in ("literal_element", "keyed_element"):
        return True
    if parent.type == "expression_list" and parent.parent is not None:
        holder = parent.parent
        left = holder.child_by_field_name("left")
        if holder.type == "assignment_statement" and left is not None and left != parent:
            return any(
                target.type != "identifier" or not _declared_locally(target)
                for target in left.named_children
            )
        if holder.type == "short_var_declaration" and left is not None and left != parent:
            return derived and value != call and _derived_outlives(holder, left, function)
    return False


def _derived_outlives(declaration: Node, left: Node, function: Node) -> bool:
    """`c, cancel := context.WithCancel(context.Background())` given a life of its own: the
    context or its cancel is stored or returned, or cancel is not simply deferred."""
    names = [text(n) for n in left.named_children if n.type == "identifier" and text(n) != "_"]
    cancel = names[1] if len(names) == 2 else None
    deferred = False
    body = function.child_by_field_name("body")
    for node in descendants(body) if body is not None else ():
        if (
            node.type != "identifier"
            or text(node) not in names
            or node.start_byte < declaration.end_byte
        ):
            continue
        parent = node.parent
        if parent is None:
            continue
        if (
            text(node) == cancel
            and parent.type == "call_expression"
            and parent.parent is not None
            and parent.parent.type == "defer_statement"
        ):
            deferred = True
        elif parent.type in ("literal_element", "keyed_element"):
            return True
        elif parent.type == "expression_list" and parent.parent is not None:
            holder = parent.parent
            if holder.type == "return_statement":
                return True
            target = holder.child_by_field_name("left")
            if holder.type == "assignment_statement" and target is not None and target != parent:
                return True  # assigned on: to a field or a variable declared elsewhere
    return cancel is not None and not deferred


def _declared_locally(identifier: Node) -> bool:
    """Whether a name is a variable of the top-level function it is used in."""
    name = text(identifier)
    top = identifier
    for ancestor in ancestors(identifier):
        top = ancestor
        if ancestor.type in ("function_declaration", "method_declaration"):
            break
    if top.type not in ("function_declaration", "method_declaration"):
        return False
    for node in descendants(top):
        if node.type in ("parameter_declaration", "var_spec"):
            if any(text(n) == name for n in node.children_by_field_name("name")):
                return True
        elif node.type in ("short_var_declaration", "range_clause"):
            left = node.child_by_field_name("left")
            if left is not None and any(text(n) == name for n in left.named_children):
                return True
    receiver = top.child_by_field_name("receiver")
    return receiver is not None and any(
        text(n) == name for p in _parameters(receiver) for n in p.children_by_field_name("name")
    )


def _statements_of(call: Node, function: Node) -> list[Node]:
    """The statement that holds the call, and the one holding each func literal around it."""
    statements: list[Node] = []
    inner = True
    for ancestor in ancestors(call):
        if ancestor == function:
            break
        if ancestor.type == "func_literal":
            inner = True
        elif inner and ancestor.parent is not None and ancestor.parent.type == "statement_list":
            statements.append(ancestor)
            inner = False
    return statements


def _words(name: str) -> set[str]:
    """`sendRelease` -> {"send", "release"}; `HTTPClose` -> {"http", "close"}."""
    return {w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", name)}


def _top_level_name(node: Node) -> str:
    for ancestor in ancestors(node):
        if ancestor.type in ("function_declaration", "method_declaration"):
            name = ancestor.child_by_field_name("name")
            return text(name) if name is not None else ""
    return ""


def _commented(source: bytes, node: Node) -> bool:
    """A comment after the node on its first line, or a comment line right above it."""
    line_start = source.rfind(b"\n", 0, node.start_byte) + 1
    line_end = source.find(b"\n", node.start_byte)
    rest = source[node.start_byte : line_end if line_end >= 0 else len(source)]
    previous_start = source.rfind(b"\n", 0, max(line_start - 1, 0)) + 1
    previous = source[previous_start : max(line_start - 1, previous_start)].strip()
    if previous.startswith((b"//", b"/*")):
        return True
    # analysistest's `// want "..."` markers annotate test data; they explain nothing.
    trailing = TRAILING_COMMENT.search(rest.decode("utf-8", "replace"))
    return trailing is not None and not trailing.group(1).startswith('want "')
