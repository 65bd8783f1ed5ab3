"""owner-not-stopped: a value that starts goroutines is dropped without its stop method."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from tree_sitter import Node

from codemod.go.syntax import (
    FUNCTION_TYPES,
    ancestors,
    call_arguments,
    descendants,
    descendants_of_type,
    enclosing_function,
    has_goto,
    imported_name,
    inside_loop,
    line_indent,
    statement_list,
    text,
)
from codemod.goroutine_owners import (
    CONSTRUCTOR_NAME,
    LIBRARY_OWNERS,
    STOP_NAMES,
    Owner,
    PackageOwners,
    StopMethod,
    package_owners,
)
from codemod.model import Edit, Finding, Fix, Safety
from codemod.package import SIGNAL_NAME
from codemod.transform import FileContext, Transform

# Calls on the value after which its goroutines are over or it was stopped another way: it
# was waited for (`Wait`, `<-x.Done()`) or ran in the foreground until stopped (`Serve`).
_ENDING_CALLS = frozenset({*STOP_NAMES, "Wait", "Done", "Join", "Run", "Serve", "ListenAndServe"})
_TICKER_STOP_GO = (1, 23)  # from go 1.23 an unreferenced ticker is collected, stopped or not
# A function named for leaving the value open on purpose (badger's TestTruncateVlogNoClose
# simulates a crash): stopping it would defeat the point.
_LEFT_OPEN_COMMENT = re.compile(
    r"(?i)\b(?:not|never|without|n't|no)\s+(?:\w+\s+)?(?:clos|stop|shut)|simulat\w*\s+(?:a\s+)?crash"
)
_LEFT_OPEN_ON_PURPOSE = re.compile(r"(?i)(?:no|without|skip|leak)_?(?:close|stop|shutdown)|leak")


@dataclass
class _Origin:
    """Where the value's goroutines start and what stops them."""

    name: str  # the variable
    owner: Owner
    described: str  # `NewSession(...)` or `go t.reader()`
    start: Node  # the statement after which the goroutines run
    error_name: str | None  # the constructor's error variable, for its check
    declared: Node | None = None  # the declaration, when the start is nested below a sibling
    made: Node | None = None  # the declaration, when the start is a later statement


@dataclass
class _Events:
    """What the rest of the function does with the value, by statement."""

    masks: list[Node] = field(default_factory=list)  # stops and hand-offs: later returns are fine
    handing_returns: list[Node] = field(default_factory=list)
    deferred: bool = False  # a defer stops it, or a deferred closure does something with it
    # (returns written before the defer statement are not covered by it)
    reassigned: bool = False
    used: bool = False  # a field read or another method called: the function works with it
    # `&Upstream{name: srv.URL}`, `return srv.URL`: what it serves is handed on and may be used
    # after the function returns, so stopping it there is not the author's plan
    service_handed_on: bool = False


class OwnerNotStopped(Transform):
    """
    ## What it does
    Finds a local value whose type starts goroutines (its constructor or a method runs `go
    x.loop()`, learnt from the package's code; or a library value such as
    `httptest.NewServer`) that leaves the function on some path neither stopped with the
    type's stop method (`Close`, `Stop`, `Shutdown`, ... the method that closes or cancels what
    its goroutines wait on) nor handed on (returned, stored, passed to a function, captured
    by a closure). The main shape is an early error return after the value was made: the
    fix calls the stop method just before that return. A value that is never stopped nor
    handed on at all gets `defer x.Stop()` after its constructor's error check.

    ## Why is this bad?
    The goroutines such a value starts run until its stop method closes the channel or
    cancels the context they wait on. Once the function returns without calling it, no one
    holds the value any more: the goroutines block forever, keeping the value, its
    connections and buffers alive. Early error returns are where this hides: the success path
    returns the value to a caller who closes it, the error path forgets it.

    ## Example
    ```go
    type Session struct {
        done chan struct{}
    }

    func NewSession() (*Session, error) {
        s := &Session{done: make(chan struct{})}
        go s.keepAlive()
        return s, nil
    }

    func (s *Session) keepAlive() {
        <-s.done
    }

    func (s *Session) Close() {
        close(s.done)
    }

    func Register(name string) (*Session, error) {
        s, err := NewSession()
        if err != nil {
            return nil, err
        }
        if name == "" {
            return nil, errEmpty
        }
        return s, nil
    }
    ```

    ## Use instead
    ```go
    type Session struct {
        done chan struct{}
    }

    func NewSession() (*Session, error) {
        s := &Session{done: make(chan struct{})}
        go s.keepAlive()
        return s, nil
    }

    func (s *Session) keepAlive() {
        <-s.done
    }

    func (s *Session) Close() {
        close(s.done)
    }

    func Register(name string) (*Session, error) {
        s, err := NewSession()
        if err != nil {
            return nil, err
        }
        if name == "" {
            s.Close()
            return nil, errEmpty
        }
        return s, nil
    }
    ```

    ## Fix safety
    Review. Stopping the value before an early return is what the success path's caller
    would have done, but the stop method may do more than end the goroutines (flush, send a
    goodbye, log), and the value may have been registered somewhere the code does not show.
    `defer x.Stop()` for a value never handed on is review too: a method call on the value
    may have handed it to something that outlives the function. Only reported: a stop method
    that takes arguments (`Close(err)`), a return sharing its line, a value made in a loop, or
    in `main`/`init`. A value never stopped in a function named for it (`...NoClose`, `...Leak`)
    is left alone. Nothing is reported when a `defer` (or a deferred closure) deals with the
    value before the return, when it is reassigned, or when it is handed on or stopped before
    the return (stopped by a helper, added to an `io.Closer` slice, given to `t.Cleanup`).

    ## Go versions
    All. A `time.Ticker` counts below go 1.23 only: from 1.23 an unreferenced ticker is
    collected whether stopped or not.
    """

    id: ClassVar[str] = "owner-not-stopped"
    title: ClassVar[str] = "Stop a value that starts goroutines on every path out of the function"
    safety: ClassVar[Safety] = Safety.REVIEW
    tags: ClassVar[tuple[str, ...]] = ("goroutine", "owner")
    prefilter: ClassVar[re.Pattern[bytes] | None] = re.compile(
        rb":=\s*(?:&\s*[A-Za-z_][\w.]*\s*\{|(?:\w+\.)?(?:[Nn]ew|[Oo]pen|[Ss]tart|[Dd]ial)\w*\()"
    )
    candidates: ClassVar[frozenset[str]] = frozenset({"short_var_declaration"})

    def find(self, ctx: FileContext) -> Iterator[Finding]:
        owners: PackageOwners | None = None
        library = _library_names(ctx)
        servers = _library_servers(ctx)
        for declaration in ctx.parsed.clean_declarations:
            if declaration.type not in ("function_declaration", "method_declaration"):
                continue
            for statement in descendants_of_type(declaration, self.candidates):
                needs = _needs_package(statement, library, servers)
                if needs is None:
                    continue  # no constructor call or struct literal: nothing to ask about
                if needs and owners is None:
                    # Asked only here: a scan cache entry then depends on the siblings' bytes.
                    owners = package_owners(ctx.parsed.root, ctx.siblings)
                origin = _origin(statement, owners or _NO_OWNERS, library, servers)
                if origin is not None:
                    yield from self._check(ctx, declaration, origin)

    def _check(self, ctx: FileContext, declaration: Node, origin: _Origin) -> Iterator[Finding]:
        function = enclosing_function(origin.start)
        body = function.child_by_field_name("body") if function is not None else None
        if function is None or body is None or has_goto(body):
            return
        stop = origin.owner.stop
        call = f"{origin.name}.{stop.name}()"
        if origin.declared is not None:
            # Started inside a loop or branch: only a value nothing ever keeps or stops.
            events = _events(origin.name, _following(origin.declared), function, origin.start)
            if events.masks or events.handing_returns or events.deferred or events.reassigned:
                return
            message = (
                f"`{origin.name}` is never stopped nor kept: {origin.described} runs until "
                f"`{call}`, which nothing can call once the function returns"
            )
            yield self.finding(ctx, origin.start, message, Safety.REPORT_ONLY)
            return
        if origin.made is not None and any(
            _mentions(between, origin.name)
            for between in _following(origin.made)
            if between.end_byte <= origin.start.start_byte and between.type == "defer_statement"
        ):
            return  # deferred before its goroutines start: every return after is covered
        following = _following(origin.start)
        check = _error_check(following, origin.error_name)
        if check is not None:
            following = following[1:]
        events = _events(origin.name, following, function)
        if events.reassigned:
            return
        returns = [
            r
            for statement in following
            for r in _returns(statement)
            if not _mentions(r, origin.name) and not _masked(r, events.masks)
        ]
        if events.masks or events.handing_returns or events.deferred:
            for leaking in returns:
                message = (
                    f"`{origin.name}` ({origin.described} {_runs(origin)} until "
                    f"`{origin.name}.{stop.name}`) is neither stopped nor handed on when this "
                    f"return is taken: {_fate(origin, 'they block forever')}"
                )
                yield self._before_return(ctx, leaking, call, stop, message)
            return
        name = text(declaration.child_by_field_name("name") or declaration)
        if declaration.type == "function_declaration" and name in ("main", "init"):
            return  # the process's own lifetime
        if _LEFT_OPEN_ON_PURPOSE.search(name) or _explained(body):
            return
        if any(_never_ends(statement, origin.name) for statement in following):
            return  # the function never returns: the value lives as long as it runs
        message = (
            f"`{origin.name}` ({origin.described} {_runs(origin)} until "
            f"`{origin.name}.{stop.name}`) is never stopped nor handed on: "
            f"{_fate(origin, 'they outlive the function')}"
        )
        after = check if check is not None else origin.start
        edits = _defer_after(ctx.source, after, call)
        # Started and left alone: the goroutines are meant to outlive the call; a deferred
        # stop would end them at once. Say so, and leave where to keep the value to the author.
        dropped = not events.used
        handed = events.service_handed_on
        if stop.parameters or dropped or handed or inside_loop(origin.start, function) or not edits:
            yield self.finding(ctx, origin.start, message, Safety.REPORT_ONLY)
            return
        fix = Fix(tuple(edits), f"defer {call} once the value exists")
        yield self.finding(ctx, origin.start, message, Safety.REVIEW, fix)

    def _before_return(
        self, ctx: FileContext, ret: Node, call: str, stop: StopMethod, message: str
    ) -> Finding:
        line_start = ctx.source.rfind(b"\n", 0, ret.start_byte) + 1
        if stop.parameters or ctx.source[line_start : ret.start_byte].strip():
            return self.finding(ctx, ret, message, Safety.REPORT_ONLY)
        indent = line_indent(ctx.source, ret.start_byte)
        fix = Fix((Edit(ret.start_byte, ret.start_byte, f"{call}\n{indent}"),), f"{call} first")
        return self.finding(ctx, ret, message, Safety.REVIEW, fix)


_NO_OWNERS = PackageOwners({}, {}, {}, {})


def _needs_package(
    statement: Node, library: dict[str, Owner], servers: dict[str, Owner]
) -> bool | None:
    """Whether the value could be a package owner (True), only a library one (False), or
    neither (None): a call of a constructor-like name, or a struct literal's address."""
    right = statement.child_by_field_name("right")
    if right is None or right.named_child_count != 1:
        return None
    value = right.named_children[0]
    if value.type == "call_expression":
        function = value.child_by_field_name("function")
        if function is None:
            return None
        if function.type == "identifier" and CONSTRUCTOR_NAME.match(text(function)):
            return True
        return False if text(function) in library else None
    if value.type == "unary_expression" and value.named_child_count:
        literal = value.named_children[0]
        kind = literal.child_by_field_name("type") if literal.type == "composite_literal" else None
        if kind is None:
            return None
        if text(kind) in servers:
            return False
        return True if kind.type in ("type_identifier", "generic_type") else None
    return None


def _hands_on_service(identifier: Node, statement: Node) -> bool:
    """A field of the value read into a composite literal or a return (`srv.URL`): part of
    what it serves leaves. A method result or a received value (`<-w.events`) is data."""
    selector = identifier.parent
    outer = selector.parent if selector is not None else None
    if outer is None or outer.type == "call_expression" or text(outer).startswith("<-"):
        return False
    for ancestor in ancestors(identifier):
        if ancestor.type in ("literal_value", "return_statement"):
            return True
        if ancestor == statement:
            return statement.type == "return_statement"
    return False


def _explained(body: Node) -> bool:
    """A comment in the function saying the value is left open on purpose (badger's
    "Simulate a crash by not closing db0")."""
    return any(
        node.type == "comment" and _LEFT_OPEN_COMMENT.search(text(node))
        for node in descendants(body)
    )


def _never_ends(statement: Node, name: str) -> bool:
    """`for range x.C {...}` (a ticker's channel is never closed) or `for {...}` with no
    break or return of its own: control never gets past it."""
    if statement.type != "for_statement":
        return False
    body = statement.child_by_field_name("body")
    heads = [c for c in statement.named_children if c != body and c.type != "comment"]
    if len(heads) == 1 and heads[0].type == "range_clause":
        right = heads[0].child_by_field_name("right")
        return right is not None and text(right) == f"{name}.C"
    if heads or body is None:
        return False
    stack = list(body.children)
    while stack:
        node = stack.pop()
        if node.type in ("return_statement", "break_statement", "goto_statement"):
            return False
        if node.type != "func_literal":
            stack.extend(node.children)
    return True


def _fate(origin: _Origin, goroutines: str) -> str:
    return "the runtime keeps it" if origin.owner.type_name == "NewTicker" else goroutines


def _runs(origin: _Origin) -> str:
    """What keeps running: a ticker is a runtime timer, not a goroutine."""
    return (
        "keeps a ticker firing"
        if origin.owner.type_name == "NewTicker"
        else "starts goroutines that run"
    )


def _library_names(ctx: FileContext) -> dict[str, Owner]:
    """`time.NewTicker` -> its owner, under the names this file imports the packages by."""
    found: dict[str, Owner] = {}
    for (path, function), (stop, before_123) in LIBRARY_OWNERS.items():
        if before_123 and ctx.module.go_version >= _TICKER_STOP_GO:
            continue
        name = imported_name(ctx.parsed.root, path)
        if name is not None:
            found[f"{name}.{function}"] = Owner(function, StopMethod(stop, 0), function)
    return found


def _library_servers(ctx: FileContext) -> dict[str, Owner]:
    """`http.Server` -> its owner: `go s.Serve(l)` runs until `s.Close()` (or Shutdown)."""
    name = imported_name(ctx.parsed.root, "net/http")
    if name is None:
        return {}
    return {f"{name}.Server": Owner("Server", StopMethod("Close", 0), "Serve")}


def _origin(
    statement: Node, owners: PackageOwners, library: dict[str, Owner], servers: dict[str, Owner]
) -> _Origin | None:
    left, right = statement.child_by_field_name("left"), statement.child_by_field_name("right")
    if left is None or right is None or right.named_child_count != 1:
        return None
    targets = left.named_children
    if not targets or targets[0].type != "identifier" or text(targets[0]) == "_":
        return None
    if statement.parent is None or statement.parent.type != "statement_list":
        return None  # an `if`/`for` initializer: scoped to that statement
    name, value = text(targets[0]), right.named_children[0]
    error_name = text(targets[-1]) if len(targets) == 2 else None
    if value.type == "call_expression" and len(targets) <= 2:
        function = value.child_by_field_name("function")
        if function is None:
            return None
        callee = text(function)
        owner = library.get(callee) if function.type == "selector_expression" else None
        if owner is None and function.type == "identifier":
            owner = owners.constructor(callee)
        if owner is None:
            return None
        return _Origin(name, owner, f"`{callee}`", statement, error_name)
    if value.type == "unary_expression" and len(targets) == 1 and value.named_child_count:
        literal = value.named_children[0]
        kind = literal.child_by_field_name("type") if literal.type == "composite_literal" else None
        type_name = text(kind).split("[")[0] if kind is not None else ""
        owner = owners.owners.get(type_name) or servers.get(type_name)
        if owner is None:
            return None
        starting = owners.starting_methods.get(owner.type_name, set())
        for later in _following(statement):
            started = _starts(later, name, starting)
            if started is not None:
                return _Origin(name, owner, f"`{started}`", later, None, made=statement)
            nested = next(
                (
                    (node, found)
                    for node in _own_statements(later)
                    if (found := _starts(node, name, starting)) is not None
                ),
                None,
            )
            if nested is not None:
                return _Origin(name, owner, f"`{nested[1]}`", nested[0], None, statement)
            if _mentions(later, name) and not _method_calls_only(later, name):
                return None  # handed somewhere before any goroutine starts
    return None


def _own_statements(statement: Node) -> Iterator[Node]:
    """Statements nested in statement (loops, branches), not those of func literals."""
    stack = list(reversed(statement.children))
    while stack:
        node = stack.pop()
        if node.parent is not None and node.parent.type == "statement_list":
            yield node
        if node.type != "func_literal":
            stack.extend(reversed(node.children))


def _starts(statement: Node, name: str, starting: set[str]) -> str | None:
    """`go x.loop()`, `x.Start()` (a method that starts lasting goroutines), or `go func()
    {...}()` calling such a method of x and none that ends it, as a statement."""
    if statement.type == "go_statement":
        call = statement.named_children[0] if statement.named_child_count else None
        literal = call.child_by_field_name("function") if call is not None else None
        if literal is not None and literal.type == "func_literal":
            return "go func() {...}()" if _drives(literal, name, starting) else None
    elif statement.type == "expression_statement" and statement.named_child_count:
        call = statement.named_children[0]
    else:
        return None
    function = call.child_by_field_name("function") if call is not None else None
    if function is None or function.type != "selector_expression":
        return None
    operand, method = function.child_by_field_name("operand"), function.child_by_field_name("field")
    if operand is None or method is None or text(operand) != name:
        return None
    if statement.type == "go_statement" or text(method) in starting:
        launch = text(statement)
        return (
            launch if len(launch) <= 40 and "\n" not in launch else launch.split("(")[0] + "(...)"
        )
    return None


def _drives(literal: Node, name: str, starting: set[str]) -> bool:
    """A goroutine literal that calls a method of x that starts its lasting goroutines, and
    none that ends or waits for it."""
    called = False
    for node in descendants(literal):
        if node.type != "selector_expression" or node.parent is None:
            continue
        operand, member = node.child_by_field_name("operand"), node.child_by_field_name("field")
        if operand is None or member is None or text(operand) != name:
            continue
        if node.parent.type == "call_expression":
            if text(member) in _ENDING_CALLS:
                return False
            called = called or text(member) in starting
    return called


def _method_calls_only(statement: Node, name: str) -> bool:
    """Every mention of name in statement is `name.field` or `name.method(...)`."""
    for node in descendants(statement):
        if node.type == "identifier" and text(node) == name:
            parent = node.parent
            if parent is None or parent.type != "selector_expression":
                return False
            if parent.child_by_field_name("operand") != node:
                return False
    return True


def _following(statement: Node) -> list[Node]:
    result = []
    sibling = statement.next_named_sibling
    while sibling is not None:
        if sibling.type != "comment":
            result.append(sibling)
        sibling = sibling.next_named_sibling
    return result


def _error_check(following: list[Node], error_name: str | None) -> Node | None:
    """`if err != nil {...}` right after the constructor: there the value is not made; or a
    call given the error (`require.NoError(t, err)`, `check(err)`) that stops the test or the
    program on it, so a stop deferred before it would run on a nil value."""
    if error_name is None or not following:
        return None
    if following[0].type == "expression_statement" and following[0].named_child_count:
        call = following[0].named_children[0]
        if call.type == "call_expression" and any(
            argument.type == "identifier" and text(argument) == error_name
            for argument in call_arguments(call)
        ):
            return following[0]
        return None
    if following[0].type != "if_statement":
        return None
    condition = following[0].child_by_field_name("condition")
    if condition is None or following[0].child_by_field_name("initializer") is not None:
        return None
    if re.fullmatch(rf"{re.escape(error_name)}\s*!=\s*nil", text(condition)):
        return following[0]
    return None


def _mentions(node: Node, name: str) -> bool:
    if node.type == "identifier":
        return text(node) == name
    return any(n.type == "identifier" and text(n) == name for n in descendants(node))


def _top_statement(node: Node) -> Node:
    """The innermost statement of a statement list holding node."""
    current = node
    for ancestor in ancestors(node):
        if current.parent is not None and current.parent.type == "statement_list":
            return current
        current = ancestor
    return current


def _events(name: str, following: list[Node], function: Node, start: Node | None = None) -> _Events:
    """What following does with the value; mentions inside `start` (its goroutine's own
    launch) are not uses."""
    events = _Events()
    for statement in following:
        nodes = [statement, *descendants(statement)]
        for node in nodes:
            if node.type != "identifier" or text(node) != name:
                continue
            if start is not None and start.start_byte <= node.start_byte < start.end_byte:
                continue
            kind = _use(node, function)
            holder = _top_statement(node)
            if kind == "deferred":
                events.deferred = True
                events.masks.append(holder)  # returns after the defer are covered by it
            elif kind == "reassigned":
                events.reassigned = True
            elif kind == "returned":
                events.handing_returns.append(holder)
            elif kind in ("stopped", "escaped"):
                events.masks.append(holder)
            else:
                events.used = True
                events.service_handed_on |= _hands_on_service(node, holder)
    return events


def _use(identifier: Node, function: Node) -> str:
    """How one mention of the value is used: deferred, reassigned, returned, stopped, escaped
    or plain (a field read, another method called)."""
    for ancestor in ancestors(identifier):
        if ancestor == function:
            break
        if ancestor.type == "defer_statement":
            return "deferred"
        if ancestor.type in ("func_literal", "go_statement"):
            return "deferred" if _deferred_literal(ancestor) else "escaped"
    parent = identifier.parent
    if parent is None:
        return "escaped"
    if parent.type == "expression_list" and parent.parent is not None:
        holder = parent.parent
        if holder.type in ("short_var_declaration", "assignment_statement"):
            if holder.child_by_field_name("left") == parent:
                return "reassigned"
            return "escaped"
        if holder.type == "return_statement":
            return "returned"
        return "escaped"
    if parent.type == "return_statement":
        return "returned"
    if parent.type == "selector_expression" and parent.child_by_field_name("operand") == identifier:
        member = parent.child_by_field_name("field")
        call = parent.parent
        is_call = call is not None and call.type == "call_expression"
        if member is not None and text(member) in _ENDING_CALLS:
            # called, or a method value (`t.Cleanup(x.Close)`) that someone will call
            return "stopped" if is_call else "escaped"
        # `<-x.done`, `<-x.ctx.Done()`: its goroutines ended (or are ending) before control goes on
        outer = parent.parent
        while outer is not None and outer.type in ("selector_expression", "call_expression"):
            outer = outer.parent
        if (
            outer is not None
            and outer.type == "unary_expression"
            and text(outer).startswith("<-")
            and SIGNAL_NAME.search(text(parent))
        ):
            return "stopped"
        return "plain"
    return "escaped"


def _deferred_literal(node: Node) -> bool:
    if node.type != "func_literal":
        return False
    call = node.parent
    return (
        call is not None
        and call.type == "call_expression"
        and call.parent is not None
        and call.parent.type == "defer_statement"
    )


def _returns(statement: Node) -> Iterator[Node]:
    """The return statements of statement, not those of nested func literals."""
    if statement.type == "return_statement":
        yield statement
        return
    stack = list(statement.children)
    while stack:
        node = stack.pop()
        if node.type == "return_statement":
            yield node
        elif node.type != "func_literal":
            stack.extend(node.children)


def _masked(ret: Node, masks: list[Node]) -> bool:
    """Whether a stop or hand-off happens before this return on its path. Conservative: any
    one written before it counts, except one inside a block that itself returns (`if err !=
    nil { x.Close(); return err }`) and does not hold this return."""
    for mask in masks:
        if mask.start_byte >= ret.start_byte:
            continue
        block = _returning_block(mask)
        if block is not None and not (block.start_byte <= ret.start_byte < block.end_byte):
            continue
        return True
    return False


def _returning_block(statement: Node) -> Node | None:
    """The innermost block around statement whose list ends in a return."""
    for ancestor in ancestors(statement):
        if ancestor.type in FUNCTION_TYPES:
            return None
        if ancestor.type == "block":
            statements = statement_list(ancestor)
            last = (
                statements.named_children[-1] if statements and statements.named_children else None
            )
            if last is not None and last.type == "return_statement":
                return ancestor
            return None
    return None


def _defer_edits_line(source: bytes, statement: Node) -> int | None:
    end_of_line = source.find(b"\n", statement.end_byte)
    if end_of_line < 0:
        return None
    rest = source[statement.end_byte : end_of_line].strip()
    return None if rest and not rest.startswith(b"//") else end_of_line


def _defer_after(source: bytes, statement: Node, call: str) -> list[Edit] | None:
    end_of_line = _defer_edits_line(source, statement)
    if end_of_line is None:
        return None
    indent = line_indent(source, statement.start_byte)
    return [Edit(end_of_line, end_of_line, f"\n{indent}defer {call}")]
