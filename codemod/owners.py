"""Who can stop a goroutine: the stop signals a type (its owner) keeps, read from the package.

A goroutine started by a method (`go s.loop()`, or `go func() {...}()` inside one) belongs to
the receiver's type. Whether it can be told to leave depends on what the type's methods do:
the method that runs `close(s.quit)` (whatever it is called) makes `<-s.quit` a stop signal;
a context kept in a field (`s.ctx`) is one when some code calls the type's cancel function
field. These facts are learnt from the code of the whole package (the file and its
siblings), not from method names alone; names only say which methods look like a shutdown
(`Stop`, `Close`, ...) for messages when there is no signal yet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from tree_sitter import Node, QueryCursor

from codemod.go.language import compile_query
from codemod.go.parse import parse_tree
from codemod.go.syntax import call_arguments, call_name, text

# Methods whose name says they end the owner's life: named in messages when no signal exists.
STOP_METHOD = re.compile(
    r"^(?:Stop|Close|Shutdown|Quit|Exit|Terminate|Cancel|Kill|Halt|Teardown|Destroy|Dispose)"
    r"|^(?:stop|close|shutdown|quit|terminate|teardown)(?:[A-Z_]|$)"
)
_CONTEXT_TYPE = re.compile(r"^(?:\w+\.)?Context$")
_CANCEL_TYPE = re.compile(r"^(?:\w+\.)?(?:CancelFunc|CancelCauseFunc)$|^func\(\s*\)$")
_CANCEL_NAME = re.compile(r"(?i)cancel|stop|done|shutdown")
# `ShutdownStatus`, `Closed`, `StopReason`: a stop-like name that asks, and stops nothing.
_QUERY_METHOD = re.compile(r"(?:Status|State|Reason|Time|Err|Error|Chan|Channel|ped|ed|ing)$")


@dataclass
class TypeStops:
    """What one named type's methods and fields offer to stop its goroutines."""

    # field name -> its written type (`chan struct{}`, `*time.Ticker`, `context.Context`)
    fields: dict[str, str] = field(default_factory=dict)
    # channel field -> the method of the type that closes it (`quit` -> `Stop`)
    closed_fields: dict[str, str] = field(default_factory=dict)
    # context fields whose cancel function field is called somewhere in the package
    cancelled_contexts: set[str] = field(default_factory=set)
    # methods declared on the type
    methods: set[str] = field(default_factory=set)
    # channel field -> for each receive on `recv.field` in the type's own methods, whether it
    # sits in a select with another case (it can leave) or not (a range, a bare receive)
    field_receives: dict[str, list[bool]] = field(default_factory=dict)

    def receivers_stay(self, field_name: str) -> bool:
        """The type's own methods receive on the field, never with another way out."""
        receives = self.field_receives.get(field_name, [])
        return bool(receives) and not any(receives)

    @property
    def stop_methods(self) -> list[str]:
        """Methods named like a shutdown, and those that close a field, sorted."""
        named = {m for m in self.methods if STOP_METHOD.match(m) and not _QUERY_METHOD.search(m)}
        return sorted(named | set(self.closed_fields.values()))


@dataclass
class OwnerFacts:
    """Stop signals of every type of a package, and what its code starts and stops."""

    types: dict[str, TypeStops] = field(default_factory=dict)
    # names of methods/functions started by a `go` statement: `go s.loop()` -> `loop`
    started: set[str] = field(default_factory=set)
    # what `.Stop()` is called on: a field or variable name (`t.Stop()`, `s.ticker.Stop()`)
    stopped: set[str] = field(default_factory=set)
    # field name -> whether each `make(chan ...)` the package puts in it has a buffer
    field_makes: dict[str, list[bool]] = field(default_factory=dict)
    # field name -> how many `x.f = ...` statements the package has (composite literals aside)
    field_assignments: dict[str, int] = field(default_factory=dict)

    def always_buffered(self, field_name: str) -> bool:
        """Every channel the package stores in a field of this name is made with a buffer."""
        makes = self.field_makes.get(field_name, [])
        return bool(makes) and all(makes)

    def of(self, type_name: str | None) -> TypeStops:
        return self.types.get(type_name or "", TypeStops())

    def stop_channel(self, type_name: str | None) -> tuple[str, str] | None:
        """(field, closing method) of a signal channel of the type that a method closes.

        Only signal channels: `chan struct{}` (or a bool/error one named like a signal); a data
        channel closed by Close is the producer's end of stream, not a stop signal."""
        stops = self.of(type_name)
        found = [
            (not STOP_METHOD.match(method), name, method)
            for name, method in stops.closed_fields.items()
            if is_signal_channel_type(stops.fields.get(name, ""), name)
            # A channel closed to wake someone up (`close(s.kick)` in a helper) is not the
            # owner's end: the field says it (`quit`), or the method that closes it (`Stop`).
            and (_SIGNAL_NAME.search(name) or STOP_METHOD.match(method))
        ]
        return min(found)[1:] if found else None

    def cancelled_context(self, type_name: str | None) -> str | None:
        stops = self.of(type_name)
        return min(stops.cancelled_contexts) if stops.cancelled_contexts else None


_SIGNAL_NAME = re.compile(r"(?i)done|quit|stop|clos|exit|shutdown|cancel|finish|dying|die|kill")


def is_signal_channel_type(written: str, name: str) -> bool:
    """`chan struct{}` of any name, or a `chan bool`/`chan error` named like a signal."""
    compact = written.replace(" ", "")
    if not compact.startswith(("chan", "<-chan")):
        return False
    element = compact.removeprefix("<-").removeprefix("chan")
    return element == "struct{}" or (
        element in ("bool", "error", "int") and _SIGNAL_NAME.search(name) is not None
    )


def receiver_type(method: Node) -> tuple[str | None, str | None]:
    """(receiver name, type name) of a method declaration: `(s *Server[T])` -> (s, Server)."""
    receiver = method.child_by_field_name("receiver")
    if receiver is None:
        return None, None
    for declaration in receiver.named_children:
        if declaration.type != "parameter_declaration":
            continue
        type_node = declaration.child_by_field_name("type")
        name = declaration.child_by_field_name("name")
        type_name = None
        if type_node is not None:
            match = re.match(r"\*?\s*(\w+)", text(type_node))
            type_name = match.group(1) if match else None
        return (text(name) if name is not None else None), type_name
    return None, None


def owner_facts(roots: Iterable[Node]) -> OwnerFacts:
    """The facts of a package whose files' trees are `roots`."""
    return _merge([_file_facts(root) for root in roots])


@dataclass
class _FileFacts:
    """What one file says: merged over the package, since a type's methods span files."""

    types: dict[str, TypeStops] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)
    stopped: set[str] = field(default_factory=set)
    called_fields: set[str] = field(default_factory=set)  # `x.f()` with no arguments
    field_makes: dict[str, list[bool]] = field(default_factory=dict)
    field_assignments: dict[str, int] = field(default_factory=dict)


# One query per file finds every node the facts read (a Python walk of every tree of a
# package cost more than the rest of the transform).
_FACTS_QUERY = """
(type_spec name: (type_identifier) type: (struct_type)) @struct
(method_declaration) @method
(go_statement) @go
(call_expression function: (selector_expression) arguments: (argument_list . ")")) @bare_call
(call_expression function: (identifier) @callee) @named_call
(assignment_statement
  left: (expression_list (selector_expression field: (field_identifier) @assigned)))
"""


def _file_facts(root: Node) -> _FileFacts:
    facts = _FileFacts()
    captures = QueryCursor(compile_query(_FACTS_QUERY)).captures(root)
    for spec in captures.get("struct", []):
        name = spec.child_by_field_name("name")
        if name is None:
            continue
        stops = facts.types.setdefault(text(name), TypeStops())
        for field_name, written in _struct_fields(spec):
            stops.fields[field_name] = written
    for method in captures.get("method", []):
        _read_method(method, facts.types)
    for statement in captures.get("go", []):
        started = _started_name(statement)
        if started is not None:
            facts.started.add(started)
    for call in captures.get("bare_call", []):
        function = call.child_by_field_name("function")
        selected = function.child_by_field_name("field") if function is not None else None
        operand = function.child_by_field_name("operand") if function is not None else None
        if selected is None or operand is None:
            continue
        if text(selected) == "Stop":
            facts.stopped.add(_last_name(operand))
        facts.called_fields.add(text(selected))
    for assigned in captures.get("assigned", []):
        written = text(assigned)
        facts.field_assignments[written] = facts.field_assignments.get(written, 0) + 1
    for call in captures.get("named_call", []):
        if call_name(call) != "make":
            continue
        holder = call.parent
        if holder is not None and holder.type in ("literal_element", "expression_list"):
            holder = holder.parent
        if holder is not None and holder.type in ("keyed_element", "assignment_statement"):
            made = _field_make(holder)
            if made is not None:
                facts.field_makes.setdefault(made[0], []).append(made[1])
    return facts


def _merge(files: list[_FileFacts]) -> OwnerFacts:
    facts = OwnerFacts()
    called_fields: set[str] = set()
    for one in files:
        for name, makes in one.field_makes.items():
            facts.field_makes.setdefault(name, []).extend(makes)
        for name, count in one.field_assignments.items():
            facts.field_assignments[name] = facts.field_assignments.get(name, 0) + count
        facts.started |= one.started
        facts.stopped |= one.stopped
        called_fields |= one.called_fields
        for type_name, stops in one.types.items():
            merged = facts.types.setdefault(type_name, TypeStops())
            merged.fields.update(stops.fields)
            for closed, method in stops.closed_fields.items():
                merged.closed_fields.setdefault(closed, method)
            for received, leaving in stops.field_receives.items():
                merged.field_receives.setdefault(received, []).extend(leaving)
            merged.methods |= stops.methods
    for stops in facts.types.values():
        cancels = {
            f
            for f, written in stops.fields.items()
            if _CANCEL_TYPE.match(written.strip()) and _CANCEL_NAME.search(f)
        }
        if cancels & called_fields:
            stops.cancelled_contexts |= {
                f for f, written in stops.fields.items() if _CONTEXT_TYPE.match(written.strip())
            }
    return facts


def _read_method(method: Node, types: dict[str, TypeStops]) -> None:
    receiver, type_name = receiver_type(method)
    name = method.child_by_field_name("name")
    if type_name is None or name is None:
        return
    stops = types.setdefault(type_name, TypeStops())
    stops.methods.add(text(name))
    body = method.child_by_field_name("body")
    if receiver is None or body is None:
        return
    if b"<-" in (body.text or b"") or b"range" in (body.text or b""):
        _read_receives(body, receiver, stops)
    if b"close(" not in (body.text or b""):
        return
    for call in QueryCursor(compile_query(_CLOSE_QUERY)).captures(body).get("close", []):
        arguments = call_arguments(call)
        if len(arguments) != 1 or arguments[0].type != "selector_expression":
            continue
        operand = arguments[0].child_by_field_name("operand")
        selected = arguments[0].child_by_field_name("field")
        if operand is not None and selected is not None and text(operand) == receiver:
            stops.closed_fields.setdefault(text(selected), text(name))


_RECEIVES_QUERY = """
(unary_expression operator: "<-"
  operand: (selector_expression operand: (identifier) @owner field: (field_identifier) @field))
  @receive
(range_clause
  right: (selector_expression operand: (identifier) @owner field: (field_identifier) @field))
  @range
"""


def _read_receives(body: Node, receiver: str, stops: TypeStops) -> None:
    """Receives on the receiver's own channel fields, and whether each can leave."""
    for _, captures in QueryCursor(compile_query(_RECEIVES_QUERY)).matches(body):
        owners, fields = captures.get("owner", []), captures.get("field", [])
        if len(owners) != 1 or len(fields) != 1 or text(owners[0]) != receiver:
            continue
        receive = captures.get("receive", [])
        stops.field_receives.setdefault(text(fields[0]), []).append(
            bool(receive) and _select_has_other_case(receive[0])
        )


def _select_has_other_case(receive: Node) -> bool:
    """`case v := <-x.f:` in a select with another case: the wait can end without x.f."""
    holder = receive.parent
    while holder is not None and holder.type in (
        "expression_list",
        "receive_statement",
        "expression_statement",
    ):
        holder = holder.parent
    if holder is None or holder.type != "communication_case":
        return False
    select = holder.parent
    return (
        select is not None
        and select.type == "select_statement"
        and any(
            case != holder and case.type in ("communication_case", "default_case")
            for case in select.named_children
        )
    )


_CLOSE_QUERY = """
((call_expression function: (identifier) @callee) @close (#eq? @callee "close"))
"""


def _field_make(node: Node) -> tuple[str, bool] | None:
    """(field, buffered) for `f: make(chan T, n)` in a composite literal or `x.f = make(...)`."""
    if node.type == "keyed_element":
        parts = [c for c in node.named_children if c.type != "comment"]
        if len(parts) != 2:
            return None
        key = parts[0].named_children[0] if parts[0].named_child_count else parts[0]
        value = parts[1].named_children[0] if parts[1].named_child_count else parts[1]
        if key.type not in ("identifier", "field_identifier"):
            return None
        name = text(key)
    else:
        left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
        if left is None or right is None or left.named_child_count != 1:
            return None
        if right.named_child_count != 1:
            return None
        target, value = left.named_children[0], right.named_children[0]
        selected = target.child_by_field_name("field")
        if target.type != "selector_expression" or selected is None:
            return None
        name = text(selected)
    function = value.child_by_field_name("function")
    if value.type != "call_expression" or function is None or text(function) != "make":
        return None
    arguments = call_arguments(value)
    if not arguments or arguments[0].type in ("slice_type", "map_type"):
        return None  # a named type may be a channel (`make(notificationChan, 1)`)
    return name, len(arguments) > 1 and text(arguments[1]) != "0"


def _started_name(statement: Node) -> str | None:
    call = next((c for c in statement.named_children if c.type == "call_expression"), None)
    function = call.child_by_field_name("function") if call is not None else None
    if function is None:
        return None
    if function.type == "identifier":
        return text(function)
    if function.type == "selector_expression":
        selected = function.child_by_field_name("field")
        return text(selected) if selected is not None else None
    return None


def _last_name(expression: Node) -> str:
    if expression.type == "selector_expression":
        selected = expression.child_by_field_name("field")
        if selected is not None:
            return text(selected)
    return text(expression)


def _struct_fields(spec: Node) -> Iterator[tuple[str, str]]:
    type_node = spec.child_by_field_name("type")
    if type_node is None:
        return
    for holder in type_node.named_children:
        if holder.type != "field_declaration_list":
            continue
        for declaration in holder.named_children:
            if declaration.type != "field_declaration":
                continue
            written = declaration.child_by_field_name("type")
            for name in declaration.children_by_field_name("name"):
                yield text(name), text(written) if written is not None else ""


@lru_cache(maxsize=512)
def _sibling_facts(name: str, source: bytes) -> _FileFacts:
    return _file_facts(parse_tree(source).root_node)


def package_owner_facts(root: Node, siblings: Iterable[tuple[str, bytes]]) -> OwnerFacts:
    """The owner facts of a file (its current tree) and its package's other files; each
    sibling is parsed and read once per worker process, however many files ask."""
    return _merge([_file_facts(root), *(_sibling_facts(n, s) for n, s in siblings)])
