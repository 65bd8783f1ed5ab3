"""lost-cancel: a derived context whose cancel function is not called on every path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from tree_sitter import Node

from codemod.go.contexts import CONTEXT_PATHS
from codemod.go.flow import ReleaseFlow
from codemod.go.goroutines import go_statement_starting, is_deferred_literal
from codemod.go.syntax import (
    ancestors,
    descendants,
    descendants_of_type,
    descendants_outside_functions,
    enclosing_function,
    imported_name,
    inside_loop,
    line_indent,
    text,
)
from codemod.model import Edit, Finding, Fix, Safety
from codemod.transform import FileContext, Transform

# The constructors that return (ctx, cancel); the Cause variant's cancel takes the cause.
CONSTRUCTORS = frozenset(
    {
        "WithCancel",
        "WithTimeout",
        "WithDeadline",
        "WithCancelCause",
        "WithTimeoutCause",
        "WithDeadlineCause",
    }
)
CAUSE_CANCEL = frozenset({"WithCancelCause"})
PLAIN_TYPES = frozenset(
    {
        *("bool", "string", "byte", "rune", "error", "uintptr"),
        *("int", "int8", "int16", "int32", "int64"),
        *("uint", "uint8", "uint16", "uint32", "uint64"),
        *("float32", "float64", "complex64", "complex128"),
    }
)
PLAIN_QUALIFIED_TYPES = frozenset({"time.Duration", "time.Time"})
# Values named like errors carry no context; every other result of a call given ctx might.
ERROR_NAME = re.compile(r"^(?:err|.*Err(?:or)?)$")
# `//nolint`, `//nolint:govet`, `//nolint:lostcancel`: the author silenced go vet here.
NOLINT_VET = re.compile(rb"//\s*nolint(?:\s*$|\s+|:[\w,\s-]*\b(?:govet|lostcancel)\b)")


class LostCancel(Transform):
    """
    ## What it does
    Finds `ctx, cancel := context.WithCancel(parent)` (or `WithTimeout`, `WithDeadline` and
    their `Cause` variants) where `cancel` is not called on some path out of the enclosing
    block and nothing defers it, or where the cancel function is discarded with `_`, and
    inserts `defer cancel()` right after the declaration. The same holds for a function of
    the package declared to return `(context.Context, context.CancelFunc)`, for a cancel
    overwritten by a second `ctx, cancel = context.WithTimeout(...)` before it is called,
    and (reported only) for a cancel kept in an unexported field that no code of the
    package reads back. Vendored copies of `golang.org/x/net/context` count as context.

    ## Why is this bad?
    A derived context holds resources until it is cancelled: it is registered in its
    parent's `children` map, a `WithTimeout`/`WithDeadline` context keeps its timer armed,
    and when the parent is a `Context` implementation the `context` package cannot see into,
    `propagateCancel` starts a goroutine that waits on `<-parent.Done()` and
    `<-child.Done()`. If `cancel` is never called and the parent is never cancelled, that
    goroutine stays blocked forever, and so does every goroutine of yours that waits on
    `<-ctx.Done()`. `go vet`'s `lostcancel` check reports the same mistake.

    ## Example
    ```go
    import (
        "context"
        "time"
    )

    func Lookup(ctx context.Context, db *DB, key string) (string, error) {
        ctx, cancel := context.WithTimeout(ctx, time.Second)
        v, err := db.Get(ctx, key)
        if err != nil {
            cancel()
            return "", err
        }
        return v, nil
    }
    ```

    ## Use instead
    ```go
    import (
        "context"
        "time"
    )

    func Lookup(ctx context.Context, db *DB, key string) (string, error) {
        ctx, cancel := context.WithTimeout(ctx, time.Second)
        defer cancel()
        v, err := db.Get(ctx, key)
        if err != nil {
            cancel()
            return "", err
        }
        return v, nil
    }
    ```

    ## Fix safety
    Safe when the derived context only flows into calls that finish before the function
    returns: calling `cancel` twice is harmless, and a deferred cancel only ends the context
    once nothing in the function can use it. Results of those calls may be returned when
    the function's result types are plain data (strings, numbers, errors). When the context,
    or a value made from it (a request, a stream, rows), is returned, stored, or used by a
    goroutine or closure that may outlive the function, cancelling on return would cut that
    work short: the fix is marked for review, and only reported when the context itself
    (or a `...Context` value made from it) is returned or stored, when a goroutine using it
    is started just before returning or hands values back (sends on a channel, or assigns a
    variable of the function: a response or a stream may still need the context), when
    `ctx, _ = ...` assigns a variable that is not the function's own, or when the line
    carries a `//nolint` for govet (the author silenced `lostcancel` on purpose). A
    declaration inside a loop body is only reported, since `defer` would pile up until the
    function returns. When `cancel` itself is returned, stored, passed on or called from a
    closure, someone else owns it and nothing is reported; nor when the parent was derived
    just before in the same block and its own cancel is deferred or called on every path,
    since cancelling the parent releases the child too. A cancel from a package wrapper is
    for review (the wrapper may hand it on). An overwritten cancel is called right before
    the overwrite (`safe`) when the first context was not used in between and the new one
    is not derived from it; otherwise it is only reported.

    ## Go versions
    All. `WithCancelCause` needs Go 1.20, `WithTimeoutCause`/`WithDeadlineCause` Go 1.21.
    """

    id: ClassVar[str] = "lost-cancel"
    title: ClassVar[str] = "Call the cancel function of a derived context on every path"
    safety: ClassVar[Safety] = Safety.SAFE
    tags: ClassVar[tuple[str, ...]] = ("context", "goroutine")
    prefilter: ClassVar[re.Pattern[bytes] | None] = re.compile(
        # or `ctx, cancel := wrapper(...)`, a package function returning a CancelFunc
        rb"\.With(?:Cancel|Timeout|Deadline)|[cC]ancel\w*\s*:?=\s*\w+\("
    )

    candidates: ClassVar[frozenset[str]] = frozenset(
        {"short_var_declaration", "assignment_statement"}
    )

    def find(self, ctx: FileContext) -> Iterator[Finding]:
        package = _context_package(ctx.parsed.root)
        if package is None:
            return
        wrappers = _cancel_wrappers(ctx, package)
        for declaration in ctx.parsed.clean_declarations:
            if declaration.type not in ("function_declaration", "method_declaration"):
                continue
            names = _Names(declaration)
            for node in descendants_of_type(declaration, self.candidates):
                constructor = _derived_context(node, package) or _wrapped_context(node, wrappers)
                if constructor is not None:
                    finding = self._check(ctx, names, node, constructor, package)
                    if finding is not None:
                        yield finding

    def _check(
        self, ctx: FileContext, names: _Names, statement: Node, constructor: str, package: str
    ) -> Finding | None:
        left = statement.child_by_field_name("left")
        assert left is not None
        context_node, cancel_node = left.named_children
        statements = statement.parent
        function = enclosing_function(statement)
        if statements is None or statements.type != "statement_list" or function is None:
            return None  # an `if` or `for` initializer: no line to put a defer on
        following = _following(statement)
        if _released_with_parent(statement, function, package):
            return None
        discarded = text(cancel_node) == "_"
        declares = statement.type == "short_var_declaration"
        wrapped = constructor not in CONSTRUCTORS
        made_by = f"`{constructor}`" if wrapped else f"context.{constructor}"
        if discarded:
            name = names.fresh()
            message = (
                f"the cancel function of {made_by} is discarded: the context is "
                "released only when its parent is done"
            )
        elif not declares:
            return None  # `cancel = ...`: its declaration (and any defer) may be elsewhere
        else:
            name = text(cancel_node)
            if name in _named_results(function):
                return None  # a bare return hands it to the caller (vitess' watch helpers)
            overwrite = _overwriting(name, statement, following, package)
            if overwrite is not None:
                return self._overwritten(ctx, statement, overwrite, made_by)
            uses = _cancel_uses(name, following, function)
            if uses is None:
                field_name = _stored_in_uncalled_field(name, following, ctx)
                if field_name is None:
                    return None
                message = (
                    f"`{name}` from {made_by} is stored in field `{field_name}`, which no code "
                    "of the package calls: the context is released only when its parent is done"
                )
                return self.finding(ctx, statement, message, Safety.REPORT_ONLY)
            if uses.deferred or ReleaseFlow(name).leaves_live(following) is not True:
                return None
            message = (
                f"`{name}` from {made_by} is not called on every path: the "
                "context is released only when its parent is done"
            )
        # `ctx, _ = ...` assigns a variable declared further out: it lives past this block.
        rest = _rest_of_function(statement, function)
        scope = following if declares else rest
        safety = _context_safety(text(context_node), scope, rest, function, package)
        if _silences_vet(ctx.source, statement) or _explained_above(statement):
            safety = Safety.REPORT_ONLY  # the author says this cancel is lost on purpose
        if text(context_node) in _named_results(function):
            safety = Safety.REPORT_ONLY  # a bare return hands the context to the caller
        if not declares and not _local_to(text(context_node), function, statement):
            safety = Safety.REPORT_ONLY  # a package or captured variable outlives this call
        if inside_loop(statement, function):
            safety = Safety.REPORT_ONLY  # a defer per iteration would pile up
        if wrapped and safety is Safety.SAFE:
            safety = Safety.REVIEW  # the package's wrapper may hand its cancel on elsewhere
        takes_cause = constructor in CAUSE_CANCEL
        edits = _defer_edits(ctx.source, statement, name, takes_cause)
        if safety is Safety.REPORT_ONLY or edits is None:
            return self.finding(ctx, statement, message, Safety.REPORT_ONLY)
        if discarded:
            edits.append(Edit(cancel_node.start_byte, cancel_node.end_byte, name))
        if discarded and not declares:
            # `ctx, _ = ...` declares nothing: the cancel function needs a variable first.
            line_start = ctx.source.rfind(b"\n", 0, statement.start_byte) + 1
            if ctx.source[line_start : statement.start_byte].strip():
                return self.finding(ctx, statement, message, Safety.REPORT_ONLY)
            kind = "CancelCauseFunc" if takes_cause else "CancelFunc"
            indent = line_indent(ctx.source, statement.start_byte)
            declaration_text = f"var {name} {package}.{kind}\n{indent}"
            edits.append(Edit(statement.start_byte, statement.start_byte, declaration_text))
        fix = Fix(tuple(edits), f"defer {name}() right after the context is derived")
        return self.finding(ctx, statement, message, safety, fix)

    def _overwritten(
        self, ctx: FileContext, statement: Node, overwrite: Node, made_by: str
    ) -> Finding:
        """`c, cancel := context.WithCancel(p)` then `c, cancel = context.WithTimeout(p, d)`
        with no call of the first cancel between: the first context is never released."""
        left = statement.child_by_field_name("left")
        assert left is not None
        context_name, name = (text(n) for n in left.named_children)
        message = (
            f"`{name}` from {made_by} is overwritten below before it is called: the first "
            "context is released only when its parent is done"
        )
        between = _between(statement, overwrite)
        right = overwrite.child_by_field_name("right")
        new_left = overwrite.child_by_field_name("left")
        fixable = (
            new_left is not None
            and text(new_left.named_children[0]) == context_name
            and right is not None
            and not _mentions(right, context_name)  # the new context is not derived from it
            and not any(_mentions(n, context_name) for n in between)  # nor handed out before
            and not any(a.type == "for_statement" for a in _ancestors_below(overwrite, statement))
        )
        if not fixable:
            return self.finding(ctx, statement, message, Safety.REPORT_ONLY)
        indent = line_indent(ctx.source, overwrite.start_byte)
        edit = Edit(overwrite.start_byte, overwrite.start_byte, f"{name}()\n{indent}")
        fix = Fix((edit,), f"call {name}() before it is overwritten")
        return self.finding(ctx, statement, message, Safety.SAFE, fix)


# `.../vendor/golang.org/x/net/context`, `.../Godeps/_workspace/src/golang.org/x/net/context`:
# the old context package, vendored before modules.
_VENDORED_CONTEXT = re.compile(r".+/(?:vendor|_workspace/src)/golang\.org/x/net/context")


def _context_package(root: Node) -> str | None:
    """The name the file gives the context package, vendored copies included."""
    for path in CONTEXT_PATHS:
        if (name := imported_name(root, path)) is not None:
            return name
    imports = [c for c in root.named_children if c.type == "import_declaration"]
    for spec in (n for i in imports for n in descendants(i) if n.type == "import_spec"):
        path_node = spec.child_by_field_name("path")
        path = text(path_node).strip('"`') if path_node is not None else ""
        if _VENDORED_CONTEXT.fullmatch(path):
            return imported_name(root, path)
    return None


def _cancel_wrappers(ctx: FileContext, package: str) -> frozenset[str]:
    """Functions of the package declared to return (context.Context, context.CancelFunc):
    their cancel is lost the same way a context constructor's is."""
    results = (
        rf"\(\s*(?:\w+\s+)?{package}\.Context\s*,\s*(?:\w+\s+)?{package}\.Cancel(?:Cause)?Func\s*\)"
    )
    declared = re.compile(rf"^func\s+(\w+)(?:\[[^\]]*\])?\s*\([^()]*\)\s*{results}".encode(), re.M)
    found = {m.group(1).decode() for m in declared.finditer(ctx.source)}
    if not re.search(rb"[cC]ancel\w*\s*:?=\s*\w+\(", ctx.source):
        return frozenset(found)  # no call that could be one: do not read the package
    for _, source in ctx.siblings.files():
        found.update(m.group(1).decode() for m in declared.finditer(source))
    return frozenset(found)


def _wrapped_context(statement: Node, wrappers: frozenset[str]) -> str | None:
    """The wrapper's name when statement is `a, b := wrapper(...)` (or `=`)."""
    left, right = statement.child_by_field_name("left"), statement.child_by_field_name("right")
    if not wrappers or left is None or right is None or right.named_child_count != 1:
        return None
    if left.named_child_count != 2 or any(n.type != "identifier" for n in left.named_children):
        return None
    operator = statement.child_by_field_name("operator")
    if statement.type == "assignment_statement" and (operator is None or text(operator) != "="):
        return None
    call = right.named_children[0]
    function = call.child_by_field_name("function") if call.type == "call_expression" else None
    if function is None or function.type != "identifier" or text(function) not in wrappers:
        return None
    return text(function)


def _overwriting(name: str, statement: Node, following: list[Node], package: str) -> Node | None:
    """The first `x, name = context.WithX(...)` after statement, in the same function, when
    nothing names `name` between the two (no call, no defer, no hand-off)."""
    for top in following:
        for node in [top, *descendants_outside_functions(top)]:
            if node.type == "identifier" and text(node) == name:
                left = node.parent
                holder = left.parent if left is not None else None
                if (
                    left is not None
                    and holder is not None
                    and holder.type == "assignment_statement"
                    and holder.child_by_field_name("left") == left
                    and left.named_child_count == 2
                    and left.named_children[1] == node
                    and _derived_context(holder, package) is not None
                ):
                    return holder
                return None  # called, deferred or handed out before any overwrite
            if node.type == "func_literal" and _mentions(node, name):
                return None  # a closure may call it
    return None


def _between(statement: Node, later: Node) -> list[Node]:
    """Nodes after statement and before later, outside function literals."""
    function = enclosing_function(statement)
    body = function.child_by_field_name("body") if function is not None else None
    if body is None:
        return []
    return [
        n
        for n in descendants(body)
        if n.start_byte >= statement.end_byte and n.end_byte <= later.start_byte
    ]


def _ancestors_below(node: Node, statement: Node) -> list[Node]:
    """The ancestors of node strictly inside statement's statement list."""
    holder = statement.parent
    found = []
    for ancestor in ancestors(node):
        if ancestor == holder:
            break
        found.append(ancestor)
    return found


def _mentions(node: Node, name: str) -> bool:
    return any(n.type == "identifier" and text(n) == name for n in [node, *descendants(node)])


def _stored_in_uncalled_field(name: str, following: list[Node], ctx: FileContext) -> str | None:
    """The field when the cancel function's only use is being stored in an unexported field
    (`T{cancel: cancel}`, `x.cancel = cancel`) that no code of the package reads back."""
    found = [n for n in _identifiers(following, name) if not _is_literal_key(n)]
    if len(found) != 1:
        return None
    node = found[0]
    parent = node.parent
    field_name = None
    if parent is not None and parent.type == "literal_element":
        keyed = parent.parent
        if (
            keyed is not None
            and keyed.type == "keyed_element"
            and keyed.named_children[-1] == parent
        ):
            key = keyed.named_children[0]
            field_name = text(key)
    elif parent is not None and parent.type == "expression_list":
        assignment = parent.parent
        target = assignment.child_by_field_name("left") if assignment is not None else None
        if (
            assignment is not None
            and assignment.type == "assignment_statement"
            and assignment.child_by_field_name("right") == parent
            and parent.named_child_count == 1
            and target is not None
            and target.named_child_count == 1
            and target.named_children[0].type == "selector_expression"
        ):
            field_node = target.named_children[0].child_by_field_name("field")
            field_name = text(field_node) if field_node is not None else None
    if field_name is None or not re.fullmatch(r"[a-z_]\w*", field_name):
        return None  # an exported field may be called by other packages
    read = re.compile(rb"\." + field_name.encode() + rb"\b(?!\s*=[^=])")
    # A test file's fields are read by the package's other tests too.
    testing = str(ctx.path).endswith("_test.go")
    siblings = ctx.siblings.sources() if testing else ctx.siblings.files()
    sources = [ctx.source, *(source for _, source in siblings)]
    if any(read.search(source) for source in sources):
        return None
    return field_name


def _is_literal_key(node: Node) -> bool:
    """`cancel` in `T{cancel: cancel}` before the colon: a field name, not a use."""
    element = node.parent
    keyed = element.parent if element is not None else None
    return (
        element is not None
        and element.type == "literal_element"
        and keyed is not None
        and keyed.type == "keyed_element"
        and keyed.named_children[0] == element
    )


def _released_with_parent(statement: Node, function: Node, package: str) -> bool:
    """Whether the context is derived from a parent made just before in the same block,
    `p, c := context.WithCancel(...)`, whose cancel is deferred or called on every path:
    cancelling the parent cancels the child too, stopping its timer (buildkit's
    `ctx, _ = context.WithTimeoutCause(ctx, ...)` under `defer cancel(...)`)."""
    right = statement.child_by_field_name("right")
    call = right.named_children[0] if right is not None else None
    arguments = call.child_by_field_name("arguments") if call is not None else None
    parent = arguments.named_children[0] if arguments and arguments.named_child_count else None
    if parent is None or parent.type != "identifier":
        return False
    sibling = statement.prev_named_sibling
    while sibling is not None:
        if any(text(n) == text(parent) for n in _assigned_names(sibling)):
            break
        sibling = sibling.prev_named_sibling
    if sibling is None or sibling.type != "short_var_declaration":
        return False
    if _derived_context(sibling, package) is None:
        return False
    left = sibling.child_by_field_name("left")
    assert left is not None
    context_node, cancel_node = left.named_children
    if text(context_node) != text(parent) or text(cancel_node) == "_":
        return False
    name, following = text(cancel_node), _following(sibling)
    uses = _cancel_uses(name, following, function)
    if uses is None:
        return False  # someone else calls it, at a time we cannot see
    return uses.deferred or ReleaseFlow(name).leaves_live(following) is False


def _assigned_names(statement: Node) -> list[Node]:
    """The identifiers a declaration or assignment statement writes."""
    if statement.type not in ("short_var_declaration", "assignment_statement", "var_declaration"):
        return []
    if statement.type == "var_declaration":
        return [
            n
            for spec in descendants(statement)
            if spec.type == "var_spec"
            for n in spec.children_by_field_name("name")
        ]
    left = statement.child_by_field_name("left")
    return left.named_children if left is not None else []


def _silences_vet(source: bytes, statement: Node) -> bool:
    """A `//nolint` (all linters, or govet/lostcancel) on the statement's last line."""
    end_of_line = source.find(b"\n", statement.end_byte)
    rest = source[statement.end_byte : end_of_line if end_of_line >= 0 else len(source)]
    return NOLINT_VET.search(rest) is not None


def _explained_above(statement: Node) -> bool:
    """A comment right above the statement that speaks of the cancel function: the author
    left it uncalled on purpose (vault's event bus lets the timeout release the context,
    which an asynchronous sink still uses after the function returns)."""
    comment = statement.prev_sibling
    if comment is None and statement.parent is not None:
        comment = statement.parent.prev_sibling  # the first statement: comments open the block
    while comment is not None and comment.type == "comment":
        if re.search(r"(?i)\bcancel", text(comment)):
            return True
        comment = comment.prev_sibling
    return False


def _local_to(name: str, function: Node, before: Node) -> bool:
    """Whether name is a parameter of function or declared in its own body before `before`."""
    if name == "_":
        return True
    parameters = function.child_by_field_name("parameters")
    for declaration in parameters.named_children if parameters is not None else []:
        if any(text(n) == name for n in declaration.children_by_field_name("name")):
            return True
    body = function.child_by_field_name("body")
    for node in descendants_outside_functions(body) if body is not None else ():
        if node.start_byte >= before.start_byte:
            break
        if node.type == "var_spec":
            names = node.children_by_field_name("name")
        elif node.type in ("short_var_declaration", "range_clause"):
            left = node.child_by_field_name("left")
            names = left.named_children if left is not None else []
        else:
            continue
        if any(n.type == "identifier" and text(n) == name for n in names):
            return True
    return False


def _named_results(function: Node) -> set[str]:
    result = function.child_by_field_name("result")
    if result is None or result.type != "parameter_list":
        return set()
    return {
        text(name)
        for declaration in result.named_children
        for name in declaration.children_by_field_name("name")
    }


def _derived_context(statement: Node, package: str) -> str | None:
    """The constructor name when statement is `a, b := <package>.WithX(...)` (or `=`)."""
    left, right = statement.child_by_field_name("left"), statement.child_by_field_name("right")
    if left is None or right is None or right.named_child_count != 1:
        return None
    if left.named_child_count != 2 or any(n.type != "identifier" for n in left.named_children):
        return None
    operator = statement.child_by_field_name("operator")
    if statement.type == "assignment_statement" and (operator is None or text(operator) != "="):
        return None
    call = right.named_children[0]
    function = call.child_by_field_name("function") if call.type == "call_expression" else None
    if function is None or function.type != "selector_expression":
        return None
    operand, name = function.child_by_field_name("operand"), function.child_by_field_name("field")
    if operand is None or name is None or text(operand) != package:
        return None
    return text(name) if text(name) in CONSTRUCTORS else None


def _following(statement: Node) -> list[Node]:
    """The statements after `statement` in its list: where the variables it declares live."""
    result = []
    sibling = statement.next_named_sibling
    while sibling is not None:
        result.append(sibling)
        sibling = sibling.next_named_sibling
    return result


def _rest_of_function(statement: Node, function: Node) -> list[Node]:
    """The statements that can run after `statement`, up to the end of its function."""
    body = function.child_by_field_name("body")
    result = []
    node: Node | None = statement
    while node is not None and node != body:
        if node.parent is not None and node.parent.type == "statement_list":
            result.extend(_following(node))
        node = node.parent
    return result


def _identifiers(nodes: list[Node], name: str) -> Iterator[Node]:
    for node in nodes:
        if node.type == "identifier" and text(node) == name:
            yield node
        for below in descendants(node):
            if below.type == "identifier" and text(below) == name:
                yield below


@dataclass
class _CancelUses:
    deferred: bool = False


def _cancel_uses(name: str, following: list[Node], function: Node) -> _CancelUses | None:
    """How the cancel function is used; None when it escapes (someone else may call it)."""
    uses = _CancelUses()
    for identifier in _identifiers(following, name):
        call = identifier.parent
        if call is None or call.type != "call_expression":
            return None
        if call.child_by_field_name("function") != identifier:
            return None  # passed as an argument: the callee owns it now
        holder = call.parent
        owner = enclosing_function(call)
        if holder is not None and holder.type == "defer_statement":
            uses.deferred = True
        elif owner != function:
            if owner is None or not is_deferred_literal(owner):
                return None  # a closure or goroutine calls it, at a time we cannot see
            uses.deferred = True
        elif holder is None or holder.type != "expression_statement":
            return None
    return uses


def _context_safety(
    name: str, following: list[Node], rest: list[Node], function: Node, package: str
) -> Safety:
    """How far a deferred cancel is safe, from where the derived context flows.

    A name is tainted strongly when it holds the context itself (the context, or what a
    `...Context` call made from it: a request, a command), weakly when it is some other
    result of a call given the context (rows, a stream, or a plain value). The context is
    followed through `following` (where its name is in scope); the values made from it
    through `rest`, the whole rest of the function, since they may be variables declared
    further out (`opts = append(opts, WithContext(ctx))` inside an `if`, `return opts` after).
    """
    if name == "_":
        return Safety.SAFE
    safety = Safety.SAFE
    tainted: list[tuple[str, bool]] = [(name, True)]
    seen = {name}
    while tainted:
        current, strong = tainted.pop()
        for identifier in _identifiers(following if current == name else rest, current):
            verdict, results = _classify_use(identifier, function, strong, package)
            safety = min(safety, verdict)
            for result, result_strong in results:
                if result not in seen:
                    seen.add(result)
                    tainted.append((result, result_strong))
    return safety


_Use = tuple[Safety, list[tuple[str, bool]]]


def _classify_use(identifier: Node, function: Node, strong: bool, package: str) -> _Use:
    """The safety of one use of the context (or of a value made from it) and what it taints."""
    escape = Safety.REPORT_ONLY if strong else Safety.REVIEW
    statement = None
    for ancestor in ancestors(identifier):
        if ancestor == function:
            break
        if ancestor.type == "go_statement":
            return _goroutine_safety(ancestor, function) if strong else Safety.REVIEW, []
        if ancestor.type == "func_literal" and not is_deferred_literal(ancestor):
            started = go_statement_starting(ancestor)
            if started is not None and strong:
                return _goroutine_safety(started, function), []
            return Safety.REVIEW, []  # a closure may run after the function returned
        if statement is None and _is_statement(ancestor):
            statement = ancestor
    value = identifier
    while value.parent is not None and value.parent.type == "parenthesized_expression":
        value = value.parent
    parent = value.parent
    if parent is None:
        return Safety.REVIEW, []
    if parent.type == "call_expression" and parent.child_by_field_name("function") == value:
        return Safety.SAFE, []  # a function made from the context (a cancel), called
    if statement is not None and _written_through(identifier, statement):
        return Safety.SAFE, []  # `req.Host = ...`: writes into the value, not the value
    if parent.type in ("argument_list", "selector_expression"):
        call = parent.parent
        carries = (
            strong
            and call is not None
            and call.type == "call_expression"
            and (
                _makes_context(call, package)
                # `m.done = ctx.Done()`: the channel closes exactly when cancel is called
                or (parent.type == "selector_expression" and _text_of_field(parent) == "Done")
            )
        )
        return _call_result_safety(identifier, statement, function, carries)
    if parent.type == "expression_list" and parent.parent is not None:
        holder = parent.parent
        if holder.type in ("short_var_declaration", "assignment_statement"):
            if holder.child_by_field_name("left") == parent:
                return Safety.SAFE, []  # assigned to: the name now holds something else
            return escape, []  # aliased or stored
        if holder.type == "return_statement":
            return (escape if strong else _returned_safety(identifier, holder, function)), []
        return Safety.REVIEW, []
    if parent.type in ("literal_element", "keyed_element", "send_statement", "var_spec"):
        return escape, []
    if parent.type == "unary_expression" and text(parent).startswith("&"):
        return escape, []  # its address outlives the expression
    return Safety.SAFE, []  # read, compared, tested: the value goes nowhere


def _text_of_field(selector: Node) -> str:
    field = selector.child_by_field_name("field")
    return text(field) if field is not None else ""


def _written_through(identifier: Node, statement: Node) -> bool:
    if statement.type not in ("assignment_statement", "inc_statement", "dec_statement"):
        return False
    left = statement.child_by_field_name("left") or statement.named_children[0]
    return left != identifier.parent and _contains(left, identifier)


def _makes_context(call: Node, package: str) -> bool:
    """`req.WithContext(ctx)`, `exec.CommandContext(ctx, ...)`, `context.WithValue(ctx, ...)`."""
    function = call.child_by_field_name("function")
    if function is None:
        return False
    if function.type == "selector_expression":
        operand = function.child_by_field_name("operand")
        if operand is not None and text(operand) == package:
            return True
        function = function.child_by_field_name("field") or function
    return "Context" in text(function) or "Ctx" in text(function)


def _is_statement(node: Node) -> bool:
    """A statement of a list, or an `if`/`switch` initializer that declares names."""
    parent = node.parent
    return parent is not None and (
        parent.type == "statement_list"
        or node.type in ("short_var_declaration", "assignment_statement")
    )


def _call_result_safety(
    identifier: Node, statement: Node | None, function: Node, carries: bool
) -> _Use:
    """A call given the context: its results may hold it (a request, a stream, rows)."""
    escape = Safety.REPORT_ONLY if carries else Safety.REVIEW
    if statement is None:
        return Safety.REVIEW, []
    for ancestor in ancestors(identifier):
        if ancestor == statement:
            break
        if ancestor.type == "literal_value":
            return escape, []  # a call result stored in a composite literal
    if statement.type == "return_statement":
        return (escape if carries else _returned_safety(identifier, statement, function)), []
    if statement.type in ("short_var_declaration", "assignment_statement"):
        left = statement.child_by_field_name("left")
        names: list[tuple[str, bool]] = []
        for target in left.named_children if left is not None else []:
            if target.type != "identifier":
                return escape, []  # stored in a field, map or slice, or through a pointer
            if text(target) != "_" and not ERROR_NAME.match(text(target)):
                names.append((text(target), carries))
        return Safety.SAFE, names
    if statement.type == "var_declaration":
        names = [
            (text(n), carries)
            for spec in statement.named_children
            for n in spec.children_by_field_name("name")
            if text(n) != "_" and not ERROR_NAME.match(text(n))
        ]
        return Safety.SAFE, names
    return Safety.SAFE, []


def _returned_safety(identifier: Node, statement: Node, function: Node) -> Safety:
    """A value made from the context is returned: safe only when its result type is plain
    data (a string, a number, an error...), which cannot hold on to the context."""
    values = statement.named_children[0] if statement.named_child_count else None
    if values is None:
        return Safety.SAFE
    items = values.named_children if values.type == "expression_list" else [values]
    types = _result_types(function)
    if len(items) == len(types):
        index = next((i for i, item in enumerate(items) if _contains(item, identifier)), None)
        if index is None:
            return Safety.REVIEW
        return Safety.SAFE if _is_plain(types[index]) else Safety.REVIEW
    if len(items) == 1 and all(_is_plain(t) for t in types):
        return Safety.SAFE  # `return f(ctx)` spreading plain results
    return Safety.REVIEW


def _contains(node: Node, inner: Node) -> bool:
    return node.start_byte <= inner.start_byte and inner.end_byte <= node.end_byte


def _result_types(function: Node) -> list[Node]:
    result = function.child_by_field_name("result")
    if result is None:
        return []
    if result.type != "parameter_list":
        return [result]
    types = []
    for declaration in result.named_children:
        kind = declaration.child_by_field_name("type")
        if kind is not None:
            types.extend([kind] * max(1, len(declaration.children_by_field_name("name"))))
    return types


def _is_plain(kind: Node) -> bool:
    """Types whose values are plain data: they cannot carry a context or a live handle."""
    if kind.type == "type_identifier":
        return text(kind) in PLAIN_TYPES
    if kind.type == "qualified_type":
        return text(kind) in PLAIN_QUALIFIED_TYPES
    if kind.type in ("slice_type", "array_type"):
        element = kind.child_by_field_name("element")
        return element is not None and _is_plain(element)
    if kind.type == "map_type":
        key, value = kind.child_by_field_name("key"), kind.child_by_field_name("value")
        return key is not None and value is not None and _is_plain(key) and _is_plain(value)
    if kind.type == "parenthesized_type":
        return all(_is_plain(c) for c in kind.named_children)
    return False


def _goroutine_safety(go_statement: Node, function: Node) -> Safety:
    """A goroutine using the context: started just before returning, it is meant to outlive."""
    after = go_statement.next_named_sibling
    while after is not None and after.type == "comment":
        after = after.next_named_sibling
    body = function.child_by_field_name("body")
    at_end = (
        after is None and go_statement.parent is not None and go_statement.parent.parent == body
    )
    bare_return = (
        after is not None
        and after.type == "return_statement"
        and not any(n.type == "call_expression" for n in descendants(after))
    )
    if at_end or bare_return or _hands_back(go_statement):
        return Safety.REPORT_ONLY
    return Safety.REVIEW


def _hands_back(go_statement: Node) -> bool:
    """Whether a `go func() {...}()` passes values out: a send, or an assignment to a variable
    of the enclosing function. What it hands back (a response, a stream) may still use the
    context after the function returns; errors and constants cannot."""
    call = go_statement.named_children[0] if go_statement.named_child_count else None
    literal = call.child_by_field_name("function") if call is not None else None
    if literal is None or literal.type != "func_literal":
        return False
    local = _declared_in(literal)
    for node in descendants(literal):
        if node.type == "send_statement":
            value = node.child_by_field_name("value")
            if value is not None and _carries_values(value):
                return True
        elif node.type == "assignment_statement":
            left = node.child_by_field_name("left")
            for target in left.named_children if left is not None else []:
                name = target if target.type == "identifier" else None
                if name is None:
                    return True  # a field, an element, through a pointer
                if (
                    text(name) not in local
                    and text(name) != "_"
                    and not ERROR_NAME.match(text(name))
                ):
                    return True
    return False


def _declared_in(literal: Node) -> set[str]:
    """The names a function literal declares: its parameters and its own variables."""
    names: set[str] = set()
    for node in descendants(literal):
        if node.type in ("parameter_declaration", "var_spec", "const_spec"):
            names.update(text(n) for n in node.children_by_field_name("name"))
        elif node.type in ("short_var_declaration", "range_clause"):
            left = node.child_by_field_name("left")
            names.update(
                text(n)
                for n in (left.named_children if left is not None else [])
                if n.type == "identifier"
            )
    return names


def _carries_values(value: Node) -> bool:
    """Whether a sent value may hold something other than an error or a constant."""
    names = [value] if value.type == "identifier" else []
    names += [n for n in descendants(value) if n.type == "identifier"]
    return any(
        text(n) not in ("nil", "true", "false") and not ERROR_NAME.match(text(n)) for n in names
    )


@dataclass
class _Names:
    """The identifiers of one top-level declaration, plus those its fixes have taken."""

    declaration: Node
    used: set[str] | None = None

    def fresh(self) -> str:
        """`cancel`, or `cancel2`... when the declaration (or another fix) already has it."""
        if self.used is None:
            self.used = {text(n) for n in descendants(self.declaration) if n.type == "identifier"}
        name, number = "cancel", 2
        while name in self.used:
            name, number = f"cancel{number}", number + 1
        self.used.add(name)
        return name


def _defer_edits(source: bytes, statement: Node, name: str, takes_cause: bool) -> list[Edit] | None:
    """Insert `defer name()` on the line after the statement; None if the line holds more."""
    end_of_line = source.find(b"\n", statement.end_byte)
    if end_of_line < 0:
        return None
    rest = source[statement.end_byte : end_of_line].strip()
    if rest and not rest.startswith(b"//"):
        return None  # another statement or a block comment shares the line
    indent = line_indent(source, statement.start_byte)
    call = f"{name}(nil)" if takes_cause else f"{name}()"
    return [Edit(end_of_line, end_of_line, f"\n{indent}defer {call}")]
