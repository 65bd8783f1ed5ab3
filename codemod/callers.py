"""Who calls a function, and with what context: facts one function's body cannot give.

Judged on real code (docs/validation.md), many `ctx.Done()` arms and many "pass the caller's
context" fixes changed nothing because no caller could ever cancel that context: every call
site passes `context.Background()`, or a context its own callers got that way. Where the
package is the whole world of callers (an unexported function or method, or any function of
package `main`), this module reads every call site in the package, its in-package tests
included, and says whether the context parameter can only ever be one nobody cancels.

Any doubt answers "it may be cancelled": a call site that passes anything else, a reference to
the function that is not a call (a method value, a callback), an exported name outside `main`,
or no call site at all. The answer then only keeps a fix that would have been offered anyway.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from codemod.go.contexts import INHERITS_CANCEL, NEVER_CANCELLED
from codemod.go.parse import parse_tree
from codemod.go.syntax import (
    ancestors,
    assignments_to,
    call_arguments,
    call_name,
    function_parameters,
    text,
)
from codemod.package import PackageView, package_name

_DECLARATIONS = ("function_declaration", "method_declaration")
# An interface method names the same method: not a use.
_SIGNATURES = (*_DECLARATIONS, "method_elem", "method_spec")
_FUNCTIONS = (*_DECLARATIONS, "func_literal")
_NOT_CODE = (
    "comment",
    *("interpreted_string_literal", "interpreted_string_literal_content"),
    *("raw_string_literal", "raw_string_literal_content"),
)
_MAX_DEPTH = 3  # callers of callers of callers: deeper chains are left as "may be cancelled"


@dataclass(frozen=True)
class _Source:
    data: bytes
    root: Node


def context_never_cancelled(function: Node, parameter: str, view: PackageView) -> bool:
    """Whether every call of `function` (a function or method declaration) in its package
    passes, for `parameter`, a context that nobody can cancel."""
    sources = [_Source(view.root.text or b"", view.root)] + [
        _Source(data, _parsed(name, data)) for name, data in view.siblings.sources()
    ]
    main = package_name(view.root.text or b"") == b"main"
    return _Search(sources, main).never_cancelled(function, parameter, 0)


def package_functions(view: PackageView, name: str) -> list[Node]:
    """The functions and methods called `name` declared anywhere in the package."""
    pattern = re.compile(rb"\bfunc\b[^\n{]*\b" + re.escape(name.encode()) + rb"\b")
    found = []
    for root in [view.root] + [
        _parsed(file, data) for file, data in view.siblings.sources() if pattern.search(data)
    ]:
        for node in root.named_children:
            declared = node.child_by_field_name("name") if node.type in _DECLARATIONS else None
            if declared is not None and text(declared) == name:
                found.append(node)
    return found


class _Search:
    def __init__(self, sources: list[_Source], main: bool) -> None:
        self._sources = sources
        self._main = main
        self._pending: set[tuple[int, str]] = set()

    def never_cancelled(self, function: Node, parameter: str, depth: int) -> bool:
        name_node = function.child_by_field_name("name")
        name = text(name_node) if name_node is not None else ""
        if not name or depth > _MAX_DEPTH or not _closed_world(function, name, self._main):
            return False
        names = [n for n, _ in function_parameters(function)]
        if names.count(parameter) != 1 or any(assignments_to(function, parameter)):
            return False  # reassigned in the body (`ctx, cancel = context.WithCancel(ctx)`)
        index = names.index(parameter)
        key = (function.start_byte, name)
        if key in self._pending:
            return True  # a recursive call passes its own context on: the other callers decide
        self._pending.add(key)
        try:
            calls = 0
            for call in self._uses(name):
                if call is None:
                    return False  # a use that is not a call: a callback, a method value
                arguments = call_arguments(call)
                if index >= len(arguments) or _spreads(call):
                    return False
                if not self._argument_never_cancelled(arguments[index], depth):
                    return False
                calls += 1
            return calls > 0
        finally:
            self._pending.discard(key)

    def _uses(self, name: str) -> Iterator[Node | None]:
        """Each call of `name` in the package (the call node), or None for a use that is not
        a call; declarations, comments and strings are skipped."""
        pattern = re.compile(rb"\b" + re.escape(name.encode()) + rb"\b")
        for source in self._sources:
            for match in pattern.finditer(source.data):
                node = source.root.descendant_for_byte_range(match.start(), match.end())
                if node is None or node.type in _NOT_CODE:
                    continue
                if node.type not in ("identifier", "field_identifier"):
                    yield None
                    continue
                parent = node.parent
                if parent is not None and parent.type in _SIGNATURES:
                    continue  # `func name(`, `func (r T) name(`, or `name(...)` in an interface
                yield _called_by(node)

    def _argument_never_cancelled(self, argument: Node, depth: int) -> bool:
        if argument.type == "call_expression":
            package, _, called = (call_name(argument) or "").rpartition(".")
            if package != "context":
                return False
            if called in NEVER_CANCELLED:
                return True
            arguments = call_arguments(argument)
            return (
                called in INHERITS_CANCEL
                and bool(arguments)
                and self._argument_never_cancelled(arguments[0], depth)
            )
        if argument.type != "identifier":
            return False
        name = text(argument)
        # The innermost function that declares the name: a parameter, or a variable it assigns.
        for owner in (a for a in ancestors(argument) if a.type in _FUNCTIONS):
            values = [value for _, value in assignments_to(owner, name)]
            if name in (n for n, _ in function_parameters(owner)):
                if values or owner.type == "func_literal":
                    return False  # reassigned, or a func literal's parameter: caller unknown
                return self.never_cancelled(owner, name, depth + 1)
            if values:
                return all(self._argument_never_cancelled(v, depth) for v in values)
        return False


def _closed_world(function: Node, name: str, main: bool) -> bool:
    """Whether the package holds every caller: an unexported name, or a plain function of
    package main (an exported method there may satisfy another package's interface)."""
    return name[0].islower() or (main and function.type == "function_declaration")


def _called_by(identifier: Node) -> Node | None:
    """The call whose callee is `identifier` (`name(...)` or `x.name(...)`), else None."""
    callee = identifier
    parent = identifier.parent
    if parent is not None and parent.type == "selector_expression":
        if parent.child_by_field_name("field") != identifier:
            return None
        callee, parent = parent, parent.parent
    if (
        parent is not None
        and parent.type == "call_expression"
        and parent.child_by_field_name("function") == callee
    ):
        return parent
    return None


def _spreads(call: Node) -> bool:
    """`f(args...)`: the arguments are not written one by one."""
    arguments = call.child_by_field_name("arguments")
    return arguments is not None and any(c.type == "..." for c in arguments.children)


# Trees of sibling files, by name and bytes: a package is parsed once per worker however many
# of its functions are asked about.
@functools.lru_cache(maxsize=64)
def _parsed(name: str, data: bytes) -> Node:
    return parse_tree(data).root_node
