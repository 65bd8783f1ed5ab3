"""time-tick-leak: `time.Tick` in a function that returns, whose ticker is never stopped."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from tree_sitter import Node

from codemod.go.flow import enclosing_loop, loop_can_exit
from codemod.go.rewrite import statement_anchor
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
    has_goto,
    line_indent,
    statement_list,
    text,
)
from codemod.go.timers import imports_time, time_is_shadowed
from codemod.model import Edit, Finding, Fix, Safety
from codemod.transform import FileContext, Transform


class TimeTickLeak(Transform):
    """
    ## What it does
    Finds `time.Tick(d)` in a function that stops using it and returns: a `for range` over
    it that can end, or a local `tick := time.Tick(d)` that the function only receives from.
    It makes a `time.NewTicker(d)` instead, stops it with `defer`, and uses its channel `C`.

    ## Why is this bad?
    `time.Tick` returns only the channel of a new `time.Ticker`; nobody can call `Stop` on
    it. Before Go 1.23 the runtime keeps every running ticker in its timer heap and fires
    it every `d` for ever, so the garbage collector never frees it, even after the function
    that used it has returned. Each call of such a function leaks one ticker that keeps
    waking the runtime up.

    ## Example
    ```go
    func WaitReady(ctx context.Context, ready func() bool) error {
        for range time.Tick(100 * time.Millisecond) {
            if ready() {
                return nil
            }
            if err := ctx.Err(); err != nil {
                return err
            }
        }
        return nil
    }
    ```

    ## Use instead
    ```go
    func WaitReady(ctx context.Context, ready func() bool) error {
        ticker := time.NewTicker(100 * time.Millisecond)
        defer ticker.Stop()
        for range ticker.C {
            if ready() {
                return nil
            }
            if err := ctx.Err(); err != nil {
                return err
            }
        }
        return nil
    }
    ```

    ## Fix safety
    Safe when `d` is a positive constant (`5 * time.Second`, a constant of the file): the
    ticker ticks exactly as before and is stopped when the function returns, after its last
    receive. When `d` is a variable the fix needs review: `time.Tick` returns nil for
    `d <= 0` (a receive that blocks for ever) where `time.NewTicker` panics. A `time.Tick`
    created on every loop iteration, received from in a `select` case, or whose channel is
    handed to other code is reported without a fix; one that is returned or stored, or that
    lives as long as the program (in `main`, or in a loop that never ends), is left alone.

    ## Go versions
    Before Go 1.23, and in modules whose `go` line is below 1.23 (they keep
    `GODEBUG=asynctimerchan=1`, the old timers, on Go 1.23 to 1.26). From Go 1.23 an
    unreferenced ticker is collected, so modules at `go 1.23` or later get no finding.
    Go 1.27 removed `asynctimerchan`; a module below 1.23 still leaks when built with the
    older toolchains its `go` line allows.
    """

    id: ClassVar[str] = "time-tick-leak"
    title: ClassVar[str] = "Stop the ticker: time.NewTicker with defer Stop instead of time.Tick"
    safety: ClassVar[Safety] = Safety.SAFE
    max_go: ClassVar[tuple[int, int] | None] = (1, 23)
    tags: ClassVar[tuple[str, ...]] = ("timer", "ticker")
    prefilter: ClassVar[re.Pattern[bytes] | None] = re.compile(rb"time\.Tick\(")

    candidates: ClassVar[frozenset[str]] = frozenset({"call_expression"})

    def find(self, ctx: FileContext) -> Iterator[Finding]:
        if not imports_time(ctx.parsed.root):
            return
        package_main = _package_name(ctx.parsed.root) == "main"
        constants = _file_constants(ctx.parsed.root)
        for declaration in ctx.parsed.clean_declarations:
            if declaration.type not in ("function_declaration", "method_declaration"):
                continue  # a package-level Tick lives as long as the program
            calls = [
                n
                for n in descendants_of_type(declaration, self.candidates)
                if call_name(n) == "time.Tick"
            ]
            if not calls or time_is_shadowed(declaration):
                continue
            main = declaration if package_main and _is_main(declaration) else None
            taken = identifier_names(declaration)
            for call in calls:
                finding = self._check(ctx, call, taken, constants, main)
                if finding is not None:
                    yield finding

    def _check(
        self,
        ctx: FileContext,
        call: Node,
        taken: set[str],
        constants: dict[str, Node | None],
        main: Node | None,
    ) -> Finding | None:
        function = enclosing_function(call)
        arguments = call_arguments(call)
        if function is None or len(arguments) != 1:
            return None
        # main's own tickers live as long as the program (its func literals may run many times).
        in_main = function == main
        parent = call.parent
        assert parent is not None
        if _is_receive(parent):
            if in_main and enclosing_loop(call, function) is None:
                return None
            message = (
                "`<-time.Tick(d)` starts a ticker that is never stopped; "
                "before Go 1.23 it runs (and is never collected) for the life of the process"
            )
            return self.finding(ctx, call, message, Safety.REPORT_ONLY)
        if in_main:
            return None
        message = (
            "the ticker of `time.Tick` is never stopped; before Go 1.23 it keeps running and "
            "is never collected after this function returns"
        )
        if parent.type == "range_clause" and parent.child_by_field_name("right") == call:
            loop = parent.parent
            if loop is None or loop.type != "for_statement" or not loop_can_exit(loop):
                return None  # the ticker is in use for as long as the loop, which never ends
            statement = loop
        else:
            declared = _declared_variable(call)
            if declared is None:
                return None  # returned, stored or passed on: its lifetime is not ours to judge
            statement, name = declared
            uses = _variable_uses(name, statement, function)
            if uses is _Escapes or not _function_returns(function, name):
                return None
            if uses is _Shared:
                return self.finding(ctx, call, message, Safety.REPORT_ONLY)
        if enclosing_loop(statement, function) is not None or has_goto(function):
            return self.finding(ctx, call, message, Safety.REPORT_ONLY)
        anchor = statement_anchor(ctx.source, statement)
        if anchor is None:
            return self.finding(ctx, call, message, Safety.REPORT_ONLY)
        ticker = free_name("ticker", taken)
        taken.add(ticker)
        indent = line_indent(ctx.source, statement.start_byte)
        interval = text(arguments[0])
        edits = (
            Edit(
                anchor,
                anchor,
                f"{indent}{ticker} := time.NewTicker({interval})\n{indent}defer {ticker}.Stop()\n",
            ),
            Edit(call.start_byte, call.end_byte, f"{ticker}.C"),
        )
        if _positive_constant(arguments[0], constants, depth=0):
            safety, note = Safety.SAFE, ""
        else:
            safety, note = Safety.REVIEW, " (time.NewTicker panics where time.Tick gave nil)"
        fix = Fix(edits, f"time.NewTicker with defer {ticker}.Stop(){note}")
        return self.finding(ctx, call, message, safety, fix)


class _Verdict:
    """How a `tick := time.Tick(d)` variable is used inside its function."""


_Local = _Verdict()  # only received from, ranged over or reassigned, in the function itself
_Shared = _Verdict()  # handed to other code or to a closure: we cannot tell when it stops
_Escapes = _Verdict()  # returned or stored: it may be meant to outlive the function


def _is_receive(node: Node) -> bool:
    operator = node.child_by_field_name("operator")
    return node.type == "unary_expression" and operator is not None and text(operator) == "<-"


def _declared_variable(call: Node) -> tuple[Node, str] | None:
    """(statement, name) for `name := time.Tick(d)` or `var name = time.Tick(d)`."""
    values = call.parent
    if values is None or values.type != "expression_list" or values.named_child_count != 1:
        return None
    holder = values.parent
    if holder is None:
        return None
    if holder.type == "short_var_declaration":
        left = holder.child_by_field_name("left")
        if (
            left is None
            or left.named_child_count != 1
            or holder.child_by_field_name("right") != values
        ):
            return None
        target = left.named_children[0]
        return (holder, text(target)) if target.type == "identifier" else None
    if holder.type == "var_spec":
        names = holder.children_by_field_name("name")
        declaration = holder.parent
        if len(names) != 1 or declaration is None or declaration.type != "var_declaration":
            return None
        if sum(1 for c in declaration.named_children if c.type == "var_spec") != 1:
            return None
        return declaration, text(names[0])
    return None


def _variable_uses(name: str, statement: Node, function: Node) -> _Verdict:
    body = function.child_by_field_name("body")
    if body is None:
        return _Shared
    verdict = _Local
    for node in descendants(body):
        if node.type != "identifier" or text(node) != name:
            continue
        if node.start_byte < statement.end_byte and node.start_byte >= statement.start_byte:
            continue  # the declaration itself
        if enclosing_function(node) != function:
            verdict = _Shared  # a closure may receive from it after the function returned
            continue
        parent = node.parent
        assert parent is not None
        if _is_receive(parent):
            continue
        if parent.type == "range_clause" and parent.child_by_field_name("right") == node:
            continue
        if parent.type == "expression_list" and parent.parent is not None:
            holder = parent.parent
            if holder.type == "assignment_statement" and holder.child_by_field_name("left") == (
                parent
            ):
                continue  # `tick = nil` switches a select case off; the ticker is unchanged
            if holder.type in ("short_var_declaration", "var_spec") and (
                holder.child_by_field_name("left") == parent
            ):
                return _Shared  # redeclared: names no longer tell which variable is meant
            if holder.type in ("return_statement", "assignment_statement"):
                return _Escapes
        if parent.type in ("literal_element", "keyed_element", "var_spec"):
            return _Escapes
        verdict = _Shared
    return verdict


def _function_returns(function: Node, ticker: str) -> bool:
    """Whether the function can return: a ticker it never stops outlives it (a final
    `for t := range ticker` with no way out keeps the function, and the ticker, alive)."""
    body = function.child_by_field_name("body")
    if body is None:
        return False
    if any(n.type == "return_statement" for n in descendants_outside_functions(body)):
        return True
    statements = statement_list(body)
    named = [s for s in statements.named_children if s.type != "comment"] if statements else []
    if not named:
        return True
    last = named[-1]
    if last.type == "for_statement":
        return loop_can_exit(last, frozenset({ticker}))
    if last.type == "select_statement":
        return last.named_child_count > 0  # `select {}` blocks for ever
    return True


def _package_name(root: Node) -> str | None:
    for child in root.named_children:
        if child.type == "package_clause":
            name = next((c for c in child.named_children if c.type == "package_identifier"), None)
            return text(name) if name is not None else None
    return None


def _is_main(declaration: Node) -> bool:
    name = declaration.child_by_field_name("name")
    return declaration.type == "function_declaration" and name is not None and text(name) == "main"


def _file_constants(root: Node) -> dict[str, Node | None]:
    """name -> value of each single-valued constant in the file (package level or local);
    None for a name declared more than once, in different scopes: trust neither."""
    constants: dict[str, Node | None] = {}
    for node in descendants(root):
        if node.type != "const_spec":
            continue
        names = node.children_by_field_name("name")
        value = node.child_by_field_name("value")
        single = value.named_children[0] if value is not None and len(names) == 1 else None
        if value is not None and value.named_child_count != 1:
            single = None
        for name in names:
            constants[text(name)] = single if text(name) not in constants else None
    return constants


_TIME_UNITS = frozenset(
    f"time.{unit}"
    for unit in ("Nanosecond", "Microsecond", "Millisecond", "Second", "Minute", "Hour")
)


def _positive_constant(node: Node, constants: dict[str, Node | None], depth: int) -> bool:
    """A constant expression whose value is certainly > 0 (so time.NewTicker cannot panic)."""
    if depth > 8:
        return False
    kind = node.type
    if kind == "int_literal":
        try:
            return int(text(node).replace("_", ""), 0) > 0
        except ValueError:
            return False
    if kind == "float_literal":
        try:
            return float(text(node).replace("_", "")) > 0
        except ValueError:
            return False
    if kind == "selector_expression":
        return text(node) in _TIME_UNITS
    if kind == "parenthesized_expression":
        inner = node.named_children
        return len(inner) == 1 and _positive_constant(inner[0], constants, depth + 1)
    if kind == "binary_expression":
        operator = node.child_by_field_name("operator")
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        return (
            operator is not None
            and text(operator) in ("*", "+")
            and left is not None
            and right is not None
            and _positive_constant(left, constants, depth + 1)
            and _positive_constant(right, constants, depth + 1)
        )
    if kind == "call_expression" and call_name(node) == "time.Duration":
        arguments = call_arguments(node)
        return len(arguments) == 1 and _positive_constant(arguments[0], constants, depth + 1)
    if kind == "identifier":
        value = constants.get(text(node))
        return (
            value is not None
            and not _shadowed_locally(node, text(node))
            and _positive_constant(value, constants, depth + 1)
        )
    return False


def _shadowed_locally(identifier: Node, name: str) -> bool:
    """Some variable or parameter of the enclosing functions has this name."""
    for ancestor in ancestors(identifier):
        if ancestor.type not in FUNCTION_TYPES:
            continue
        for node in descendants(ancestor):
            if node.type != "identifier" or text(node) != name:
                continue
            parent = node.parent
            if parent is not None and parent.type in (
                "parameter_declaration",
                "variadic_parameter_declaration",
                "var_spec",
                "range_clause",
            ):
                return True
            if (
                parent is not None
                and parent.type == "expression_list"
                and parent.parent is not None
                and parent.parent.type in ("short_var_declaration", "range_clause")
            ):
                return True
    return False
