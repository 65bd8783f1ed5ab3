"""time-after-in-loop: `case <-time.After(d):` in a select that a loop runs again and again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from tree_sitter import Node

from codemod.go.flow import (
    BREAKABLE,
    always_leaves,
    enclosing_loop,
    ends_leaving,
    innermost_breakable,
    jump_label,
    loop_label,
)
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


class TimeAfterInLoop(Transform):
    """
    ## What it does
    Finds `case <-time.After(d):` in a `select` that a `for` loop runs on every iteration,
    where another case can complete first and let the loop go round again (a `continue`, or
    falling out of the `select` into more of the loop; `case <-ctx.Done():`, closed once,
    does not count, nor does a case that returns, panics or fails the test with `t.Fatal`;
    nor a `select` the loop reaches on its first pass only: a counter tested by
    `if i > 0 { continue }` before it, or by `if i == 0 {` around it).
    It creates one timer before the loop, stops it when the function returns, and resets it
    before each `select`.

    ## Why is this bad?
    `time.After(d)` is `time.NewTimer(d).C`: every evaluation starts a new runtime timer.
    Before Go 1.23 the runtime keeps every started timer in its timer heap until it fires,
    whether or not anything still references its channel, so the garbage collector cannot
    free it. When another case wins, the loop goes round and starts one more timer while the
    previous ones are still pending: a busy loop with a long `d` piles up timers (and their
    channels) by the thousands, held until each one fires `d` later.

    ## Example
    ```go
    func Drain(jobs <-chan func(), idle time.Duration) {
        for {
            select {
            case job, ok := <-jobs:
                if !ok {
                    return
                }
                job()
            case <-time.After(idle):
                return
            }
        }
    }
    ```

    ## Use instead
    ```go
    func Drain(jobs <-chan func(), idle time.Duration) {
        timer := time.NewTimer(idle)
        defer timer.Stop()
        for {
            if !timer.Stop() {
                select {
                case <-timer.C:
                default:
                }
            }
            timer.Reset(idle)
            select {
            case job, ok := <-jobs:
                if !ok {
                    return
                }
                job()
            case <-timer.C:
                return
            }
        }
    }
    ```

    ## Fix safety
    Safe: the timer is reset right before the `select`, to the same duration evaluated at
    the same point of each iteration, so every `select` waits exactly as long as before.
    The stop-and-drain before `Reset` is the pattern Go before 1.23 needs: a timer that fired
    while another case won holds a stale value that would otherwise end the next wait at
    once; the drain never blocks. The fix is only offered when the `select` sits directly in
    the loop body, the loop is not inside another loop (the `defer` runs once per call),
    and `d` means the same before the loop as inside it: literals, constants, and
    parameters, locals or their fields that the loop neither declares nor assigns (a field
    read through a nil pointer now panics before a loop that would have run zero times).
    Otherwise, or when the function uses `goto` (which may not jump over the new variable),
    the finding is reported without a fix.

    ## Go versions
    Before Go 1.23, and in modules whose `go` line is below 1.23 (they keep
    `GODEBUG=asynctimerchan=1`, the old timers, on Go 1.23 to 1.26). From Go 1.23 an
    unreferenced timer is collected even if it has not fired, so modules at `go 1.23` or
    later get no finding. Go 1.27 removed `asynctimerchan`; a module below 1.23 still leaks
    when built with the older toolchains its `go` line allows.
    """

    id: ClassVar[str] = "time-after-in-loop"
    title: ClassVar[str] = "Reuse one timer instead of time.After in a looping select"
    safety: ClassVar[Safety] = Safety.SAFE
    max_go: ClassVar[tuple[int, int] | None] = (1, 23)
    tags: ClassVar[tuple[str, ...]] = ("timer", "select")
    prefilter: ClassVar[re.Pattern[bytes] | None] = re.compile(rb"time\.After\(")

    candidates: ClassVar[frozenset[str]] = frozenset({"call_expression"})

    def find(self, ctx: FileContext) -> Iterator[Finding]:
        if not imports_time(ctx.parsed.root):
            return
        for declaration in ctx.parsed.clean_declarations:
            calls = [
                n
                for n in descendants_of_type(declaration, self.candidates)
                if call_name(n) == "time.After"
            ]
            if not calls or time_is_shadowed(declaration):
                continue
            taken = identifier_names(declaration)  # fixes of this pass reserve their names here
            for call in calls:
                finding = self._check(ctx, call, taken)
                if finding is not None:
                    yield finding

    def _check(self, ctx: FileContext, call: Node, taken: set[str]) -> Finding | None:
        case = _receive_case(call)
        select = case.parent if case is not None else None
        function = enclosing_function(call)
        if case is None or select is None or select.type != "select_statement":
            return None
        if function is None:
            return None
        loop = enclosing_loop(select, function)
        if loop is None or not _another_case_continues(select, case, loop):
            return None
        if _reached_on_first_pass_only(select, loop):
            return None  # the loop never comes back to this select: one timer at most
        message = (
            "`time.After` in a select inside a loop starts a new timer on every iteration; "
            "before Go 1.23 each one stays in the runtime until it fires"
        )
        arguments = call_arguments(call)
        if (
            len(arguments) != 1
            or not _directly_in_body(select, loop)
            or enclosing_loop(loop, function) is not None
            or sum(1 for c in _cases(select) if _after_call(c) is not None) != 1
            or not hoistable(arguments[0], loop)
            or has_goto(function)
        ):
            return self.finding(ctx, call, message, Safety.REPORT_ONLY)
        loop_anchor = statement_anchor(ctx.source, loop)
        select_anchor = statement_anchor(ctx.source, select)
        if loop_anchor is None or select_anchor is None:
            return self.finding(ctx, call, message, Safety.REPORT_ONLY)
        name = free_name("timer", taken)
        taken.add(name)
        duration = text(arguments[0])
        outer = line_indent(ctx.source, loop.start_byte)
        inner = line_indent(ctx.source, select.start_byte)
        reset = "".join(
            f"{inner}{line}\n"
            for line in (
                f"if !{name}.Stop() {{",
                "\tselect {",
                f"\tcase <-{name}.C:",
                "\tdefault:",
                "\t}",
                "}",
                f"{name}.Reset({duration})",
            )
        )
        edits = (
            Edit(
                loop_anchor,
                loop_anchor,
                f"{outer}{name} := time.NewTimer({duration})\n{outer}defer {name}.Stop()\n",
            ),
            Edit(select_anchor, select_anchor, reset),
            Edit(call.start_byte, call.end_byte, f"{name}.C"),
        )
        fix = Fix(edits, f"one timer `{name}` for the loop, reset before each select")
        return self.finding(ctx, call, message, Safety.SAFE, fix)


# --- helpers shared with time_tick_leak -------------------------------------------------------


def hoistable(expression: Node, loop: Node) -> bool:
    """`expression` has no side effects and means the same just before `loop` as in it."""
    paths: list[str] = []
    if not _stable_shape(expression, paths):
        return False
    written = _written_paths(loop)
    return not any(
        path == target or path.startswith(target + ".") for path in paths for target in written
    )


def _stable_shape(node: Node, paths: list[str]) -> bool:
    kind = node.type
    if kind in ("int_literal", "float_literal"):
        return True
    if kind == "identifier":
        paths.append(text(node))
        return True
    if kind == "selector_expression":
        operand = node.child_by_field_name("operand")
        if operand is None or operand.type not in ("identifier", "selector_expression"):
            return False
        paths.append(text(node))
        return _stable_shape(operand, paths)
    if kind == "parenthesized_expression":
        return all(_stable_shape(c, paths) for c in node.named_children)
    if kind == "unary_expression":
        operator = node.child_by_field_name("operator")
        operand = node.child_by_field_name("operand")
        return (
            operator is not None
            and text(operator) in ("-", "+")
            and operand is not None
            and _stable_shape(operand, paths)
        )
    if kind == "binary_expression":
        operator = node.child_by_field_name("operator")
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        return (
            operator is not None
            and text(operator) in ("+", "-", "*", "/")
            and left is not None
            and right is not None
            and _stable_shape(left, paths)
            and _stable_shape(right, paths)
        )
    if kind == "call_expression" and call_name(node) == "time.Duration":
        arguments = call_arguments(node)
        return len(arguments) == 1 and _stable_shape(arguments[0], paths)
    return False


def _written_paths(scope: Node) -> set[str]:
    """Names and field paths that `scope` declares, assigns, increments or takes the address of
    (nested func literals included: they may run inside the loop)."""
    written: set[str] = set()
    for node in descendants(scope):
        kind = node.type
        if kind in (
            "short_var_declaration",
            "assignment_statement",
            "range_clause",
            "receive_statement",
        ):
            left = node.child_by_field_name("left")
            if left is not None:
                written.update(text(target) for target in left.named_children)
        elif kind in ("inc_statement", "dec_statement") and node.named_child_count:
            written.add(text(node.named_children[0]))
        elif kind in (
            "var_spec",
            "const_spec",
            "parameter_declaration",
            "variadic_parameter_declaration",
        ):
            written.update(text(name) for name in node.children_by_field_name("name"))
        elif kind == "unary_expression":
            operator = node.child_by_field_name("operator")
            operand = node.child_by_field_name("operand")
            if operator is not None and text(operator) == "&" and operand is not None:
                written.add(text(operand))
    return written


# --- private helpers ---------------------------------------------------------------------------


def _receive_case(call: Node) -> Node | None:
    """The communication case whose receive is `<-call` (with or without `v :=` / `v =`)."""
    receive = call.parent
    if receive is None or receive.type != "unary_expression":
        return None
    operator = receive.child_by_field_name("operator")
    if operator is None or text(operator) != "<-":
        return None
    holder = receive.parent
    if holder is not None and holder.type == "receive_statement":
        if holder.child_by_field_name("right") != receive:
            return None
        holder = holder.parent
    if holder is None or holder.type != "communication_case":
        return None
    return holder


def _cases(select: Node) -> list[Node]:
    return [c for c in select.named_children if c.type in ("communication_case", "default_case")]


def _after_call(case: Node) -> Node | None:
    if case.type != "communication_case":
        return None
    for node in descendants(case):
        if (
            node.type == "call_expression"
            and call_name(node) == "time.After"
            and _receive_case(node) == case
        ):
            return node
    return None


def _another_case_continues(select: Node, after_case: Node, loop: Node) -> bool:
    """Some other case (or default) can finish and let the loop start another iteration."""
    label = loop_label(loop)
    then_leaves = _followed_by_leaving(select, loop)
    for case in _cases(select):
        if case == after_case or _receives_from_done(case):
            continue
        statements = statement_list(case)
        if statements is not None and _continues(statements, loop):
            return True
        if not then_leaves and (statements is None or not ends_leaving(statements, label)):
            return True
    return False


def _continues(statements: Node, loop: Node) -> bool:
    """Some `continue` in these statements starts the loop's next iteration."""
    label = loop_label(loop)
    for node in descendants_outside_functions(statements):
        if node.type != "continue_statement":
            continue
        target = jump_label(node)
        if target == label if target is not None else _innermost_loop(node) == loop:
            return True
    return False


def _innermost_loop(node: Node) -> Node | None:
    return next((a for a in ancestors(node) if a.type == "for_statement"), None)


def _followed_by_leaving(select: Node, loop: Node) -> bool:
    """The statements after the select end by leaving the loop: whichever case wins, this
    iteration is the last one to reach the select. When the select ends its block, the
    statements after the enclosing `if` chain (or bare block) are the ones that run next."""
    statement = select
    while True:
        holder = statement.parent
        if holder is None or holder.type != "statement_list":
            return False
        following = [s for s in holder.named_children if s.start_byte > statement.start_byte]
        following = [s for s in following if s.type != "comment"]
        if following:
            bare_break = innermost_breakable(holder) == loop
            return always_leaves(following[-1], loop_label(loop), bare_break)
        block = holder.parent
        parent = block.parent if block is not None and block.type == "block" else None
        if block is None or parent is None:
            return False
        if parent.type == "statement_list":
            statement = block  # a bare `{ ... }` block
        elif parent.type == "if_statement":
            while parent.parent is not None and parent.parent.type == "if_statement":
                parent = parent.parent  # `else if`: control goes on after the whole chain
            statement = parent
        else:
            return False  # the loop body, a case clause, a nested loop...


def _reached_on_first_pass_only(select: Node, loop: Node) -> bool:
    """The loop reaches `select` on its first pass only: its counter (`for i := 0; ...; i++`,
    not assigned in the body) is tested by an `if i > 0 { continue }` before the select, or
    by an `if i == 0 {` around it."""
    counter = _counter(loop)
    body = loop.child_by_field_name("body")
    if counter is None or body is None:
        return False
    name, start = counter
    label = loop_label(loop)
    statement = select
    for holder in ancestors(select):
        if holder == body:
            return False
        if holder.type == "statement_list":
            earlier = [s for s in holder.named_children if s.end_byte <= statement.start_byte]
            if any(_skips_later_passes(s, name, start, loop, label) for s in earlier):
                return True
        elif holder.type == "if_statement" and statement == holder.child_by_field_name(
            "consequence"
        ):
            condition = holder.child_by_field_name("condition")
            if condition is not None and _counter_test(condition, name, start) == "first":
                return True
        elif holder.type in BREAKABLE or holder.type in FUNCTION_TYPES:
            return False
        statement = holder
    return False


def _counter(loop: Node) -> tuple[str, int] | None:
    """(name, first value) of a `for i := N; ...; i++` counter the body never writes."""
    clause = next((c for c in loop.named_children if c.type == "for_clause"), None)
    if clause is None:
        return None
    initializer = clause.child_by_field_name("initializer")
    update = clause.child_by_field_name("update")
    if initializer is None or update is None or initializer.type != "short_var_declaration":
        return None
    left, right = initializer.child_by_field_name("left"), initializer.child_by_field_name("right")
    if left is None or right is None or left.named_child_count != 1:
        return None
    if right.named_child_count != 1 or right.named_children[0].type != "int_literal":
        return None
    name = text(left.named_children[0])
    if text(update).replace(" ", "") not in (f"{name}++", f"{name}+=1"):
        return None
    body = loop.child_by_field_name("body")
    if body is None or name in _written_paths(body):
        return None
    try:
        return name, int(text(right.named_children[0]), 0)
    except ValueError:
        return None


def _counter_test(condition: Node, name: str, start: int) -> str | None:
    """'later' for a test true on every pass but the first (`i > 0`, `i != 0`), 'first' for
    one true on the first pass only (`i == 0`), else None."""
    while condition.type == "parenthesized_expression" and condition.named_child_count == 1:
        condition = condition.named_children[0]
    if condition.type != "binary_expression":
        return None
    left, right = condition.child_by_field_name("left"), condition.child_by_field_name("right")
    operator = condition.child_by_field_name("operator")
    if left is None or right is None or operator is None:
        return None
    flipped = {">": "<", "<": ">", ">=": "<=", "<=": ">=", "==": "==", "!=": "!="}
    op = text(operator)
    if text(right) == name and left.type == "int_literal":
        left, right, op = right, left, flipped.get(op, op)
    if text(left) != name or right.type != "int_literal":
        return None
    try:
        bound = int(text(right), 0)
    except ValueError:
        return None
    if (op, bound) in ((">", start), ("!=", start), (">=", start + 1)):
        return "later"
    if (op, bound) in (("==", start), ("<=", start), ("<", start + 1)):
        return "first"
    return None


def _skips_later_passes(
    statement: Node, name: str, start: int, loop: Node, label: str | None
) -> bool:
    """`if i > 0 { ...; continue }` (or another way out of this pass) with no else."""
    if statement.type != "if_statement" or statement.child_by_field_name("alternative"):
        return False
    if statement.child_by_field_name("initializer") is not None:
        return False
    condition = statement.child_by_field_name("condition")
    consequence = statement.child_by_field_name("consequence")
    if condition is None or consequence is None:
        return False
    if _counter_test(condition, name, start) != "later":
        return False
    statements = statement_list(consequence)
    named = [s for s in statements.named_children if s.type != "comment"] if statements else []
    if not named:
        return False
    last = named[-1]
    if last.type == "continue_statement":
        target = jump_label(last)
        return target == label if target is not None else _innermost_loop(last) == loop
    bare_break = innermost_breakable(statement) == loop
    return always_leaves(last, label, bare_break)


def _receives_from_done(case: Node) -> bool:
    """`case <-ctx.Done():`: a channel closed once, for good. Code that does not leave the loop
    on it re-checks the context in the loop condition, or it would spin: either way it can win
    a bounded number of times, not pile timers up."""
    communication = case.child_by_field_name("communication")
    if communication is not None and communication.type == "receive_statement":
        communication = communication.child_by_field_name("right")
    if communication is None or communication.type != "unary_expression":
        return False
    operand = communication.child_by_field_name("operand")
    if operand is None or operand.type != "call_expression" or call_arguments(operand):
        return False
    function = operand.child_by_field_name("function")
    field = function.child_by_field_name("field") if function is not None else None
    return field is not None and text(field) == "Done"


def _directly_in_body(statement: Node, loop: Node) -> bool:
    holder = statement.parent
    block = holder.parent if holder is not None else None
    return (
        holder is not None
        and holder.type == "statement_list"
        and block is not None
        and block == loop.child_by_field_name("body")
    )
