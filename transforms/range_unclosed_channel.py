"""range-unclosed-channel: a `for range ch` over what several producer goroutines never close."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from tree_sitter import Node

from codemod.go.channels import ChannelUse, called_with, channel_use, has_buffer, is_channel_make
from codemod.go.flow import BREAKABLE, loops_between
from codemod.go.goroutines import names_in_goroutine
from codemod.go.syntax import (
    FUNCTION_TYPES,
    SINGLE_DECLARATION_TYPES,
    MadeChannel,
    ancestors,
    call_arguments,
    channel_makes,
    descendants,
    descendants_outside_functions,
    enclosing_function,
    has_goto,
    imported_name,
    is_declaration,
    line_indent,
    statement_list,
    text,
    uses_in_scope,
)
from codemod.go.waitgroups import constructs_waitgroup, is_waitgroup_type
from codemod.model import Edit, Finding, Fix, Safety
from codemod.transform import FileContext, Transform


class RangeUnclosedChannel(Transform):
    """
    ## What it does
    Finds a `for range ch` (in the function, or in a goroutine it starts) over a channel that
    several goroutines of the same function send on (one per loop iteration, or several `go`
    statements) while nothing ever closes it, or only a `close(ch)` placed after the range.
    When a `sync.WaitGroup` tracks every producer, it starts a goroutine that waits for the
    group and then closes the channel, right after the producers are started.

    ## Why is this bad?
    `for v := range ch` only ends when `ch` is closed. After the last producer has sent its
    value and returned, the consumer waits forever on a receive that nobody can complete. The
    Go runtime never collects a goroutine blocked on a channel operation, so the consumer, its
    stack and everything it references stay alive for the life of the process (or the whole
    program deadlocks when the consumer is `main`). With several producers no single one may
    close the channel (the others would panic sending on it), so the close has to wait for all
    of them: that is what the `WaitGroup` already counts.

    ## Example
    ```go
    func Sizes(paths []string, size func(string) int64) int64 {
        sizes := make(chan int64)
        var wg sync.WaitGroup
        for _, p := range paths {
            wg.Add(1)
            go func() {
                defer wg.Done()
                sizes <- size(p)
            }()
        }
        var total int64
        for s := range sizes {
            total += s
        }
        return total
    }
    ```

    ## Use instead
    ```go
    func Sizes(paths []string, size func(string) int64) int64 {
        sizes := make(chan int64)
        var wg sync.WaitGroup
        for _, p := range paths {
            wg.Add(1)
            go func() {
                defer wg.Done()
                sizes <- size(p)
            }()
        }
        go func() {
            wg.Wait()
            close(sizes)
        }()
        var total int64
        for s := range sizes {
            total += s
        }
        return total
    }
    ```

    ## Fix safety
    Safe when every goroutine that sends on the channel calls `Done` on the same local
    `WaitGroup` after its last send (deferred, or as its last statement), every `Add` runs
    before the producers are started, the group tracks nothing else, and after that point
    nothing else sends on, receives from or closes the channel and it is not returned, stored
    or passed to other code. `Wait` returns only once every send has completed, so the close
    cannot make a producer panic, and the `range` ends after the last value. When the function
    itself calls `wg.Wait()` before ranging over an unbuffered channel (a deadlock: the
    producers wait for the consumer that waits for them), when producers are not tracked by a
    `WaitGroup`, when the only close comes after the range, or when any of these conditions
    fails, the finding is reported without a fix. A single producer goroutine is left to
    `close-producer-channel`; a range that leaves on a count (`if n == len(xs) { break }`) is
    left alone.

    ## Go versions
    All. Channel semantics have not changed since Go 1.0; `WaitGroup.Go` producers (Go 1.25)
    are recognised too.
    """

    id: ClassVar[str] = "range-unclosed-channel"
    title: ClassVar[str] = "Close a channel ranged over once all its producer goroutines are done"
    safety: ClassVar[Safety] = Safety.SAFE
    tags: ClassVar[tuple[str, ...]] = ("channel", "goroutine", "waitgroup")
    precedence: ClassVar[int] = 10
    prefilter: ClassVar[re.Pattern[bytes] | None] = re.compile(rb"make\(\s*chan\b")

    candidates: ClassVar[frozenset[str]] = SINGLE_DECLARATION_TYPES

    def find(self, ctx: FileContext) -> Iterator[Finding]:
        for declaration in ctx.parsed.clean_declarations:
            for made in channel_makes(declaration, is_channel_make):
                finding = self._check_channel(ctx, made)
                if finding is not None:
                    yield finding

    def _check_channel(self, ctx: FileContext, made: MadeChannel) -> Finding | None:
        function = enclosing_function(made.statement)
        body = function.child_by_field_name("body") if function is not None else None
        if function is None or body is None or has_goto(body):
            return None
        uses = _classify_uses(made, function)
        if uses is None or uses.closed:
            return None
        # The function's own range, or else a goroutine of it that only ranges over the channel.
        consumers = uses.ranges or [
            loop for g in uses.goroutines if not g.sends and not g.other_uses for loop in g.ranges
        ]
        if not consumers:
            return None
        producers = [g for g in uses.goroutines if g.sends]
        if not producers:
            return None
        several = len(producers) > 1 or bool(loops_between(producers[0].start, made.scope))
        if not several and producers[0].wait_group is None:
            return None  # one `go` producer: close-producer-channel's finding
        name = text(made.name)
        consumer = consumers[0]
        if _ends_by_count(consumer):
            return None
        message = (
            f"`for range {name}` never ends: the producer goroutines send on `{name}` "
            f"but nothing closes it"
        )
        if uses.late_closes:
            if (
                not uses.ranges
                or not all(_runs_after(close, consumer) for close in uses.late_closes)
                or _can_leave(consumer)
            ):
                return None
            message = (
                f"`for range {name}` never ends: `close({name})` comes after the range, "
                f"which waits for that close"
            )
            return self.finding(ctx, consumer, message, Safety.REPORT_ONLY)
        closer = _plan_closer(ctx.source, made, function, uses, producers, consumer)
        if isinstance(closer, str):
            return self.finding(ctx, consumer, f"{message} ({closer})", Safety.REPORT_ONLY)
        fix = Fix((closer,), f"close `{name}` once the WaitGroup's producers are done")
        return self.finding(
            ctx, consumer, f"{message}; close it after the WaitGroup", Safety.SAFE, fix
        )


@dataclass
class _Goroutine:
    start: Node  # the `go` statement, or the statement calling wg.Go
    literal: Node
    wait_group: str | None = None  # `wg` for `wg.Go(func() {...})`
    sends: int = 0
    ranges: list[Node] = field(default_factory=list)  # its `for ... range ch` loops
    other_uses: bool = False  # receives, nested closures, passed on: not a plain producer


@dataclass
class _Uses:
    goroutines: list[_Goroutine] = field(default_factory=list)
    ranges: list[Node] = field(default_factory=list)  # `for ... range ch` in the function
    sends: list[Node] = field(default_factory=list)  # sends by the function itself
    closed: bool = False  # closed by a goroutine: someone may be responsible for it
    late_closes: list[Node] = field(default_factory=list)  # `close(ch)` calls by the function
    other_uses: bool = False  # receives, escapes: the close would change what they see


def _runs_after(close: Node, consumer: Node) -> bool:
    """The function's `close(ch)` can only run once the range is over (after it, or deferred)."""
    return close.start_byte > consumer.end_byte or any(
        a.type == "defer_statement" for a in ancestors(close)
    )


def _can_leave(loop: Node) -> bool:
    """The range body has a way out besides the close: a break, return or goto."""
    body = loop.child_by_field_name("body")
    return body is not None and any(
        n.type in ("return_statement", "goto_statement")
        or (n.type == "break_statement" and _leaves(n, loop))
        for n in descendants_outside_functions(body)
    )


def _ends_by_count(loop: Node) -> bool:
    """The range leaves on a count (`if len(out) == n { break }`): it may never need a close."""
    body = loop.child_by_field_name("body")
    if body is None:
        return False
    for node in descendants_outside_functions(body):
        if node.type not in ("break_statement", "return_statement"):
            continue
        if node.type == "break_statement" and not _leaves(node, loop):
            continue
        guard = next((a for a in ancestors(node) if a.type == "if_statement"), None)
        condition = guard.child_by_field_name("condition") if guard is not None else None
        if (
            guard is not None
            and condition is not None
            and loop.start_byte < guard.start_byte
            and any(
                n.type in ("==", ">=", ">")
                and n.parent is not None
                and n.parent.type == "binary_expression"
                for n in descendants(condition)
            )
        ):
            return True
    return False


def _leaves(statement: Node, loop: Node) -> bool:
    """Whether a `break` leaves `loop` (unlabelled inside it, or naming it or an outer label)."""
    label = next((c for c in statement.named_children if c.type == "label_name"), None)
    for ancestor in ancestors(statement):
        if label is None and ancestor.type in BREAKABLE:
            return ancestor == loop
        if label is not None and ancestor.type == "labeled_statement":
            name = ancestor.child_by_field_name("label")
            if name is not None and text(name) == text(label):
                return ancestor.start_byte <= loop.start_byte
        if ancestor.type in FUNCTION_TYPES:
            return False
    return False


def _owner(node: Node, function: Node) -> tuple[Node, str | None] | None:
    """The goroutine of `function` that `node` belongs to: (start, wg name for wg.Go)."""
    for ancestor in ancestors(node):
        if ancestor == function:
            return None
        if ancestor.type == "go_statement" and enclosing_function(ancestor) == function:
            return ancestor, None
        if ancestor.type == "func_literal":
            started = _wait_group_go(ancestor)
            if started is not None and enclosing_function(ancestor) == function:
                return started
    return None


def _wait_group_go(literal: Node) -> tuple[Node, str] | None:
    """For the literal of `wg.Go(func() {...})` as a statement: (that statement, "wg")."""
    arguments = literal.parent
    call = arguments.parent if arguments is not None else None
    if (
        arguments is None
        or arguments.type != "argument_list"
        or arguments.named_child_count != 1
        or call is None
        or call.type != "call_expression"
        or call.parent is None
        or call.parent.type != "expression_statement"
        or literal.child_by_field_name("result") is not None  # errgroup's Go: func() error
    ):
        return None
    function = call.child_by_field_name("function")
    if function is None or function.type != "selector_expression":
        return None
    operand, method = function.child_by_field_name("operand"), function.child_by_field_name("field")
    if operand is None or method is None or operand.type != "identifier" or text(method) != "Go":
        return None
    return call.parent, text(operand)


def _classify_uses(made: MadeChannel, function: Node) -> _Uses | None:
    """How the function and its goroutines use the channel; None when unsure whose it is."""
    name = text(made.name)
    uses = _Uses()
    goroutines: dict[int, _Goroutine | None] = {}
    for node in uses_in_scope(made):
        owner = _owner(node, function)
        if owner is not None:
            start, wait_group = owner
            if start.id not in goroutines:
                goroutines[start.id] = _goroutine(start, wait_group, name, uses)
            if goroutines[start.id] is None:
                return None
            continue
        if is_declaration(node) or enclosing_function(node) != function:
            return None  # shadowed, or a closure: who sends and closes is unknown
        parent = node.parent
        assert parent is not None
        use = channel_use(node)
        if use is ChannelUse.RANGE:
            loop = parent.parent
            assert loop is not None
            uses.ranges.append(loop)
        elif use is ChannelUse.SEND:
            uses.sends.append(parent)
        elif use is ChannelUse.CLOSE:
            uses.late_closes.append(parent)
        elif use is not ChannelUse.LEN_CAP:
            uses.other_uses = True
    uses.goroutines = [g for g in goroutines.values() if g is not None]
    return uses


def _goroutine(start: Node, wait_group: str | None, name: str, uses: _Uses) -> _Goroutine | None:
    """The goroutine with what it does with the channel; None when it is not a func literal."""
    if wait_group is not None:
        literal = call_arguments(start.named_children[0])[0]
        arguments: list[Node] = []
    else:
        call = start.named_children[0] if start.named_child_count else None
        function = call.child_by_field_name("function") if call is not None else None
        if call is None or function is None or function.type != "func_literal":
            return None  # `go worker(ch)`: unknown code may close the channel itself
        literal = function
        arguments = call_arguments(call)
    goroutine = _Goroutine(start, literal, wait_group)
    locals_ = names_in_goroutine(literal, arguments, name)
    body = literal.child_by_field_name("body")
    if locals_ is None or body is None:
        return None
    if len(locals_) > 1:
        return None
    for local in locals_:
        if not _scan_goroutine(goroutine, body, local, uses):
            return None
    return goroutine


def _scan_goroutine(goroutine: _Goroutine, body: Node, local: str, uses: _Uses) -> bool:
    for node in descendants(body):
        if node.type != "identifier" or text(node) != local:
            continue
        if is_declaration(node):
            return False
        parent = node.parent
        assert parent is not None
        if called_with(parent) == "close":
            uses.closed = True
        elif enclosing_function(node) != goroutine.literal:
            goroutine.other_uses = True  # a nested closure or goroutine may send or close later
        elif parent.type == "send_statement" and parent.child_by_field_name("channel") == node:
            goroutine.sends += 1
        elif parent.type == "range_clause" and parent.child_by_field_name("right") == node:
            loop = parent.parent
            assert loop is not None
            goroutine.ranges.append(loop)
        elif called_with(parent) not in ("len", "cap"):
            goroutine.other_uses = True
    return True


def _plan_closer(
    source: bytes,
    made: MadeChannel,
    function: Node,
    uses: _Uses,
    producers: list[_Goroutine],
    consumer: Node,
) -> Edit | str:
    """The edit starting the closing goroutine, or why no fix is offered."""
    group = _wait_group(producers, function)
    if isinstance(group, str):
        return group
    starts = [p.start for p in producers]
    in_goroutine = not uses.ranges  # the consumer runs in a goroutine of its own
    anchor = (
        _last_start(starts, made.scope) if in_goroutine else _last_start_before(consumer, starts)
    )
    if anchor is None:
        return "producers are not all started before the range"
    if loops_between(anchor, made.scope):
        return "the producers and the range repeat in a loop: one close per channel is needed"
    if len(uses.ranges) > 1 or uses.other_uses:
        return "the channel is also received from or passed on: a close changes what they see"
    if any(g.other_uses or (g.ranges and g.sends) for g in uses.goroutines):
        return "a goroutine does more with the channel than send or range over it"
    if any(send.start_byte > anchor.end_byte for send in uses.sends):
        return "the function sends on the channel after its producers start"
    if any(add.end_byte > anchor.end_byte for add in group.adds):
        return "`Add` runs after the producers start"
    waits_before = [w for w in group.waits if in_goroutine or w.start_byte < consumer.start_byte]
    if any(w.start_byte < anchor.end_byte for w in waits_before):
        return "`Wait` runs before the producers have all started"
    if waits_before and not in_goroutine and not has_buffer(made.call):
        return (
            f"`{group.name}.Wait()` before the range deadlocks: the producers block on the "
            f"unbuffered channel until the range receives"
        )
    line_end = source.find(b"\n", anchor.end_byte)
    rest = source[anchor.end_byte : line_end if line_end >= 0 else len(source)].strip()
    if rest and not rest.startswith(b"//"):
        return "another statement follows the producers on their line"
    indent = line_indent(source, anchor.start_byte)
    closer = (
        f"\n{indent}go func() {{\n{indent}\t{group.name}.Wait()\n"
        f"{indent}\tclose({text(made.name)})\n{indent}}}()"
    )
    offset = line_end if line_end >= 0 else len(source)
    return Edit(offset, offset, closer)


@dataclass
class _WaitGroup:
    name: str
    adds: list[Node] = field(default_factory=list)
    waits: list[Node] = field(default_factory=list)


def _wait_group(producers: list[_Goroutine], function: Node) -> _WaitGroup | str:
    """The one local WaitGroup every producer is tracked by, or why there is none."""
    names = set()
    for producer in producers:
        name = producer.wait_group or _done_by(producer.literal)
        if name is None:
            return "no WaitGroup tracks every producer, so nothing knows when to close it"
        names.add(name)
    if len(names) != 1:
        return "the producers are tracked by different WaitGroups"
    group = _WaitGroup(names.pop())
    if not _declares_wait_group(function, group.name):
        return f"`{group.name}` is not a WaitGroup declared in this function"
    body = function.child_by_field_name("body")
    assert body is not None
    literals = {p.literal.id for p in producers}
    starts = {p.start.id for p in producers}
    for node in descendants(body):
        if node.type != "identifier" or text(node) != group.name or is_declaration(node):
            continue
        method, statement = _method_called(node)
        owner = enclosing_function(node)
        if statement is None:
            return f"`{group.name}` is passed on or used in an expression"
        if owner is not None and owner.id in literals:
            if method == "Done":
                continue
            return f"a producer calls `{group.name}.{method}`"
        if owner == function and method == "Go" and statement.id in starts:
            continue  # wg.Go(producer)
        if owner == function and statement.type == "expression_statement":
            if method == "Add":
                group.adds.append(statement)
                continue
            if method == "Wait":
                group.waits.append(statement)
                continue
        if owner == function and statement.type == "defer_statement" and method == "Wait":
            continue  # waits at return, after the range
        return f"`{group.name}` also tracks other work"
    for producer in producers:
        mentions = sum(
            1
            for n in descendants(producer.literal)
            if n.type == "identifier" and text(n) == group.name
        )
        if mentions != (0 if producer.wait_group else 1):
            return f"a producer uses `{group.name}` more than once"
    for producer in producers:
        if producer.wait_group is None and not _added_before(producer.start, group.name):
            return f"no `{group.name}.Add` before a producer starts"
    return group


def _method_called(identifier: Node) -> tuple[str | None, Node | None]:
    """("Add", statement) for a statement `wg.Add(...)`; (None, None) for any other use."""
    selector = identifier.parent
    call = selector.parent if selector is not None else None
    if (
        selector is None
        or selector.type != "selector_expression"
        or selector.child_by_field_name("operand") != identifier
        or call is None
        or call.type != "call_expression"
        or call.child_by_field_name("function") != selector
        or call.parent is None
        or call.parent.type not in ("expression_statement", "defer_statement")
    ):
        return None, None
    method = selector.child_by_field_name("field")
    return (text(method) if method is not None else None), call.parent


def _done_by(literal: Node) -> str | None:
    """`wg` when the goroutine calls wg.Done() after its last send: deferred, or at the end."""
    body = literal.child_by_field_name("body")
    statements = statement_list(body) if body is not None else None
    if statements is None:
        return None
    children = [c for c in statements.named_children if c.type != "comment"]
    for index, statement in enumerate(children):
        name = _done_call(statement)
        if name is None:
            continue
        if statement.type == "defer_statement":
            earlier = children[:index]
            if any(_sends_or_returns(s) for s in earlier):
                return None  # a path can skip the deferred Done
            return name
        if statement == children[-1] and not any(
            n.type == "return_statement" for n in descendants_outside_functions(statements)
        ):
            return name
    return None


def _done_call(statement: Node) -> str | None:
    if statement.type not in ("defer_statement", "expression_statement"):
        return None
    call = statement.named_children[0] if statement.named_child_count else None
    if call is None or call.type != "call_expression" or call_arguments(call):
        return None
    function = call.child_by_field_name("function")
    if function is None or function.type != "selector_expression":
        return None
    operand, method = function.child_by_field_name("operand"), function.child_by_field_name("field")
    if operand is None or method is None or operand.type != "identifier" or text(method) != "Done":
        return None
    return text(operand)


def _sends_or_returns(statement: Node) -> bool:
    return statement.type in ("send_statement", "return_statement") or any(
        n.type in ("send_statement", "return_statement")
        for n in descendants_outside_functions(statement)
    )


def _declares_wait_group(function: Node, name: str) -> bool:
    """`name` is declared once in the function, as a zero `sync.WaitGroup` value or a pointer
    to a new one (never a nil *sync.WaitGroup)."""
    declarations = [
        n
        for n in descendants(function)
        if n.type == "identifier" and text(n) == name and is_declaration(n)
    ]
    if len(declarations) != 1 or enclosing_function(declarations[0]) != function:
        return False
    # A file without the import does not compile, which we cannot tell: taken as written.
    sync_name = imported_name(_file_root(function), "sync") or "sync"
    parent = declarations[0].parent
    assert parent is not None
    if parent.type == "var_spec":
        type_node = parent.child_by_field_name("type")
        value = _single(parent.child_by_field_name("value"))
        if type_node is not None:
            return is_waitgroup_type(sync_name, type_node) and value is None
        return value is not None and constructs_waitgroup(sync_name, value)
    holder = parent.parent
    if parent.type == "expression_list" and holder is not None:
        right = _single(holder.child_by_field_name("right"))
        return (
            holder.type == "short_var_declaration"
            and parent.named_child_count == 1
            and right is not None
            and constructs_waitgroup(sync_name, right)
        )
    return False


def _single(values: Node | None) -> Node | None:
    """The one expression of an expression list (or the expression itself)."""
    if values is not None and values.type == "expression_list":
        return values.named_children[0] if values.named_child_count == 1 else None
    return values


def _file_root(node: Node) -> Node:
    while node.parent is not None:
        node = node.parent
    return node


def _added_before(start: Node, name: str) -> bool:
    """A `name.Add(...)` statement runs before `start` in the same goroutine."""
    node = start
    for parent in ancestors(start):
        if parent.type in FUNCTION_TYPES:
            return False
        if parent.type == "statement_list":
            children = [c for c in parent.named_children if c.type != "comment"]
            for earlier in children[: children.index(node)]:
                if earlier.type == "expression_statement" and re.fullmatch(
                    rf"{re.escape(name)}\.Add\(.*\)", text(earlier), re.S
                ):
                    return True
        node = parent
    return False


def _last_start_before(consumer: Node, starts: list[Node]) -> Node | None:
    """The statement, in a list holding the range, after which every producer has started."""
    for statements in ancestors(consumer):
        if statements.type in FUNCTION_TYPES:
            return None
        if statements.type != "statement_list":
            continue
        children = list(statements.named_children)
        top = {child.id: i for i, child in enumerate(children)}
        positions = []
        for start in starts:
            holder = _child_holding(statements, start)
            if holder is None:
                break
            positions.append(top[holder.id])
        else:
            holder = _child_holding(statements, consumer)
            assert holder is not None
            last = max(positions)
            return children[last] if last < top[holder.id] else None
    return None


def _last_start(starts: list[Node], scope: Node) -> Node | None:
    """The statement after which every producer has started, in a list holding them all
    that runs once per channel (outside any loop that starts them)."""
    for statements in ancestors(starts[0]):
        if statements.type in FUNCTION_TYPES:
            return None
        if statements.type != "statement_list" or loops_between(statements, scope):
            continue
        holders = [_child_holding(statements, start) for start in starts]
        if all(h is not None for h in holders):
            return max((h for h in holders if h is not None), key=lambda h: h.start_byte)
    return None


def _child_holding(statements: Node, node: Node) -> Node | None:
    """The child statement of `statements` that `node` is in (or is)."""
    current = node
    while current.parent is not None and current.parent != statements:
        current = current.parent
    return current if current.parent == statements else None
