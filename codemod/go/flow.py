"""Control flow: whether a path ends (return, panic, os.Exit, t.Fatal, an endless loop),
whether a loop can be left, whether a block can finish without a given statement."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tree_sitter import Node

from codemod.go.syntax import (
    FUNCTION_TYPES,
    ancestors,
    call_name,
    descendants_outside_functions,
    statement_list,
    statements_of,
    text,
)

TERMINATING_CALLS = frozenset(
    {
        "panic",
        "os.Exit",
        "log.Fatal",
        "log.Fatalf",
        "log.Fatalln",
        "log.Panic",
        "log.Panicf",
        "log.Panicln",
    }
)


@dataclass
class ExitReport:
    """How a goroutine's exits relate to its marker statements (its `wg.Done()` calls ...)."""

    markers: list[Node]
    all_in_tail: bool  # every marker is the goroutine's last action on its path
    skipping_exit: Node | None  # an exit some path reaches without running a marker


def exit_analysis(literal: Node, is_marker: Callable[[Node], bool]) -> ExitReport:
    """Find the marker statements of a func literal and an exit that certainly skips them.

    Only what structured code makes certain is claimed: with `goto`, or a `switch` /
    `select` / labelled statement where the answer depends on it, no skipping exit is named.
    """
    body = literal.child_by_field_name("body")
    own = list(descendants_outside_functions(body)) if body is not None else []
    markers = [n for n in own if is_marker(n)]
    report = ExitReport(markers, all(_in_tail(m, body) for m in markers), None)
    if body is None or not markers or any(n.type == "goto_statement" for n in own):
        return report
    returns = [n for n in own if n.type == "return_statement"]
    for exit_node in returns:
        if not _inside_loop(exit_node, body) and all(
            m.start_byte > exit_node.end_byte for m in markers
        ):
            report.skipping_exit = exit_node  # no marker can have run before it
            return report
    if not report.all_in_tail:
        return report
    # Every marker is followed by leaving the goroutine: a path has run one only when the
    # statement right before its exit ends with one.
    for exit_node in returns:
        previous = previous_statement(exit_node)
        if previous is None or _completes_without(previous, is_marker) is True:
            report.skipping_exit = exit_node
            return report
    if _completes_without_all(statements_of(body), is_marker) is True:
        report.skipping_exit = body
    return report


def _in_tail(statement: Node, body: Node | None) -> bool:
    """Whether the statement is the last thing its function does on its path."""
    following = _next_statement(statement)
    if following is not None:
        return following.type == "return_statement"
    holder = statement.parent
    block = holder.parent if holder is not None and holder.type == "statement_list" else None
    if block is None or block.type != "block":
        return False
    if block == body:
        return True
    container = block.parent
    if container is None:
        return False
    if container.type == "if_statement":
        while container.parent is not None and container.parent.type == "if_statement":
            container = container.parent  # up the else-if chain
        return _in_tail(container, body)
    if container.type == "statement_list":
        return _in_tail(block, body)  # a bare { ... } block
    return False


def _next_statement(statement: Node) -> Node | None:
    sibling = statement.next_named_sibling
    while sibling is not None and sibling.type == "comment":
        sibling = sibling.next_named_sibling
    if statement.parent is None or statement.parent.type != "statement_list":
        return None
    return sibling


def previous_statement(statement: Node) -> Node | None:
    if statement.parent is None or statement.parent.type != "statement_list":
        return None
    sibling = statement.prev_named_sibling
    while sibling is not None and sibling.type == "comment":
        sibling = sibling.prev_named_sibling
    return sibling


def _completes_without_all(
    statements: list[Node], is_marker: Callable[[Node], bool]
) -> bool | None:
    """Whether running these statements can end normally without a marker as the last step."""
    if not statements:
        return True
    return _completes_without(statements[-1], is_marker)


def _completes_without(statement: Node, is_marker: Callable[[Node], bool]) -> bool | None:
    """True: a path can finish `statement` normally without ending in a marker; False: no
    path can; None: we cannot tell."""
    kind = statement.type
    if is_marker(statement) or kind == "return_statement" or _terminates(statement):
        return False
    if kind == "block":
        return _completes_without_all(statements_of(statement), is_marker)
    if kind == "if_statement":
        alternative = statement.child_by_field_name("alternative")
        if alternative is None:
            return True
        first = _completes_without_all(
            statements_of(statement.child_by_field_name("consequence")), is_marker
        )
        second = _completes_without(alternative, is_marker)
        if first is True or second is True:
            return True
        return None if first is None or second is None else False
    if kind == "for_statement":
        clauses = [
            c for c in statement.named_children if c != statement.child_by_field_name("body")
        ]
        if any(c.type == "range_clause" for c in clauses):
            return None  # a range over a channel may never end: we cannot tell the types
        endless = all(
            c.type == "for_clause" and c.child_by_field_name("condition") is None for c in clauses
        )
        if not endless:
            return True
        return None if _breaks_out_of(statement) else False
    if kind in (
        "expression_switch_statement",
        "type_switch_statement",
        "select_statement",
        "labeled_statement",
        "goto_statement",
    ):
        return None
    return True


def iteration_counts(loop: Node) -> set[str]:
    """Expressions that count the iterations of a loop: len(xs) and xs (an int range) for
    `range xs`, n for `i < n`."""
    for clause in loop.named_children:
        if clause.type == "range_clause":
            right = clause.child_by_field_name("right")
            return set() if right is None else {f"len({text(right)})", text(right)}
        if clause.type == "for_clause":
            condition = clause.child_by_field_name("condition")
            operator = condition.child_by_field_name("operator") if condition else None
            right = condition.child_by_field_name("right") if condition else None
            if operator is not None and right is not None and text(operator) in ("<", "!="):
                return {text(right)}
    return set()


def _terminates(statement: Node) -> bool:
    if statement.type != "expression_statement" or statement.named_child_count != 1:
        return False
    call = statement.named_children[0]
    if call.type != "call_expression":
        return False
    function = call.child_by_field_name("function")
    return function is not None and text(function) in TERMINATING_CALLS


def _breaks_out_of(loop: Node) -> bool:
    """Whether a `break` inside the loop may leave it (labelled breaks included)."""
    body = loop.child_by_field_name("body")
    for node in descendants_outside_functions(body) if body is not None else ():
        if node.type != "break_statement":
            continue
        if node.named_child_count:  # break Label: assume it may be ours
            return True
        target = next(
            (
                a
                for a in ancestors_until(node, loop)
                if a.type
                in (
                    "for_statement",
                    "expression_switch_statement",
                    "type_switch_statement",
                    "select_statement",
                )
            ),
            None,
        )
        if target is None:
            return True
    return False


def ancestors_until(node: Node, stop: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None and parent != stop:
        yield parent
        parent = parent.parent


def _inside_loop(node: Node, stop: Node) -> bool:
    return any(a.type == "for_statement" for a in ancestors_until(node, stop))


# Calls after which control never comes back to the statement that follows.
NO_RETURN_CALLS = frozenset(
    {
        "panic",
        "os.Exit",
        "log.Fatal",
        "log.Fatalf",
        "log.Fatalln",
        "runtime.Goexit",
        "ginkgo.Fail",
        "framework.Fail",
        "framework.Failf",
    }
)


# `t.Fatalf(...)`, `b.FailNow()`, `logger.Fatal(...)`: methods that end the goroutine (testing's
# call runtime.Goexit) or the process (log, klog, zap, logrus), whatever the receiver is named.
_NO_RETURN_METHODS = frozenset({"Fatal", "Fatalf", "Fatalln", "FailNow", "Skipf", "SkipNow"})


def never_returns(call: Node) -> bool:
    name = call_name(call)
    if name is None:
        return False
    if name in NO_RETURN_CALLS:
        return True
    receiver, _, method = name.rpartition(".")
    return receiver.isidentifier() and method in _NO_RETURN_METHODS


BREAKABLE = frozenset(
    {
        "for_statement",
        "expression_switch_statement",
        "type_switch_statement",
        "select_statement",
    }
)


def enclosing_loop(node: Node, function: Node) -> Node | None:
    """The innermost for statement around node inside function (not across a func literal)."""
    for ancestor in ancestors(node):
        if ancestor == function or ancestor.type in FUNCTION_TYPES:
            return None
        if ancestor.type == "for_statement":
            return ancestor
    return None


def loop_label(loop: Node) -> str | None:
    parent = loop.parent
    if parent is not None and parent.type == "labeled_statement":
        label = parent.child_by_field_name("label")
        return text(label) if label is not None else None
    return None


def always_leaves(statement: Node, label: str | None, bare_break: bool = False) -> bool:
    """Running `statement` never lets the loop labelled `label` (the innermost) go round;
    `bare_break`: an unlabelled break there would end that loop (no switch or select between)."""
    kind = statement.type
    if kind in ("return_statement", "goto_statement"):
        return True
    if kind == "break_statement":
        target = jump_label(statement)
        return target == label if target is not None else bare_break
    if kind == "continue_statement":
        target = jump_label(statement)
        return target is not None and target != label  # continues an outer loop
    if kind == "expression_statement":
        call = statement.named_children[0] if statement.named_child_count else None
        return call is not None and call.type == "call_expression" and never_returns(call)
    if kind == "block":
        statements = statement_list(statement)
        return statements is not None and ends_leaving(statements, label, bare_break)
    if kind == "if_statement":
        consequence = statement.child_by_field_name("consequence")
        alternative = statement.child_by_field_name("alternative")
        return (
            consequence is not None
            and alternative is not None
            and always_leaves(consequence, label, bare_break)
            and always_leaves(alternative, label, bare_break)
        )
    return False


def ends_leaving(statements: Node, label: str | None, bare_break: bool = False) -> bool:
    named = [s for s in statements.named_children if s.type != "comment"]
    return bool(named) and always_leaves(named[-1], label, bare_break)


def jump_label(statement: Node) -> str | None:
    label = next((c for c in statement.named_children if c.type == "label_name"), None)
    return text(label) if label is not None else None


def loop_can_exit(loop: Node, tickers: frozenset[str] = frozenset()) -> bool:
    """Whether control can leave `loop` other than by panicking or ending the process.

    tickers: names of variables holding a `time.Tick` channel, which a range never ends.
    """
    for clause in loop.named_children:
        if clause.type == "for_clause":
            if clause.child_by_field_name("condition") is not None:
                return True
        elif clause.type == "range_clause":
            right = clause.child_by_field_name("right")
            # Ranging over a ticker's channel never ends; over anything else it may.
            if right is None or not (
                (right.type == "call_expression" and call_name(right) == "time.Tick")
                or (right.type == "identifier" and text(right) in tickers)
            ):
                return True
        elif clause.type not in ("block", "comment"):
            return True  # `for condition {`
    body = loop.child_by_field_name("body")
    if body is None:
        return False
    enclosing_labels = {
        text(label)
        for ancestor in [loop, *ancestors(loop)]
        if ancestor.type == "labeled_statement"
        and (label := ancestor.child_by_field_name("label")) is not None
    }
    own = loop_label(loop)
    for node in descendants_outside_functions(body):
        if node.type in ("return_statement", "goto_statement"):
            return True
        if node.type in ("break_statement", "continue_statement"):
            target = jump_label(node)
            if target is None:
                if node.type == "break_statement" and innermost_breakable(node) == loop:
                    return True
            elif target in enclosing_labels and (node.type == "break_statement" or target != own):
                return True
    return False


def innermost_breakable(node: Node) -> Node | None:
    for ancestor in ancestors(node):
        if ancestor.type in BREAKABLE:
            return ancestor
    return None


def loops_between(node: Node, outer: Node) -> list[Node]:
    """The for statements around `node` below `outer`, innermost first, not across a func
    literal (none when node is outer)."""
    loops: list[Node] = []
    if node == outer:
        return loops
    for ancestor in ancestors(node):
        if ancestor == outer or ancestor.type in FUNCTION_TYPES:
            break
        if ancestor.type == "for_statement":
            loops.append(ancestor)
    return loops


def loops_not_holding(node: Node, made: Node) -> list[Node]:
    """The for statements around `node`, innermost first, up to the first ancestor that holds
    `made`'s start (across func literals): the loops that run `node` again for one `made`."""
    loops: list[Node] = []
    for ancestor in ancestors(node):
        if ancestor.start_byte <= made.start_byte < ancestor.end_byte:
            break
        if ancestor.type == "for_statement":
            loops.append(ancestor)
    return loops


# Methods after which control never comes back (t.Fatal, log.Panic): a path ending in one
# need not release anything.
NO_RETURN_METHODS = frozenset(
    {"Fatal", "Fatalf", "Fatalln", "FailNow", "Panic", "Panicf", "Panicln", "SkipNow", "Skip"}
)
CASE_CLAUSES = frozenset({"expression_case", "type_case", "communication_case", "default_case"})


class _Unsure(Exception):
    """Control flow the analysis does not model (goto): stay silent."""


@dataclass
class ReleaseFlow:
    """Whether control can leave the declaring block with cancel still uncalled.

    States: True = cancel may still be uncalled, False = it has been called, None = the
    point is unreachable. Leaving the block while True is a leak: cancel is then out of
    scope and no one can call it any more.
    """

    name: str
    leaked: bool = False
    # The states at the breaks of each breakable statement inside the block, innermost last.
    breaks: list[list[bool]] = field(default_factory=list)
    loops: int = 0
    labelled: dict[str, list[bool]] = field(default_factory=dict)
    pending_label: str | None = None

    def leaves_live(self, following: list[Node]) -> bool | None:
        """True when some path leaves the block with cancel uncalled; None when unsure."""
        try:
            end = self._sequence(following, True)
        except _Unsure:
            return None
        return self.leaked or end is True

    def _exit(self, state: bool) -> None:
        if state:
            self.leaked = True

    def _sequence(self, statements: list[Node], state: bool | None) -> bool | None:
        for statement in statements:
            if state is None:
                return None  # unreachable code
            if statement.type != "comment":
                state = self._statement(statement, state)
        return state

    def _block(self, block: Node | None, state: bool) -> bool | None:
        if block is None:
            return state
        if block.type == "if_statement":
            return self._statement(block, state)
        statements = statement_list(block)
        return state if statements is None else self._sequence(statements.named_children, state)

    def _statement(self, node: Node, state: bool) -> bool | None:
        kind = node.type
        label, self.pending_label = self.pending_label, None
        if kind == "expression_statement":
            return self._expression_statement(node, state)
        if kind == "return_statement":
            self._exit(state)
            return None
        if kind == "block":
            return self._block(node, state)
        if kind == "if_statement":
            then = self._block(node.child_by_field_name("consequence"), state)
            alternative = node.child_by_field_name("alternative")
            otherwise = self._block(alternative, state) if alternative is not None else state
            return _merge(then, otherwise)
        if kind == "for_statement":
            return self._for(node, state, label)
        if kind in ("expression_switch_statement", "type_switch_statement", "select_statement"):
            return self._cases(node, state, label)
        if kind == "labeled_statement":
            name = node.child_by_field_name("label")
            inner = [c for c in node.named_children if c.type not in ("label_name", "comment")]
            self.pending_label = text(name) if name is not None else None
            return self._sequence(inner, state)
        if kind in ("goto_statement", "fallthrough_statement"):
            raise _Unsure()
        if kind in ("break_statement", "continue_statement"):
            return self._jump(node, state)
        return state

    def _expression_statement(self, node: Node, state: bool) -> bool | None:
        call = node.named_children[0] if node.named_child_count else None
        function = call.child_by_field_name("function") if call is not None else None
        if call is None or call.type != "call_expression" or function is None:
            return state
        if function.type == "identifier":
            if text(function) == self.name:
                return False
            if text(function) == "panic":
                return None
        if function.type == "selector_expression":
            method = function.child_by_field_name("field")
            if text(function) == "os.Exit" or (
                method is not None and text(method) in NO_RETURN_METHODS
            ):
                return None
        return state

    def _open(self, label: str | None) -> list[bool]:
        broken: list[bool] = []
        self.breaks.append(broken)
        if label is not None:
            self.labelled[label] = broken
        return broken

    def _for(self, node: Node, state: bool, label: str | None) -> bool | None:
        broken = self._open(label)
        body = node.child_by_field_name("body")
        self.loops += 1
        self._block(body, state)
        self.loops -= 1
        self.breaks.pop()
        endless = all(c == body or c.type == "comment" for c in node.named_children)
        # A loop body may run zero times: only an endless loop is left by its breaks alone.
        after: bool | None = None if endless else state
        for broken_state in broken:
            after = _merge(after, broken_state)
        return after

    def _cases(self, node: Node, state: bool, label: str | None) -> bool | None:
        broken = self._open(label)
        after: bool | None = None
        has_default = False
        for clause in node.named_children:
            if clause.type not in CASE_CLAUSES:
                continue
            has_default = has_default or clause.type == "default_case"
            statements = statement_list(clause)
            body = [] if statements is None else statements.named_children
            after = _merge(after, self._sequence(body, state))
        self.breaks.pop()
        for broken_state in broken:
            after = _merge(after, broken_state)
        if node.type != "select_statement" and not has_default:
            after = _merge(after, state)  # no case matched
        return after

    def _jump(self, node: Node, state: bool) -> bool | None:
        label = next((c for c in node.named_children if c.type == "label_name"), None)
        is_break = node.type == "break_statement"
        if label is not None:
            target = self.labelled.get(text(label))
            if target is None:
                self._exit(state)  # jumps to a statement outside the block
            elif is_break:
                target.append(state)
            return None  # a labelled continue goes back to a loop head inside the block
        if is_break and self.breaks:
            self.breaks[-1].append(state)
        elif is_break or not self.loops:
            self._exit(state)  # break/continue of a loop outside the block
        return None


def _merge(a: bool | None, b: bool | None) -> bool | None:
    if a is None:
        return b
    if b is None:
        return a
    return a or b
