"""The rest of a file's Go package: what one file cannot say about its channels.

A channel field sent on in one file is often received in another. Whether that receiver can
walk away (a select with another way out) or always takes what comes (a range until close),
and whether anyone closes the channel, decide whether a ctx.Done() arm removes a leak or only
adds a path that never runs (docs/validation.md). The engine hands each file a `Siblings`: the
other .go files of its directory that declare the same package (channel facts come from the
non-test ones; callers are looked up in all, codemod/callers.py). They are read and
parsed only when a transform asks, at most once per worker process; a question asked makes the
scan cache entry depend on those files' bytes (Siblings.digest).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node, QueryCursor

from codemod.go.language import compile_query
from codemod.go.parse import parse_tree
from codemod.go.syntax import (
    ancestors,
    assignments_to,
    call_arguments,
    descendants,
    enclosing_function,
    function_parameters,
    is_identifier,
    made_channel_type,
    receive_operand,
    text,
)

MAX_SIBLING_BYTES = 4 * 1024 * 1024
_PACKAGE_CLAUSE = re.compile(rb"^package\s+(\w+)", re.MULTILINE)
# Channels named like this signal an end (`done`, `stopCh`, `closing`, `notify`), not data.
_SIGNAL_WORDS = "done|quit|stop|clos|exit|shutdown|cancel|finish|dying|kill|notif"
SIGNAL_NAME = re.compile(_SIGNAL_WORDS, re.IGNORECASE)
# A select case that ends the wait without the channel: a Done(), a timer, a signal channel.
_WAY_OUT = re.compile(rf"Done\(\)|time\.After|\.C\b|(?i:{_SIGNAL_WORDS})")
_USES_QUERY = """
(unary_expression operator: "<-" operand: (_) @received)
(range_clause right: (_) @ranged)
(send_statement channel: (_) @sent)
(call_expression function: (identifier) @callee arguments: (argument_list) @arguments)
"""

# A field given a channel: in a composite literal, or assigned to a selector.
_FIELD_MAKES_QUERY = """
(keyed_element . (literal_element (identifier) @field) . (literal_element (_) @value))
(assignment_statement
  left: (expression_list . (selector_expression field: (field_identifier) @field) .)
  right: (expression_list . (_) @value .))
"""

# ("field", name) for `x.name`; ("local", function, name) for an identifier in a declaration.
ChannelKey = tuple[str, ...]


@dataclass
class ChannelUses:
    """What the package does with the channels of one key."""

    closed: bool = False
    sends: int = 0
    leaving_sends: int = 0  # of those, sends in a select that has another way out
    # A per-call mailbox: a local channel put in the field by a function that also waits on it.
    buffered_makes: int = 0  # made with a buffer
    unbuffered_makes: int = 0  # made without one
    leaving_receives: int = 0  # in a select that has another way out (a Done(), a default...)
    cancelled_receives: int = 0  # of those, the ones whose way out includes a `Done()`
    staying_receives: int = 0  # a range, a bare receive, a select over data channels only

    @property
    def receives(self) -> int:
        return self.leaving_receives + self.staying_receives

    def add(self, other: ChannelUses) -> None:
        self.closed = self.closed or other.closed
        self.sends += other.sends
        self.leaving_sends += other.leaving_sends
        self.buffered_makes += other.buffered_makes
        self.unbuffered_makes += other.unbuffered_makes
        self.leaving_receives += other.leaving_receives
        self.cancelled_receives += other.cancelled_receives
        self.staying_receives += other.staying_receives


@dataclass
class FileChannelFacts:
    uses: dict[ChannelKey, ChannelUses] = field(default_factory=dict)
    # function or method name -> parameter names of each declaration with that name
    parameters: dict[str, list[list[str]]] = field(default_factory=dict)


def channel_key(expression: Node) -> ChannelKey | None:
    """The key the package facts file a channel expression under."""
    while expression.type in ("parenthesized_expression", "index_expression"):
        inner = (
            expression.child_by_field_name("operand")
            if expression.type == "index_expression"
            else (expression.named_children[0] if expression.named_child_count else None)
        )
        if inner is None:
            return None
        expression = inner
    if expression.type == "selector_expression":
        name = expression.child_by_field_name("field")
        return ("field", text(name)) if name is not None else None
    if expression.type == "identifier":
        declaration = _top_declaration(expression)
        if declaration is None:
            return None
        name = declaration.child_by_field_name("name")
        return ("local", text(name) if name is not None else "", text(expression))
    return None


def _top_declaration(node: Node) -> Node | None:
    found = None
    for ancestor in ancestors(node):
        if ancestor.type in ("function_declaration", "method_declaration"):
            found = ancestor
    return found


def file_channel_facts(root: Node) -> FileChannelFacts:
    """One query over a file: sends, receives and closes of every channel expression."""
    facts = FileChannelFacts()
    captures = QueryCursor(compile_query(_USES_QUERY)).captures(root)

    def uses(node: Node) -> ChannelUses | None:
        key = channel_key(node)
        return None if key is None else facts.uses.setdefault(key, ChannelUses())

    for node in captures.get("received", []):
        if (found := uses(node)) is not None:
            ways_out = _ways_out(node)
            if ways_out:
                found.leaving_receives += 1
                found.cancelled_receives += any("Done()" in way for way in ways_out)
            else:
                found.staying_receives += 1
    for node in captures.get("ranged", []):
        if (found := uses(node)) is not None:
            found.staying_receives += 1
    for node in captures.get("sent", []):
        if (found := uses(node)) is not None:
            found.sends += 1
            send = node.parent
            found.leaving_sends += bool(send is not None and send_can_leave(send))
    for callee in captures.get("callee", []):
        arguments = callee.parent.child_by_field_name("arguments") if callee.parent else None
        if text(callee) != "close" or arguments is None or not arguments.named_child_count:
            continue
        if (found := uses(arguments.named_children[0])) is not None:
            found.closed = True
    for match in QueryCursor(compile_query(_FIELD_MAKES_QUERY)).matches(root):
        field_names, values = match[1].get("field", []), match[1].get("value", [])
        if len(field_names) != 1 or len(values) != 1:
            continue
        buffered = _buffered_make(values[0])
        if buffered is None:
            continue  # not a mailbox made in sight
        found = facts.uses.setdefault(("field", text(field_names[0])), ChannelUses())
        if buffered:
            found.buffered_makes += 1
        else:
            found.unbuffered_makes += 1
    for declaration in _declarations(root):
        name = declaration.child_by_field_name("name")
        if name is not None:
            names = [parameter for parameter, _ in function_parameters(declaration)]
            facts.parameters.setdefault(text(name), []).append(names)
    return facts


def _buffered_make(value: Node) -> bool | None:
    """For a field given a local channel that its function made and also waits on (`errs :=
    make(chan error, 1); h := handler{errs: errs}; ...; <-errs`: a mailbox made per call),
    whether that make has a buffer; None for any other value."""
    if value.type != "identifier":
        return None
    name = text(value)
    function = enclosing_function(value)
    if function is None or not any(
        (operand := receive_operand(node)) is not None and is_identifier(operand, name)
        for node in descendants(function)
    ):
        return None
    single = [
        made
        for statement, made in assignments_to(function, name)
        if statement.type != "var_spec" and _single_target(statement)
    ]
    if len(single) != 1 or made_channel_type(single[0]) is None:
        return None
    capacity = call_arguments(single[0])[1:]
    return bool(capacity) and text(capacity[0]) != "0"


def _single_target(assignment: Node) -> bool:
    left = assignment.child_by_field_name("left")
    return left is not None and left.named_child_count == 1


def _declarations(root: Node) -> Iterator[Node]:
    for child in root.named_children:
        if child.type in ("function_declaration", "method_declaration"):
            yield child


def _ways_out(operand: Node) -> list[str]:
    """For `<-ch` as one case of a select, the other cases that end the wait another way
    (`default`, a Done(), a timer, a signal channel); empty when it waits for ch alone."""
    receive = operand.parent  # the unary expression
    holder = receive.parent if receive is not None else None
    while holder is not None and holder.type == "expression_list":
        holder = holder.parent
    if holder is None or holder.type != "receive_statement":
        return []
    return _select_ways_out(holder)


def send_can_leave(send: Node) -> bool:
    """`case ch <- v:` in a select that can end the wait another way (a Done(), a default)."""
    return send.type == "send_statement" and bool(_select_ways_out(send))


def _select_ways_out(communication: Node) -> list[str]:
    """For the communication of one select case, the other cases that end the wait."""
    case = communication.parent
    select = case.parent if case is not None else None
    if case is None or select is None or select.type != "select_statement":
        return []
    ways_out = []
    for other in select.named_children:
        if other == case:
            continue
        if other.type == "default_case":
            ways_out.append("default")
            continue
        received = other.child_by_field_name("communication")
        if (
            received is not None
            and received.type == "receive_statement"
            and _WAY_OUT.search(text(received))
        ):
            ways_out.append(text(received))
    return ways_out


class Siblings:
    """The other files of a file's package, read and summarised on first use.

    The non-test files and the in-package test files are read separately: channel facts need
    only the first, and a warm cache entry that never asked about callers must not pay for
    reading (and hashing) every test of the package."""

    def __init__(
        self,
        load: Callable[[], list[tuple[str, bytes]]],
        load_tests: Callable[[], list[tuple[str, bytes]]] = list,
    ) -> None:
        self._load = load
        self._load_tests = load_tests
        self._files: list[tuple[str, bytes]] | None = None
        self._tests: list[tuple[str, bytes]] | None = None
        self._facts: list[FileChannelFacts] | None = None
        self.consulted = False  # a transform asked: the result depends on these files
        self.consulted_tests = False  # ... and on the package's test files too

    @staticmethod
    def none() -> Siblings:
        return Siblings(list)

    @staticmethod
    def of_sources(sources: Mapping[str, bytes]) -> Siblings:
        def pick(tests: bool) -> list[tuple[str, bytes]]:
            return sorted((n, s) for n, s in sources.items() if n.endswith("_test.go") == tests)

        return Siblings(lambda: pick(False), lambda: pick(True))

    @staticmethod
    def of_file(path: Path, source: bytes) -> Siblings:
        """The directory's other .go files declaring the same package as `source` (its
        external `_test` package's files declare another one)."""
        return Siblings(
            lambda: _read_siblings(path, source, tests=False),
            lambda: _read_siblings(path, source, tests=True),
        )

    def files(self) -> list[tuple[str, bytes]]:
        """The package's other non-test files."""
        if self._files is None:
            self._files = self._load()
        return self._files

    def test_files(self) -> list[tuple[str, bytes]]:
        if self._tests is None:
            self._tests = self._load_tests()
        return self._tests

    def facts(self) -> list[FileChannelFacts]:
        """Channel facts of the package's other non-test files (tests drive the code, and
        their waits would make every channel look drained)."""
        self.consulted = True
        if self._facts is None:
            self._facts = [_facts_of(name, source) for name, source in self.files()]
        return self._facts

    def sources(self) -> list[tuple[str, bytes]]:
        """Every other file of the package, its in-package tests included (who calls an
        unexported function can be a test)."""
        self.consulted = self.consulted_tests = True
        return self.files() + self.test_files()

    def digest(self, with_tests: bool = False) -> str:
        """Names and bytes of the siblings a cache entry depends on: the non-test files, and
        the test files too (marked `t:`) when a transform read them."""
        hasher = hashlib.blake2b(digest_size=16)
        for name, source in self.files() + (self.test_files() if with_tests else []):
            hasher.update(name.encode() + b"\0" + hashlib.blake2b(source).digest())
        return ("t:" if with_tests else "") + hasher.hexdigest()

    def digest_like(self, recorded: str) -> str:
        """The digest now, of the same files as a `recorded` one."""
        return self.digest(with_tests=recorded.startswith("t:"))

    def recorded_digest(self) -> str | None:
        """What a cache entry of this file records: None when no sibling was consulted."""
        return self.digest(self.consulted_tests) if self.consulted else None


# Facts of a sibling, by its name and bytes: each worker parses a package's files once, however
# many of its files ask.
_FACTS_MEMO: dict[tuple[str, bytes], FileChannelFacts] = {}
_MEMO_LIMIT = 2048


def _facts_of(name: str, source: bytes) -> FileChannelFacts:
    key = (name, hashlib.blake2b(source, digest_size=16).digest())
    found = _FACTS_MEMO.get(key)
    if found is None:
        if len(_FACTS_MEMO) >= _MEMO_LIMIT:
            _FACTS_MEMO.clear()
        found = _FACTS_MEMO[key] = file_channel_facts(parse_tree(source).root_node)
    return found


def _read_siblings(path: Path, source: bytes, tests: bool) -> list[tuple[str, bytes]]:
    package = package_name(source)
    if package is None:
        return []
    try:
        candidates = sorted(path.parent.iterdir())
    except OSError:
        return []
    found: list[tuple[str, bytes]] = []
    for candidate in candidates:
        name = candidate.name
        if not name.endswith(".go") or name == path.name or name.endswith("_test.go") != tests:
            continue
        try:
            if not candidate.is_file() or candidate.stat().st_size > MAX_SIBLING_BYTES:
                continue
            data = candidate.read_bytes()
        except OSError:
            continue  # unreadable: the facts are partial, and transforms only get more careful
        if b"\0" not in data and package_name(data) == package:
            found.append((name, data))
    return found


def package_name(source: bytes) -> bytes | None:
    match = _PACKAGE_CLAUSE.search(source)
    return match.group(1) if match else None


@dataclass
class PackageView:
    """Channel facts over a whole package: this file's current tree plus its siblings."""

    own: FileChannelFacts
    siblings: Siblings
    root: Node  # this file's tree, for questions the facts do not answer (codemod/callers.py)

    @staticmethod
    def of(root: Node, siblings: Siblings) -> PackageView:
        return PackageView(file_channel_facts(root), siblings, root)

    def _all(self) -> Iterable[FileChannelFacts]:
        yield self.own
        yield from self.siblings.facts()

    def uses(self, key: ChannelKey) -> ChannelUses:
        merged = ChannelUses()
        for facts in self._all():
            found = facts.uses.get(key)
            if found is not None:
                merged.add(found)
        return merged

    def parameter_uses(self, function: str, index: int) -> ChannelUses | None:
        """What the package's only function (or method) named `function` does with its
        index-th parameter; None when there is no such single declaration."""
        declared = [p for facts in self._all() for p in facts.parameters.get(function, [])]
        if len(declared) != 1 or not 0 <= index < len(declared[0]):
            return None
        return self.uses(("local", function, declared[0][index]))
