"""buffer-orphaned-result: a result channel whose receiver can stop waiting before the send."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from tree_sitter import Node

from codemod.go.channels import (
    ChannelUse,
    called_with,
    channel_use,
    is_receive_of,
    is_unbuffered_make,
)
from codemod.go.flow import BREAKABLE, loops_between
from codemod.go.goroutines import go_statement_of, names_in_goroutine
from codemod.go.parse import parse_tree
from codemod.go.syntax import (
    FUNCTION_TYPES,
    SINGLE_DECLARATION_TYPES,
    MadeChannel,
    ancestors,
    call_arguments,
    call_name,
    channel_makes,
    descendants,
    descendants_outside_functions,
    enclosing_function,
    has_goto,
    is_declaration,
    mentions,
    statement_list,
    text,
    uses_in_scope,
)
from codemod.go.types import top_level_types
from codemod.model import Edit, Finding, Fix, Safety
from codemod.transform import FileContext, Transform

# Calls whose result is known to be a slice, so `len` of it counts its range iterations.
_SLICE_CALLS = frozenset({"append", "strings.Split", "strings.SplitN", "strings.Fields"})


class BufferOrphanedResult(Transform):
    """
    ## What it does
    Finds an unbuffered channel that one goroutine sends a single result on (or that each
    goroutine started by a `for ... range` loop sends one result on), while the function that
    made it can stop receiving first: a `select` whose other case returns (a timeout,
    `ctx.Done()`), a `return` before the receive, or a receive loop that returns on the first
    error. It gives the channel a buffer big enough for every send. The same holds for a loop
    that starts one goroutine per iteration and takes its value before the next one, and for a
    reply channel put into a request (`q.put(&request{reply})`) and awaited in such a select.
    It also finds a send on a just-made unbuffered channel that runs before anything else
    names it (`errc <- err; return errc`): no other goroutine can receive, a certain deadlock.

    ## Why is this bad?
    A send on an unbuffered channel completes only when a receiver takes the value. Once the
    function has returned, nothing will ever receive from the channel, so the goroutine stays
    blocked in `ch <- v` forever. The Go runtime never collects a goroutine blocked on a channel
    operation: each abandoned call leaks a goroutine, its stack and everything it references.

    ## Example
    ```go
    func Fetch(ctx context.Context, url string) (string, error) {
        ch := make(chan string)
        go func() {
            ch <- download(url)
        }()
        select {
        case body := <-ch:
            return body, nil
        case <-ctx.Done():
            return "", ctx.Err()
        }
    }
    ```

    ## Use instead
    ```go
    func Fetch(ctx context.Context, url string) (string, error) {
        ch := make(chan string, 1)
        go func() {
            ch <- download(url)
        }()
        select {
        case body := <-ch:
            return body, nil
        case <-ctx.Done():
            return "", ctx.Err()
        }
    }
    ```

    ## Fix safety
    Safe when each goroutine sends at most once, with nothing after the send but its return
    (so it never waits for the receiver to act), the sends happen in goroutines started by this
    function only, and the channel is not closed, ranged over, returned, stored or passed to
    other code: with one buffer slot per send no send can block, and a receiver that does wait
    gets the same value. A send followed by more work in the goroutine loses the guarantee that
    the receiver already has the value when that work runs: that fix is offered for review.
    An error sent from `if err != nil { ch <- err }` with no return after it is reported
    without a fix: buffered, the goroutine would run on past the failure (a missing return?).
    A send on a just-made channel is `safe` to buffer when `return` follows it and the
    channel's other uses are receives, `return ch` and sends that end their goroutine.
    A reply channel handed out in a request is `safe` only when the package sends on that
    field once, in one plain send (one reply per request); otherwise the fix is for review.
    For senders started in a loop the buffer is `len(items)` of the ranged collection; when its
    type cannot be read from the function (a field, a function result) the finding is reported
    without a fix.

    ## Go versions
    All. Channel semantics have not changed since Go 1.0.
    """

    id: ClassVar[str] = "buffer-orphaned-result"
    title: ClassVar[str] = "Buffer a result channel whose receiver may stop waiting first"
    safety: ClassVar[Safety] = Safety.SAFE
    tags: ClassVar[tuple[str, ...]] = ("channel", "goroutine")
    precedence: ClassVar[int] = 10
    prefilter: ClassVar[re.Pattern[bytes] | None] = re.compile(rb"make\(\s*chan\b")

    candidates: ClassVar[frozenset[str]] = SINGLE_DECLARATION_TYPES

    def find(self, ctx: FileContext) -> Iterator[Finding]:
        for declaration in ctx.parsed.clean_declarations:
            for made in channel_makes(declaration, is_unbuffered_make):
                finding = self._check_channel(ctx, made) or self._check_fresh_send(ctx, made)
                if finding is not None:
                    yield finding

    def _check_fresh_send(self, ctx: FileContext, made: MadeChannel) -> Finding | None:
        """`errc := make(chan error); if err != nil { errc <- err; return errc }`: a send
        reached before anything else names the channel, so no other goroutine can receive:
        a certain deadlock."""
        function = enclosing_function(made.statement)
        body = function.child_by_field_name("body") if function is not None else None
        if function is None or body is None or has_goto(body):
            return None
        name = text(made.name)
        uses = list(uses_in_scope(made))
        first = uses[0] if uses else None
        send = first.parent if first is not None else None
        if (
            first is None
            or send is None
            or send.type != "send_statement"
            or send.child_by_field_name("channel") != first
            or send.parent is None
            or send.parent.type != "statement_list"
            or enclosing_function(send) != function
            or go_statement_of(send, function) is not None
        ):
            return None
        later = [node for node in uses[1:] if node.start_byte > send.end_byte]
        for loop in loops_between(send, made.scope):
            if any(loop.start_byte <= n.start_byte < loop.end_byte for n in later):
                return None  # a later iteration may reach the send after the hand-off
        message = (
            f"nothing else can hold unbuffered `{name}` yet, so this send has no receiver: "
            f"the goroutine blocks here forever; buffer it for the one send"
        )
        following = _named_after(send.parent, send)
        returns = bool(following) and following[0].type == "return_statement"
        safe = returns and all(_plain_later_use(node, function) for node in uses[1:])
        fix = Fix((_capacity_edit(made, "1"),), f"make `{name}` buffered with capacity 1")
        return self.finding(ctx, send, message, Safety.SAFE if safe else Safety.REVIEW, fix)

    def _check_channel(self, ctx: FileContext, made: MadeChannel) -> Finding | None:
        function = enclosing_function(made.statement)
        body = function.child_by_field_name("body") if function is not None else None
        if function is None or body is None or has_goto(body):
            return None
        uses = _classify_uses(made, function)
        if uses is None:
            return self._check_request_reply(ctx, made, function, body)
        if len(uses.senders) != 1 or not uses.receives:
            return None
        sender = uses.senders[0]
        loops = loops_between(sender.go_statement, made.scope)
        if len(loops) > 1 or not sender.at_most_one_send():
            return None
        # `for { go send(); select { case <-ch: case <-stop: return } }`: each iteration takes
        # its goroutine's value before the next starts, so one goroutine is pending at most.
        per_iteration = bool(loops) and _received_each_iteration(
            loops[0], sender.go_statement, uses.receives
        )
        start = loops[0] if loops and not per_iteration else sender.go_statement
        if start.parent is None or start.parent.type != "statement_list":
            return None
        several = bool(loops) and not per_iteration
        plan = _Plan(made, start, start.parent, uses.receives, several=several)
        if not _abandoned(plan, body):
            return None
        name = text(made.name)
        if several:
            return self._per_item_finding(ctx, made, loops[0], sender, function)
        message = (
            f"the goroutine's send on unbuffered `{name}` blocks forever once the receiver "
            f"stops waiting (another select case or an early return); buffer it for the one send"
        )
        if any(_reports_failure_and_goes_on(send) for send in sender.sends):
            # `if err != nil { errs <- err }` with no return: today the goroutine stops at the
            # send; buffered, it runs on past the failure (a nil channel closed in amqp091-go's
            # test, judged wrong). The missing return is the author's to add.
            message += " (the goroutine goes on after this send: a missing return?)"
            return self.finding(ctx, made.call, message, Safety.REPORT_ONLY)
        safety = Safety.SAFE if sender.tail_sends() else Safety.REVIEW
        fix = Fix((_capacity_edit(made, "1"),), f"make `{name}` buffered with capacity 1")
        return self.finding(ctx, made.call, message, safety, fix)

    def _check_request_reply(
        self, ctx: FileContext, made: MadeChannel, function: Node, body: Node
    ) -> Finding | None:
        """`resp := make(chan T); q.put(&request{resp}); select { case v := <-resp: ...;
        case <-done: return }`: whoever serves the request replies on a channel nobody
        reads once the select has left by another case."""
        request = _handed_in_request(made, function, ctx)
        if request is None:
            return None
        statement, field_name, receives = request
        if statement.parent is None or statement.parent.type != "statement_list":
            return None
        plan = _Plan(made, statement, statement.parent, receives, several=False)
        if not _abandoned(plan, body):
            return None
        replies = ctx.package.uses(("field", field_name))
        if not replies.sends or replies.leaving_sends == replies.sends:
            return None  # only closed (a close never blocks), or every reply has a way out
        name = text(made.name)
        message = (
            f"the reply to this request is sent on unbuffered `{name}`, which nobody receives "
            f"once the wait leaves by another case: the server's reply blocks forever; buffer "
            f"it for the one reply"
        )
        # One plain send on the field in the whole package: one reply per request.
        once = (
            replies.sends == 1
            and not replies.leaving_sends
            and not replies.closed
            and not replies.receives
        )
        fix = Fix((_capacity_edit(made, "1"),), f"make `{name}` buffered with capacity 1")
        return self.finding(ctx, made.call, message, Safety.SAFE if once else Safety.REVIEW, fix)

    def _per_item_finding(
        self, ctx: FileContext, made: MadeChannel, loop: Node, sender: _Sender, function: Node
    ) -> Finding | None:
        name = text(made.name)
        capacity = _loop_count(loop, made, function, ctx.parsed.root)
        message = (
            f"each goroutine started in the loop sends once on unbuffered `{name}`, but the "
            f"receiver can stop before taking every value: the rest block forever"
        )
        if capacity is None:
            message += " (buffer one slot per goroutine; the count is not known where it is made)"
            return self.finding(ctx, made.call, message, Safety.REPORT_ONLY)
        safety = Safety.SAFE if sender.tail_sends() else Safety.REVIEW
        fix = Fix(
            (_capacity_edit(made, capacity),),
            f"make `{name}` buffered with one slot per goroutine ({capacity})",
        )
        return self.finding(ctx, made.call, message, safety, fix)


@dataclass
class _Sender:
    go_statement: Node
    literal: Node
    sends: list[Node] = field(default_factory=list)

    def at_most_one_send(self) -> bool:
        """Each send ends the goroutine, or there is one send and it is not repeated."""
        if self.tail_sends():
            return True
        return len(self.sends) == 1 and not loops_between(self.sends[0], self.literal)

    def tail_sends(self) -> bool:
        return all(_ends_goroutine(send, self.literal) for send in self.sends)


@dataclass
class _Uses:
    senders: list[_Sender] = field(default_factory=list)
    receives: list[Node] = field(default_factory=list)  # `<-ch` expressions in the function


@dataclass(frozen=True)
class _Plan:
    """What the receiver-side analysis needs: where the senders start and what receives."""

    made: MadeChannel
    start: Node  # the go statement, or the loop that starts one goroutine per item
    start_list: Node
    receives: list[Node]
    several: bool  # one goroutine per item: receiving once is not enough

    def receives_within(self, node: Node) -> bool:
        return any(
            node.start_byte <= r.start_byte and r.end_byte <= node.end_byte for r in self.receives
        )


def _classify_uses(made: MadeChannel, function: Node) -> _Uses | None:
    """Receives in the function and sends in its goroutines; None for any other use."""
    name = text(made.name)
    uses = _Uses()
    goroutines: dict[int, _Sender | None] = {}
    for node in uses_in_scope(made):
        go_statement = go_statement_of(node, function)
        if go_statement is not None:
            if go_statement.id not in goroutines:
                goroutines[go_statement.id] = _goroutine_sender(go_statement, name)
            if goroutines[go_statement.id] is None:
                return None
            continue
        if is_declaration(node) or enclosing_function(node) != function:
            return None  # shadowed, or a closure that may receive, send or close at any time
        parent = node.parent
        assert parent is not None
        if is_receive_of(parent, node):
            uses.receives.append(parent)
        elif called_with(parent) not in ("len", "cap"):
            return None  # sent, closed, ranged, returned, stored or passed on
    uses.senders = [g for g in goroutines.values() if g is not None and g.sends]
    return uses


def _plain_later_use(node: Node, function: Node) -> bool:
    """A use a buffer does not change: `return ch`, a receive, or a send that ends the
    goroutine it is in (nothing after it waits on the receiver)."""
    parent = node.parent
    use = channel_use(node)
    if use is ChannelUse.RECEIVE:
        return True
    if use is ChannelUse.RETURN:
        return enclosing_function(node) == function
    if (
        use is ChannelUse.SEND
        and parent is not None
        and parent.parent is not None
        and parent.parent.type == "statement_list"
    ):
        literal = enclosing_function(parent)
        return (
            literal is not None
            and literal.type == "func_literal"
            and go_statement_of(parent, function) is not None
            and _ends_goroutine(parent, literal)
        )
    return False


def _handed_in_request(
    made: MadeChannel, function: Node, ctx: FileContext
) -> tuple[Node, str, list[Node]] | None:
    """(the statement, the field, the receives) when the channel's only uses are receives in
    the function and one struct literal, passed straight to a call statement, holding it."""
    found: tuple[Node, str] | None = None
    receives = []
    for node in uses_in_scope(made):
        if is_declaration(node) or enclosing_function(node) != function:
            return None
        parent = node.parent
        assert parent is not None
        if is_receive_of(parent, node):
            receives.append(parent)
        elif _is_literal_key(node):
            continue  # `reply:` in `request{reply: reply}` names the field
        elif called_with(parent) not in ("len", "cap"):
            request = _request_field(node, ctx)
            if request is None or found is not None:
                return None
            found = request
    if found is None or len(receives) != 1:
        return None
    return found[0], found[1], receives


def _is_literal_key(node: Node) -> bool:
    element = node.parent
    holder = element.parent if element is not None else None
    return (
        element is not None
        and element.type == "literal_element"
        and holder is not None
        and holder.type == "keyed_element"
        and holder.named_child_count == 2
        and holder.named_children[0] == element
        and text(holder.named_children[1]) == text(node)  # `reply: reply`, not a map key
    )


def _request_field(node: Node, ctx: FileContext) -> tuple[Node, str] | None:
    """For `ch` in `q.put(&request{ch})`, `q.put(request{reply: ch})` or `requests <-
    &request{ch}`, written as a statement: (that statement, the field's name)."""
    element = node.parent
    if element is None or element.type != "literal_element" or element.named_child_count != 1:
        return None
    holder = element.parent
    if holder is not None and holder.type == "keyed_element":
        key = holder.named_children[0] if holder.named_child_count == 2 else None
        if key is None or key == element or key.named_child_count != 1:
            return None
        field_name = text(key.named_children[0])
        literal_value = holder.parent
    else:
        literal_value = holder
        field_name = ""
    literal = literal_value.parent if literal_value is not None else None
    if literal_value is None or literal is None or literal.type != "composite_literal":
        return None
    if not field_name:
        position = [c for c in literal_value.named_children if c.type != "comment"]
        type_node = literal.child_by_field_name("type")
        if type_node is None or type_node.type != "type_identifier" or element not in position:
            return None
        field_name = _struct_field(text(type_node), position.index(element), ctx) or ""
        if not field_name:
            return None
    argument = literal
    if argument.parent is not None and argument.parent.type == "unary_expression":
        argument = argument.parent
    sent = argument.parent
    if sent is not None and sent.type == "send_statement":  # `q.requests <- &request{ch}`
        return (sent, field_name) if sent.child_by_field_name("value") == argument else None
    arguments = argument.parent
    call = arguments.parent if arguments is not None else None
    statement = call.parent if call is not None else None
    if (
        arguments is None
        or arguments.type != "argument_list"
        or call is None
        or call.type != "call_expression"
        or statement is None
        or statement.type != "expression_statement"
    ):
        return None
    return statement, field_name


def _struct_field(type_name: str, index: int, ctx: FileContext) -> str | None:
    """The name of the index-th field of struct `type_name`, declared in this file or package."""
    roots = [ctx.parsed.root]
    roots += [parse_tree(source).root_node for _, source in ctx.siblings.files()]
    for root in roots:
        for spec in descendants(root):
            name = spec.child_by_field_name("name") if spec.type == "type_spec" else None
            struct = spec.child_by_field_name("type") if name is not None else None
            if name is None or struct is None or text(name) != type_name:
                continue
            if struct.type != "struct_type":
                return None
            fields = [
                (n, f)
                for f in descendants(struct)
                if f.type == "field_declaration"
                for n in f.children_by_field_name("name")
            ]
            if len(fields) <= index or any(f.parent != fields[0][1].parent for _, f in fields):
                return None  # embedded or nested structs: do not count
            return text(fields[index][0])
    return None


def _goroutine_sender(go_statement: Node, name: str) -> _Sender | None:
    """The goroutine with its sends on the channel; None when it uses the channel otherwise."""
    call = go_statement.named_children[0] if go_statement.named_child_count else None
    literal = call.child_by_field_name("function") if call is not None else None
    if call is None or literal is None or literal.type != "func_literal":
        return None  # `go worker(ch)`: unknown code may close or keep the channel
    locals_ = names_in_goroutine(literal, call_arguments(call), name)
    if locals_ is None:
        return None
    if len(locals_) != 1:
        return _Sender(go_statement, literal) if not locals_ else None
    return _scan_sender(go_statement, literal, locals_[0])


def _scan_sender(go_statement: Node, literal: Node, local: str) -> _Sender | None:
    body = literal.child_by_field_name("body")
    if body is None:
        return None
    sender = _Sender(go_statement, literal)
    closed = False
    selected: list[Node] = []
    for node in descendants(body):
        if node.type != "identifier" or text(node) != local:
            continue
        if is_declaration(node) or enclosing_function(node) != literal:
            return None
        parent = node.parent
        assert parent is not None
        if (
            parent.type == "send_statement"
            and parent.child_by_field_name("channel") == node
            and parent.parent is not None
            and parent.parent.type == "statement_list"
        ):
            sender.sends.append(parent)
        elif _select_send_that_stops(parent, node):
            selected.append(parent)
        elif _closes_last(parent, body):
            closed = True
        elif called_with(parent) not in ("len", "cap"):
            return None  # a select send already has a way out; anything else is unknown
    if closed and not sender.tail_sends():
        return None  # a value and then the close: the close is part of the hand-off
    if selected and not sender.sends:
        return None  # every send already has a way out
    sender.sends += selected  # counted: with a bare send beside it, one slot must hold either
    return sender


def _select_send_that_stops(parent: Node, node: Node) -> bool:
    """`case ch <- v:` whose case body is empty or `return`: the goroutine ends with it."""
    case = parent.parent
    if (
        parent.type != "send_statement"
        or parent.child_by_field_name("channel") != node
        or case is None
        or case.type != "communication_case"
        or case.child_by_field_name("communication") != parent
    ):
        return False
    statements = next((c for c in case.named_children if c.type == "statement_list"), None)
    rest = [c for c in statements.named_children if c.type != "comment"] if statements else []
    return all(c.type == "return_statement" for c in rest)


def _closes_last(parent: Node, body: Node) -> bool:
    """`close(ch)` as the goroutine's last statement (not deferred): with every send followed
    by `return`, it runs only when nothing was sent, so one slot still holds any send."""
    call = parent.parent
    statement = call.parent if call is not None else None
    statements = statement.parent if statement is not None else None
    return (
        parent.type == "argument_list"
        and parent.named_child_count == 1
        and call is not None
        and call.type == "call_expression"
        and call_name(call) == "close"
        and statement is not None
        and statement.type == "expression_statement"
        and statements is not None
        and statements.parent == body
        and _named_after(statements, statement) == []
    )


def _ends_goroutine(send: Node, literal: Node) -> bool:
    """Nothing but the goroutine's return can run after `send`: it never waits on the receiver."""
    node = send
    for parent in ancestors(send):
        if parent == literal:
            return True
        if parent.type == "for_statement":
            return False  # the loop comes round to another statement
        if parent.type == "statement_list":
            following = _named_after(parent, node)
            if following:
                return len(following) == 1 and following[0].type == "return_statement"
        node = parent
    return False


def _reports_failure_and_goes_on(send: Node) -> bool:
    """`if err != nil { ch <- err }` with no else, as the block's last statement, and more
    statements after the if: the error is reported and the goroutine carries on."""
    statements = send.parent
    block = statements.parent if statements is not None else None
    branch = block.parent if block is not None else None
    if (
        statements is None
        or statements.type != "statement_list"
        or _named_after(statements, send)
        or branch is None
        or branch.type != "if_statement"
        or branch.child_by_field_name("consequence") != block
        or branch.child_by_field_name("alternative") is not None
    ):
        return False
    condition = branch.child_by_field_name("condition")
    value = send.child_by_field_name("value")
    if condition is None or value is None or value.type != "identifier":
        return False
    if " ".join(text(condition).split()) != f"{text(value)} != nil":
        return False
    holder = branch.parent
    return (
        holder is not None
        and holder.type == "statement_list"
        and bool(_named_after(holder, branch))
    )


def _named_after(statements: Node, node: Node) -> list[Node]:
    children = [c for c in statements.named_children if c.type != "comment"]
    return children[children.index(node) + 1 :] if node in children else []


def _named_before(statements: Node, node: Node) -> list[Node]:
    children = [c for c in statements.named_children if c.type != "comment"]
    return children[: children.index(node)] if node in children else []


def _abandoned(plan: _Plan, body: Node) -> bool:
    """Whether the function can leave the channel's scope with a send still unreceived."""
    for node in descendants_outside_functions(plan.start_list):
        if node.start_byte < plan.start.end_byte:
            continue
        if node.type == "return_statement" or _ends_goroutine_call(node):
            if _pending(node, plan):
                return True
        elif node.type == "break_statement":
            target = _break_target(node, body)
            if target is not None and _pending(node, plan) and _leaves_quietly(target, plan):
                return True
        elif node.type == "select_statement" and any(
            _receives_in_communication(case, plan) for case in node.named_children
        ):
            for case in node.named_children:
                if (
                    case.type in ("communication_case", "default_case")
                    and not plan.receives_within(case)
                    and _pending(case, plan)
                    and _leaves_quietly(node, plan)
                ):
                    return True
    return False


def _ends_goroutine_call(statement: Node) -> bool:
    """`t.Fatal(...)`, `t.FailNow()`, `runtime.Goexit()`: the function stops right there."""
    call = statement.named_children[0] if statement.named_child_count else None
    if statement.type != "expression_statement" or call is None or call.type != "call_expression":
        return False
    name = call_name(call) or ""
    # t.Fatal ends the test's goroutine; log.Fatal ends the process, and a leak with it.
    return name == "runtime.Goexit" or (
        re.fullmatch(r"\w+\.(?:Fatalf?|FailNow)", name) is not None and "log" not in name.lower()
    )


def _receives_in_communication(case: Node, plan: _Plan) -> bool:
    communication = case.child_by_field_name("communication")
    return (
        case.type == "communication_case"
        and communication is not None
        and plan.receives_within(communication)
    )


def _pending(point: Node, plan: _Plan) -> bool:
    """At `point`, the senders have started and some send may not have been received yet."""
    chain = []
    for parent in ancestors(point):
        if parent.type in FUNCTION_TYPES:
            return False
        chain.append(parent)
        if parent == plan.start_list:
            break
    else:
        return False
    if plan.several and any(
        p.type == "for_statement" and p.start_byte > plan.start.end_byte and plan.receives_within(p)
        for p in chain
    ):
        return True  # leaving the receive loop early: some values are never taken
    if plan.receives_within(point):
        return False  # `return <-ch`
    node = point
    for parent in chain:
        if (
            not plan.several
            and parent.type == "communication_case"
            and _receives_in_communication(parent, plan)
        ):
            return False  # the select took the value
        if any(plan.receives_within(h) for h in _headers(parent, node)):
            return False  # `if v := <-ch; ... { return }`: received on the way in
        if parent.type == "statement_list" and any(
            earlier.start_byte > plan.start.end_byte and _may_have_received(earlier, plan)
            for earlier in _named_before(parent, node)
        ):
            return False  # may have received already: not provably abandoned
        node = parent
    return True


def _may_have_received(earlier: Node, plan: _Plan) -> bool:
    """Whether control that gets past `earlier` may have received: a receive inside a branch
    that always returns (`if cmd != nil { ...; <-ch; ...; return err }`) was not on its way."""
    for receive in plan.receives:
        if not (earlier.start_byte <= receive.start_byte and receive.end_byte <= earlier.end_byte):
            continue
        returning = False
        for ancestor in ancestors(receive):
            if ancestor == earlier:
                break
            if ancestor.type == "statement_list" and _always_returns(ancestor):
                returning = True
                break
        if not returning:
            return True
    return False


def _received_each_iteration(loop: Node, go_statement: Node, receives: list[Node]) -> bool:
    """The loop body starts the goroutine, then (with no `continue` between) a statement
    that receives on every path that does not return."""
    body = loop.child_by_field_name("body")
    statements = statement_list(body) if body is not None else None
    if statements is None or go_statement.parent != statements:
        return False
    for statement in _named_after(statements, go_statement):
        if _always_receives(statement, receives):
            return True
        if any(n.type == "continue_statement" for n in descendants_outside_functions(statement)):
            return False
    return False


def _always_receives(statement: Node, receives: list[Node]) -> bool:
    """`<-ch`, `v := <-ch`, `v = <-ch`, or a select each of whose cases receives or returns."""
    if statement.type in ("expression_statement", "short_var_declaration", "assignment_statement"):
        return any(
            r.parent == statement
            or (
                r.parent is not None
                and r.parent.type == "expression_list"
                and r.parent.parent == statement
            )
            for r in receives
        )
    if statement.type != "select_statement":
        return False
    for case in statement.named_children:
        if case.type not in ("communication_case", "default_case"):
            continue
        communication = case.child_by_field_name("communication")
        if communication is not None and any(
            communication.start_byte <= r.start_byte and r.end_byte <= communication.end_byte
            for r in receives
        ):
            continue
        statements = next((c for c in case.named_children if c.type == "statement_list"), None)
        if statements is None or not _always_returns(statements):
            return False
    return True


def _always_returns(statements: Node) -> bool:
    """The list ends in `return` and holds no `break`/`continue` that could leave it first."""
    children = [c for c in statements.named_children if c.type != "comment"]
    return (
        bool(children)
        and children[-1].type == "return_statement"
        and not any(
            n.type in ("break_statement", "continue_statement")
            for n in descendants_outside_functions(statements)
        )
    )


def _headers(statement: Node, inside: Node) -> list[Node]:
    """The parts of `statement` evaluated before its child `inside` (a branch or body) runs."""
    if statement.type not in (
        "if_statement",
        "expression_switch_statement",
        "type_switch_statement",
        "for_statement",
    ):
        return []
    fields = ("initializer", "condition", "value", "alias")
    headers = [c for f in fields if (c := statement.child_by_field_name(f)) is not None]
    headers += [c for c in statement.named_children if c.type in ("for_clause", "range_clause")]
    return [h for h in headers if h != inside and h.end_byte <= inside.start_byte]


def _leaves_quietly(construct: Node, plan: _Plan) -> bool:
    """After `construct` ends, the channel's scope can end without another receive."""
    node = construct
    for parent in ancestors(construct):
        if parent.type in FUNCTION_TYPES:
            return False
        if parent.type == "for_statement":
            return False  # the loop comes round to a receive again
        if parent.type == "statement_list":
            if any(plan.receives_within(later) for later in _named_after(parent, node)):
                return False
            if parent == plan.made.scope:
                return True
        node = parent
    return False


def _break_target(statement: Node, body: Node) -> Node | None:
    """The statement a `break` leaves; None when it cannot be told."""
    label = next((c for c in statement.named_children if c.type == "label_name"), None)
    for ancestor in ancestors(statement):
        if ancestor == body or ancestor.type in FUNCTION_TYPES:
            return None
        if label is None and ancestor.type in BREAKABLE:
            return ancestor
        if ancestor.type == "labeled_statement":
            name = ancestor.child_by_field_name("label")
            if label is not None and name is not None and text(name) == text(label):
                return ancestor
    return None


def _capacity_edit(made: MadeChannel, capacity: str) -> Edit:
    channel_type = call_arguments(made.call)[0]
    return Edit(channel_type.end_byte, channel_type.end_byte, f", {capacity}")


def _loop_count(loop: Node, made: MadeChannel, function: Node, root: Node) -> str | None:
    """An expression, valid where the channel is made, at least the number of iterations."""
    clause = next(
        (c for c in loop.named_children if c.type in ("range_clause", "for_clause")), None
    )
    if clause is None:
        return None
    if clause.type == "range_clause":
        collection = clause.child_by_field_name("right")
        if collection is None or collection.type != "identifier":
            return None
        if not _has_length(collection, made, function, root):
            return None
        subject: Node | None = collection
    else:
        subject = _counted_by_len(clause)
    if subject is None:
        return None
    count = f"len({text(subject)})"
    if _changed_between(text(subject), made.statement.end_byte, loop.end_byte, function):
        return None
    return count


def _counted_by_len(clause: Node) -> Node | None:
    """`i := 0; i < len(xs); i++` -> xs (an identifier), when i only counts up by one."""
    initializer = clause.child_by_field_name("initializer")
    condition = clause.child_by_field_name("condition")
    update = clause.child_by_field_name("update")
    if initializer is None or condition is None or update is None:
        return None
    if not re.fullmatch(r"(\w+) := 0", text(initializer)) or update.type != "inc_statement":
        return None
    counter = text(initializer).split(" ")[0]
    if text(update) != f"{counter}++" or condition.type != "binary_expression":
        return None
    left, right = condition.child_by_field_name("left"), condition.child_by_field_name("right")
    operator = condition.child_by_field_name("operator")
    if left is None or right is None or operator is None or text(operator) != "<":
        return None
    if text(left) != counter or right.type != "call_expression" or call_name(right) != "len":
        return None
    arguments = call_arguments(right)
    if len(arguments) != 1 or arguments[0].type != "identifier":
        return None
    loop = clause.parent
    body = loop.child_by_field_name("body") if loop is not None else None
    if body is not None and _changed_between(counter, body.start_byte, body.end_byte, body):
        return None
    return arguments[0]


def _changed_between(name: str, start: int, end: int, within: Node) -> bool:
    """Whether `name` is assigned, incremented, address-taken or deleted from in [start, end)."""
    for node in descendants(within):
        if node.start_byte < start or node.end_byte > end:
            continue
        if node.type in ("assignment_statement", "short_var_declaration"):
            left = node.child_by_field_name("left")
            if left is not None and mentions(left, name):
                return True
        elif node.type in ("inc_statement", "dec_statement") or (
            node.type == "call_expression" and call_name(node) in ("delete", "clear")
        ):
            if mentions(node, name):
                return True
        elif node.type == "unary_expression":
            operator = node.child_by_field_name("operator")
            operand = node.child_by_field_name("operand")
            if (
                operator is not None
                and operator.type == "&"
                and operand is not None
                and mentions(operand, name)
            ):
                return True
    return False


def _has_length(collection: Node, made: MadeChannel, function: Node, root: Node) -> bool:
    """Whether `len(collection)` counts its range loop's iterations, readable from the code."""
    name = text(collection)
    declarations = [
        n
        for n in descendants(function)
        if n.type == "identifier" and text(n) == name and is_declaration(n)
    ]
    if len(declarations) != 1 or declarations[0].end_byte > made.statement.start_byte:
        return False
    declared = declarations[0]
    parent = declared.parent
    assert parent is not None
    if parent.type == "variadic_parameter_declaration":
        return True
    if parent.type in ("parameter_declaration", "var_spec"):
        type_node = parent.child_by_field_name("type")
        if type_node is not None:
            return _is_sized_type(type_node, root)
        value = parent.child_by_field_name("value")
        return (
            value is not None
            and value.named_child_count == 1
            and _is_sized_value(value.named_children[0], root)
        )
    holder = parent.parent
    if parent.type == "expression_list" and holder is not None:
        if holder.type != "short_var_declaration" or parent.named_child_count != 1:
            return False
        right = holder.child_by_field_name("right")
        return (
            right is not None
            and right.named_child_count == 1
            and _is_sized_value(right.named_children[0], root)
        )
    return False


def _is_sized_value(value: Node, root: Node) -> bool:
    if value.type == "composite_literal":
        type_node = value.child_by_field_name("type")
        return type_node is not None and _is_sized_type(type_node, root)
    if value.type != "call_expression":
        return False
    name = call_name(value)
    if name == "make":
        arguments = call_arguments(value)
        return bool(arguments) and arguments[0].type in ("slice_type", "map_type")
    if name is None or name in _SLICE_CALLS:
        return name is not None
    result = _declared_result(name, root)
    return result is not None and _is_sized_type(result, root)


def _declared_result(name: str, root: Node) -> Node | None:
    """The one result type of the function (or method, for `x.m`) of that name in this file."""
    receiver, _, method = name.rpartition(".")
    if receiver and ("." in receiver or receiver in _imported_names(root)):
        return None  # a function of another package
    wanted = "method_declaration" if receiver else "function_declaration"
    found = [
        d
        for d in root.named_children
        if d.type == wanted
        and (n := d.child_by_field_name("name")) is not None
        and text(n) == (method if receiver else name)
    ]
    result = found[0].child_by_field_name("result") if len(found) == 1 else None
    if result is None or result.type != "parameter_list":
        return result
    declarations = result.named_children
    if len(declarations) != 1 or len(declarations[0].children_by_field_name("name")) > 1:
        return None
    return declarations[0].child_by_field_name("type")


def _imported_names(root: Node) -> set[str]:
    names = set()
    for node in descendants(root):
        if node.type == "import_spec":
            alias, path = node.child_by_field_name("name"), node.child_by_field_name("path")
            if alias is not None:
                names.add(text(alias))
            if path is not None:
                # Any word of the path: `.../bar/v2` and `gopkg.in/yaml.v3` name bar and yaml.
                names.update(re.split(r"[/.\-]", text(path).strip('"`')))
        elif node.type in ("function_declaration", "method_declaration"):
            break
    return names


def _is_sized_type(type_node: Node, root: Node) -> bool:
    """A slice, array, map or string type, or a type of this file defined as one."""
    if type_node.type in ("slice_type", "array_type", "map_type", "implicit_length_array_type"):
        return True
    if type_node.type != "type_identifier":
        return False
    if text(type_node) == "string":
        return True
    spec = top_level_types(root).get(text(type_node))
    underlying = spec.child_by_field_name("type") if spec is not None else None
    return (
        spec is not None
        and spec.type == "type_spec"
        and underlying is not None
        and spec.child_by_field_name("type_parameters") is None
        and underlying.type in ("slice_type", "array_type", "map_type")
    )
