"""Goroutine owners of a package: types whose values start goroutines, and what stops them.

A type owns goroutines when one of its methods, or a constructor of the package (`NewX`/`newX`
returning `*X`), starts a goroutine on a value of it (`go x.loop()`, or `go func() {...}()`
using it). Its stop method is learnt from the code: a method named like a stop (`Close`,
`Stop`, `Shutdown`, ...) that closes, cancels, stops or sends on a field the goroutines use
(directly or through a method it calls). A type with no such method is not an owner here:
there would be nothing to call. Facts come from this file's tree and the package's other
non-test files (codemod.package.Siblings), each summarised once per worker by name and bytes.
Types of other packages are not read (only the library table below is known).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from tree_sitter import Node

from codemod.go.parse import parse_tree
from codemod.go.syntax import call_arguments, receive_operand, text
from codemod.package import Siblings

# Method names that end a value's life; earlier in this tuple wins when a type has several.
STOP_NAMES = ("Close", "Stop", "Shutdown", "Cancel", "Terminate", "Kill", "Halt", "Quit")
CONSTRUCTOR_NAME = re.compile(r"^(?:[Nn]ew|[Oo]pen|[Ss]tart|[Dd]ial)[A-Z0-9_]?\w*$")
# Standard-library constructors of values that must be stopped: (package path, function) ->
# (stop method, whether it matters only below go 1.23, where unstopped tickers are kept).
LIBRARY_OWNERS: dict[tuple[str, str], tuple[str, bool]] = {
    ("time", "NewTicker"): ("Stop", True),
    ("net/http/httptest", "NewServer"): ("Close", False),
    ("net/http/httptest", "NewTLSServer"): ("Close", False),
}


@dataclass(frozen=True)
class StopMethod:
    name: str
    parameters: int  # a Close(err) cannot be called without choosing the argument


@dataclass(frozen=True)
class Owner:
    """A type whose values start goroutines, and the method that stops them."""

    type_name: str
    stop: StopMethod
    started_by: str  # the method or constructor that starts the goroutine


@dataclass
class _Method:
    parameters: int = 0
    starts: bool = False  # a `go` statement on the receiver
    calls: set[str] = field(default_factory=set)  # r.m() of the same receiver
    goroutine_methods: set[str] = field(default_factory=set)  # `go r.m()`
    goroutine_fields: set[str] = field(default_factory=set)  # fields a `go func` literal uses
    goroutine_waits: set[str] = field(default_factory=set)  # ... and those it receives on
    waits: set[str] = field(default_factory=set)  # fields the body receives on
    uses: set[str] = field(default_factory=set)  # every r.f the body touches
    stops: set[str] = field(default_factory=set)  # fields closed, cancelled, stopped, sent on
    # Launches and calls every run reaches: not under an `if`, a loop or a case, nor after a
    # return (`if opts.NoSigs { return }; go ...` starts nothing in tests that set it).
    certain_launch: bool = False
    certain_calls: set[str] = field(default_factory=set)


@dataclass
class _Constructor:
    type_name: str
    starts: bool = False
    calls: set[str] = field(default_factory=set)  # x.m() on the value it builds
    goroutines: _Method = field(default_factory=lambda: _Method())  # what its `go`s use


@dataclass
class FileOwnerFacts:
    methods: dict[tuple[str, str], _Method] = field(default_factory=dict)  # (type, method)
    constructors: dict[str, _Constructor] = field(default_factory=dict)


def receiver_of(method: Node) -> tuple[str, str] | None:
    """(receiver name, type name) of `func (r *T) m()`; None without a named receiver."""
    receiver = method.child_by_field_name("receiver")
    declaration = (
        next((c for c in receiver.named_children if c.type == "parameter_declaration"), None)
        if receiver is not None
        else None
    )
    if declaration is None:
        return None
    name = declaration.child_by_field_name("name")
    kind = declaration.child_by_field_name("type")
    while kind is not None and kind.type in ("pointer_type", "generic_type"):
        kind = kind.named_children[0] if kind.named_child_count else None
    if name is None or kind is None or kind.type != "type_identifier":
        return None
    return text(name), text(kind)


def _parameter_count(function: Node) -> int:
    parameters = function.child_by_field_name("parameters")
    count = 0
    for declaration in parameters.named_children if parameters is not None else []:
        if declaration.type in ("parameter_declaration", "variadic_parameter_declaration"):
            count += max(1, len(declaration.children_by_field_name("name")))
    return count


def _walk(node: Node) -> Iterator[Node]:
    stack = list(reversed(node.children))
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))


def _selector_on(node: Node, name: str) -> str | None:
    """`f` when node is `name.f`."""
    if node.type != "selector_expression":
        return None
    operand, member = node.child_by_field_name("operand"), node.child_by_field_name("field")
    if operand is None or member is None or operand.type != "identifier":
        return None
    return text(member) if text(operand) == name else None


def _go_target(go_statement: Node, name: str) -> tuple[str | None, Node | None]:
    """For `go name.m(...)`: ("m", None); for `go func() {...}()`: (None, the literal)."""
    call = go_statement.named_children[0] if go_statement.named_child_count else None
    function = call.child_by_field_name("function") if call is not None else None
    if function is None:
        return None, None
    if function.type == "func_literal":
        return None, function
    return _selector_on(function, name), None


def _mentions(node: Node, name: str) -> bool:
    return any(n.type == "identifier" and text(n) == name for n in _walk(node))


_BRANCHES = frozenset(
    {
        "if_statement",
        "for_statement",
        "expression_switch_statement",
        "type_switch_statement",
        "select_statement",
        "func_literal",
    }
)


def _always_reached(node: Node, body: Node, returns: list[Node]) -> bool:
    """Whether every run of body reaches node: no branch or loop around it, no return before."""
    for ancestor in _ancestors_until(node, body):
        if ancestor.type in _BRANCHES:
            return False
    return not any(r.end_byte <= node.start_byte for r in returns)


def _ancestors_until(node: Node, stop: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None and parent != stop:
        yield parent
        parent = parent.parent


def _own_returns(body: Node, value: str | None) -> list[Node]:
    """Returns of body outside func literals that make a later launch conditional. For a
    constructor (value set), only those that hand the value out (`if !cached { return m }`);
    for a method, not those of an error check (`if err != nil { return err }`: on that path
    the method failed, and its caller does not count on the goroutines)."""
    found = []
    stack = list(body.children)
    while stack:
        node = stack.pop()
        if node.type == "return_statement":
            hands_out = value is not None and _mentions(node, value)
            if hands_out or (value is None and not _in_error_check(node)):
                found.append(node)
        elif node.type != "func_literal":
            stack.extend(node.children)
    return found


def _in_error_check(node: Node) -> bool:
    parent = node.parent
    while parent is not None and parent.type != "if_statement":
        if parent.type in ("func_literal", "for_statement", "function_declaration"):
            return False
        parent = parent.parent
    condition = parent.child_by_field_name("condition") if parent is not None else None
    return condition is not None and re.search(r"!=\s*nil\b", text(condition)) is not None


def _summarise_method(body: Node, receiver: str, facts: _Method, constructor: bool = False) -> None:
    returns = _own_returns(body, receiver if constructor else None)
    for node in _walk(body):
        member = _selector_on(node, receiver)
        if member is not None:
            facts.uses.add(member)
            parent = node.parent
            if (
                parent is not None
                and parent.type == "call_expression"
                and (parent.child_by_field_name("function") == node)
            ):
                facts.calls.add(member)
                if _always_reached(parent, body, returns):
                    facts.certain_calls.add(member)
            # r.f.Stop(), r.f.Close(), r.f.Cancel(): a field owner stopped
            if parent is not None and parent.type == "selector_expression":
                call = parent.parent
                method = parent.child_by_field_name("field")
                if (
                    call is not None
                    and call.type == "call_expression"
                    and method is not None
                    and text(method) in STOP_NAMES
                ):
                    facts.stops.add(member)
        elif node.type == "go_statement":
            target, literal = _go_target(node, receiver)
            launches = target is not None or (literal is not None and _mentions(literal, receiver))
            if launches and _always_reached(node, body, returns):
                facts.certain_launch = True
            if target is not None:
                facts.starts = True
                facts.goroutine_methods.add(target)
            elif literal is not None and _mentions(literal, receiver):
                facts.starts = True
                facts.goroutine_fields.update(
                    m for n in _walk(literal) if (m := _selector_on(n, receiver)) is not None
                )
                facts.goroutine_waits |= waits_on(literal, receiver)
        elif node.type == "call_expression":
            function = node.child_by_field_name("function")
            arguments = call_arguments(node)
            if function is not None and text(function) == "close" and len(arguments) == 1:
                if (closed := _selector_on(arguments[0], receiver)) is not None:
                    facts.stops.add(closed)
            elif function is not None and (called := _selector_on(function, receiver)):
                facts.stops.add(called)  # r.cancel(): a field func; methods are told apart later
        elif node.type == "send_statement":
            channel = node.child_by_field_name("channel")
            if channel is not None and (sent := _selector_on(channel, receiver)) is not None:
                facts.stops.add(sent)


def _constructed_type(function: Node) -> str | None:
    """T when the function returns `*T` or `(*T, error)`."""
    result = function.child_by_field_name("result")
    if result is None:
        return None
    if result.type == "parameter_list":
        declarations = [c for c in result.named_children if c.type == "parameter_declaration"]
        if not declarations:
            return None
        result = declarations[0].child_by_field_name("type")
    if result is None or result.type != "pointer_type" or not result.named_child_count:
        return None
    inner = result.named_children[0]
    if inner.type == "generic_type" and inner.named_child_count:
        inner = inner.named_children[0]
    return text(inner) if inner.type == "type_identifier" else None


def _built_values(body: Node, type_name: str) -> set[str]:
    """Locals given `&T{...}` or `new(T)` in a constructor's body."""
    names: set[str] = set()
    for node in _walk(body):
        if node.type not in ("short_var_declaration", "assignment_statement", "var_spec"):
            continue
        if node.type == "var_spec":
            targets, right = node.children_by_field_name("name"), node.child_by_field_name("value")
        else:
            left = node.child_by_field_name("left")
            targets = left.named_children if left is not None else []
            right = node.child_by_field_name("right")
        values = right.named_children if right is not None else []
        for target, value in zip(targets, values, strict=False):
            if target.type == "identifier" and _builds(value, type_name):
                names.add(text(target))
    return names


def _builds(value: Node, type_name: str) -> bool:
    if value.type == "unary_expression" and value.named_child_count:
        literal = value.named_children[0]
        kind = literal.child_by_field_name("type") if literal.type == "composite_literal" else None
        return kind is not None and text(kind).split("[")[0] == type_name
    if value.type == "call_expression":
        function = value.child_by_field_name("function")
        arguments = call_arguments(value)
        return (
            function is not None
            and text(function) == "new"
            and len(arguments) == 1
            and text(arguments[0]) == type_name
        )
    return False


def file_owner_facts(root: Node) -> FileOwnerFacts:
    facts = FileOwnerFacts()
    for declaration in root.named_children:
        body = declaration.child_by_field_name("body")
        name = declaration.child_by_field_name("name")
        if body is None or name is None:
            continue
        if declaration.type == "method_declaration":
            receiver = receiver_of(declaration)
            if receiver is None:
                continue
            method = facts.methods.setdefault((receiver[1], text(name)), _Method())
            method.parameters = _parameter_count(declaration)
            _summarise_method(body, receiver[0], method)
            method.waits = waits_on(body, receiver[0])
        elif declaration.type == "function_declaration" and CONSTRUCTOR_NAME.match(text(name)):
            type_name = _constructed_type(declaration)
            if type_name is None:
                continue
            constructor = _Constructor(type_name)
            for value in _built_values(body, type_name):
                scratch = _Method()
                _summarise_method(body, value, scratch, constructor=True)
                constructor.starts = constructor.starts or scratch.starts
                constructor.calls |= scratch.certain_calls
                constructor.goroutines.certain_launch |= scratch.certain_launch
                constructor.goroutines.goroutine_methods |= scratch.goroutine_methods
                constructor.goroutines.goroutine_fields |= scratch.goroutine_fields
                constructor.goroutines.goroutine_waits |= scratch.goroutine_waits
            facts.constructors[text(name)] = constructor
    return facts


@dataclass
class PackageOwners:
    """The owners of one package, merged from its files."""

    owners: dict[str, Owner]  # type name -> owner
    constructors: dict[str, str]  # constructor function name -> owned type name
    starting_methods: dict[str, set[str]]  # type name -> methods that start its goroutines
    waited_fields: dict[str, set[str]]  # type name -> fields its goroutines receive on

    def constructor(self, name: str) -> Owner | None:
        type_name = self.constructors.get(name)
        return self.owners.get(type_name) if type_name is not None else None


def merge(all_facts: Iterable[FileOwnerFacts]) -> PackageOwners:
    methods: dict[tuple[str, str], _Method] = {}
    constructors: dict[str, _Constructor] = {}
    for facts in all_facts:
        methods.update(facts.methods)
        constructors.update(facts.constructors)
    by_type: dict[str, dict[str, _Method]] = {}
    for (type_name, method_name), method in methods.items():
        by_type.setdefault(type_name, {})[method_name] = method

    owners: dict[str, Owner] = {}
    starting: dict[str, set[str]] = {}
    waited: dict[str, set[str]] = {}
    owned_by: dict[str, str] = {}
    for type_name, of_type in by_type.items():
        built = {n: c for n, c in constructors.items() if c.type_name == type_name}
        launched = {name: _launched(of_type, m) for name, m in of_type.items()}
        launched_by_built = {name: _launched(of_type, c.goroutines) for name, c in built.items()}
        goroutine_uses = set().union(*launched.values(), *launched_by_built.values())
        goroutine_uses -= set(of_type)
        waited[type_name] = _goroutine_waits(of_type, [*of_type.values()], built) - set(of_type)
        stop = _stop_method(of_type, goroutine_uses)
        if stop is None:
            starting[type_name] = set()
            continue
        stopped = _stopped_fields(of_type, stop.name)
        # Only goroutines that run until the stop method acts count: a one-shot `go` (a
        # flush, a compaction) ends by itself and makes no owner.
        lasting = {
            m
            for m, uses in launched.items()
            if of_type[m].certain_launch and _stops_any(uses, stopped)
        }
        starts = _certain_closure(of_type, lasting)
        starting[type_name] = starts
        constructor_starts = {
            name
            for name, c in built.items()
            if (c.goroutines.certain_launch and _stops_any(launched_by_built[name], stopped))
            or c.calls & starts
        }
        if starts or constructor_starts:
            started_by = sorted(starts)[0] if starts else sorted(constructor_starts)[0]
            owners[type_name] = Owner(type_name, stop, started_by)
            owned_by.update(dict.fromkeys(constructor_starts, type_name))
    return PackageOwners(owners, owned_by, starting, waited)


def _launched(of_type: dict[str, _Method], method: _Method) -> set[str]:
    """Fields the goroutines a method launches use (through the methods they call)."""
    uses = set(method.goroutine_fields)
    for started in method.goroutine_methods:
        for reached in _reached(of_type, started):
            uses |= of_type[reached].uses
    return uses


def _goroutine_waits(
    of_type: dict[str, _Method], methods: list[_Method], built: dict[str, _Constructor]
) -> set[str]:
    waits: set[str] = set()
    for method in [*methods, *(c.goroutines for c in built.values())]:
        waits |= method.goroutine_waits
        for started in method.goroutine_methods:
            for reached in _reached(of_type, started):
                waits |= of_type[reached].waits
    return waits


def _stopped_fields(of_type: dict[str, _Method], stop: str) -> set[str]:
    stopped = {f for reached in _reached(of_type, stop) for f in of_type[reached].stops}
    return stopped - set(of_type)  # r.m() calls a method, not a field func


def _stops_any(uses: set[str], stopped: set[str]) -> bool:
    """Whether stopping those fields ends a goroutine using these: it uses one, or it waits on
    a context field while the stop calls a cancel field."""
    return bool(uses & stopped) or (
        any("cancel" in f.lower() for f in stopped)
        and any("ctx" in f.lower() or "context" in f.lower() for f in uses)
    )


def _reached(of_type: dict[str, _Method], start: str, depth: int = 3) -> set[str]:
    """`start` and the methods of the same type it calls, `depth` calls deep."""
    seen = {start} if start in of_type else set()
    frontier = set(seen)
    for _ in range(depth):
        frontier = {c for m in frontier for c in of_type[m].calls if c in of_type} - seen
        seen |= frontier
    return seen


def _certain_closure(of_type: dict[str, _Method], starting: set[str], depth: int = 3) -> set[str]:
    """Methods that start those goroutines on every run, themselves or through methods they
    always call."""
    found = set(starting)
    for _ in range(depth):
        found |= {name for name, m in of_type.items() if m.certain_calls & found}
    return found


def _stop_method(of_type: dict[str, _Method], goroutine_fields: set[str]) -> StopMethod | None:
    for name in STOP_NAMES:
        method = of_type.get(name)
        if method is not None and _stops_any(goroutine_fields, _stopped_fields(of_type, name)):
            return StopMethod(name, method.parameters)
    return None


# Facts of a file and of a package, by content: each worker summarises a package once.
_MEMO: dict[bytes, FileOwnerFacts] = {}
_PACKAGE_MEMO: dict[frozenset[bytes], PackageOwners] = {}
_MEMO_LIMIT = 2048
# A `go` statement's keyword; a package none of whose files holds one owns no goroutines.
_GO_KEYWORD = re.compile(rb"\bgo(?:\s+[\w(]|\()")
_NO_PACKAGE_OWNERS = PackageOwners({}, {}, {}, {})


def _digest(source: bytes) -> bytes:
    return hashlib.blake2b(source, digest_size=16).digest()


def _facts_of(source: bytes, root: Node | None = None) -> FileOwnerFacts:
    key = _digest(source)
    found = _MEMO.get(key)
    if found is None:
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        tree_root = root if root is not None else parse_tree(source).root_node
        found = _MEMO[key] = file_owner_facts(tree_root)
    return found


def package_owners(root: Node, siblings: Siblings) -> PackageOwners:
    """The owners of the package: this file's tree plus its non-test siblings."""
    siblings.consulted = True  # the answer depends on the siblings' bytes (scan cache)
    files = siblings.files()
    own = root.text or b""
    # Most packages start no goroutine at all: skip summarising every file of them.
    if not _GO_KEYWORD.search(own) and not any(_GO_KEYWORD.search(src) for _, src in files):
        return _NO_PACKAGE_OWNERS
    # Every file of a package asks the same question: merge its files' facts once.
    key = frozenset([_digest(own), *(_digest(source) for _, source in files)])
    found = _PACKAGE_MEMO.get(key)
    if found is None:
        if len(_PACKAGE_MEMO) >= _MEMO_LIMIT:
            _PACKAGE_MEMO.clear()
        facts = [_facts_of(own, root)] + [_facts_of(source) for _, source in files]
        found = _PACKAGE_MEMO[key] = merge(facts)
    return found


def waits_on(body: Node, receiver: str) -> set[str]:
    """Fields a body receives on: `<-r.f`, `range r.f`, `r.f.Done()`."""
    fields: set[str] = set()
    for node in _walk(body):
        operand = receive_operand(node)
        if operand is None and node.type == "range_clause":
            operand = node.child_by_field_name("right")
        if operand is not None:
            if operand.type == "call_expression":  # <-r.ctx.Done()
                function = operand.child_by_field_name("function")
                operand = function.child_by_field_name("operand") if function else None
            if operand is not None and (member := _selector_on(operand, receiver)) is not None:
                fields.add(member)
    return fields
