"""Scopes: which declaration a name refers to at a point, and the references of a declaration.

Two questions with two answers, kept apart because transforms rely on each:

- `resolve` is lexical: the innermost declaration visible at a node, as the Go compiler binds
  it (earlier statements of enclosing blocks, initialisers, range and select clauses,
  signatures), through enclosing func literals up to the named function;
- `unique_declaration` searches function by function outwards and answers only when the
  innermost function holding a declaration of the name holds exactly one (shadowing it does
  not try to resolve), then the package's `var` declarations.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tree_sitter import Node

from codemod.go.syntax import (
    FUNCTION_TYPES,
    ancestors,
    descendants,
    descendants_outside_functions,
    enclosing_function,
    text,
)


@dataclass(frozen=True)
class Declaration:
    """A name a statement, clause or signature declares, as lexical resolution sees it."""

    name: str
    identifier: Node
    type: Node | None  # the written type, if any
    value: Node | None  # the expression bound (a call for `a, b := f()`)
    index: int  # which of the call's results, for multi-value calls
    # What it is scoped to: its block's statement list, the if / for / switch / select case
    # whose clause declares it, or the function whose signature does.
    owner: Node


def visible(node: Node) -> Iterator[Declaration]:
    """Declarations visible at node, innermost first; shadowed outer ones are yielded too."""
    child = node
    for ancestor in ancestors(node):
        kind = ancestor.type
        if kind == "statement_list":
            preceding = []
            for statement in ancestor.named_children:
                if statement == child:
                    break
                preceding.append(statement)
            for statement in reversed(preceding):
                yield from declared_by_statement(statement, ancestor)
        elif kind in ("if_statement", "expression_switch_statement", "type_switch_statement"):
            initializer = ancestor.child_by_field_name("initializer")
            if initializer is not None and initializer != child:
                yield from declared_by_statement(initializer, ancestor)
            alias = ancestor.child_by_field_name("alias")
            if kind == "type_switch_statement" and alias is not None:
                for name in alias.named_children:
                    yield Declaration(text(name), name, None, None, 0, ancestor)
        elif kind == "for_statement":
            for clause in ancestor.named_children:
                if clause == child:
                    continue
                if clause.type == "for_clause":
                    initializer = clause.child_by_field_name("initializer")
                    if initializer is not None:
                        yield from declared_by_statement(initializer, ancestor)
                elif clause.type == "range_clause":
                    yield from declared_by_range(clause, ancestor)
        elif kind == "communication_case":
            communication = ancestor.child_by_field_name("communication")
            if communication is not None and communication != child:
                yield from declared_by_statement(communication, ancestor)
        elif kind in FUNCTION_TYPES:
            yield from declared_by_signature(ancestor)
            if kind != "func_literal":
                return
        child = ancestor


def declared_by_statement(statement: Node, owner: Node) -> Iterator[Declaration]:
    kind = statement.type
    if kind in ("short_var_declaration", "receive_statement"):
        if not any(c.type == ":=" for c in statement.children):
            return
        left, right = statement.child_by_field_name("left"), statement.child_by_field_name("right")
        if left is None or right is None:
            return
        values = right.named_children if right.type == "expression_list" else [right]
        names = left.named_children
        for index, name in enumerate(names):
            if name.type != "identifier":
                continue
            if len(values) == len(names):
                yield Declaration(text(name), name, None, values[index], 0, owner)
            else:
                yield Declaration(
                    text(name), name, None, values[0] if values else None, index, owner
                )
    elif kind in ("var_declaration", "const_declaration"):
        for spec in descendants(statement):
            if spec.type not in ("var_spec", "const_spec"):
                continue
            names = spec.children_by_field_name("name")
            type_node = spec.child_by_field_name("type")
            value = spec.child_by_field_name("value")
            values = value.named_children if value is not None else []
            for index, name in enumerate(names):
                bound: Node | None = values[0] if values else None
                if len(values) == len(names):
                    bound = values[index]
                position = 0 if len(values) == len(names) else index
                yield Declaration(text(name), name, type_node, bound, position, owner)
    elif kind == "labeled_statement":
        inner = statement.named_children[-1] if statement.named_child_count else None
        if inner is not None and inner.type != "label_name":
            yield from declared_by_statement(inner, owner)


def declared_by_range(clause: Node, owner: Node) -> Iterator[Declaration]:
    left = clause.child_by_field_name("left")
    if left is None or not any(c.type == ":=" for c in clause.children):
        return
    for name in left.named_children:
        yield Declaration(text(name), name, None, None, 0, owner)


def declared_by_signature(function: Node) -> Iterator[Declaration]:
    for field_name in ("parameters", "result", "receiver", "type_parameters"):
        holder = function.child_by_field_name(field_name)
        if holder is None or holder.type not in ("parameter_list", "type_parameter_list"):
            continue
        for declaration in holder.named_children:
            type_node = declaration.child_by_field_name("type")
            for name in declaration.children_by_field_name("name"):
                yield Declaration(text(name), name, type_node, None, 0, function)


def resolve(name: str, node: Node) -> Declaration | None:
    return next((d for d in visible(node) if d.name == name), None)


def references(declaration: Declaration) -> Iterator[Node]:
    """Every identifier in the declaration's scope that refers to it. The name declared by a
    shadowing `x := ...` is among them: at its own position the outer `x` is visible."""
    body = declaration.owner.child_by_field_name("body")
    scope = body if body is not None else declaration.owner
    for node in descendants(scope):
        if (
            node.type == "identifier"
            and node != declaration.identifier
            and text(node) == declaration.name
            and resolve(declaration.name, node) == declaration
        ):
            yield node


@dataclass(frozen=True)
class UniqueDeclaration:
    """Where a name is declared: its function (None at package level) and declaring node."""

    function: Node | None
    holder: Node  # parameter_declaration, var_spec, short_var_declaration, or another binder
    type: Node | None
    value: Node | None


def unique_declaration(name: str, use: Node, root: Node) -> UniqueDeclaration | None:
    """The one declaration `name` refers to at `use`, searching outwards function by
    function; None when it is not found or declared more than once in one function (shadowing
    we do not try to resolve)."""
    function = enclosing_function(use)
    while function is not None:
        for declaration in _parameter_lists(function):
            for parameter in declaration.named_children:
                if parameter.type not in (
                    "parameter_declaration",
                    "variadic_parameter_declaration",
                ):
                    continue
                if any(text(n) == name for n in parameter.children_by_field_name("name")):
                    return UniqueDeclaration(
                        function, parameter, parameter.child_by_field_name("type"), None
                    )
        body = function.child_by_field_name("body")
        found = [d for d in _local_declarations(body, name, function)] if body else []
        if len(found) > 1:
            return None
        if found:
            return found[0]
        function = enclosing_function(function)
    at_top = [
        d
        for child in root.named_children
        if child.type == "var_declaration"
        for d in _local_declarations(child, name, None)
    ]
    return at_top[0] if len(at_top) == 1 else None


def _parameter_lists(function: Node) -> list[Node]:
    fields = ("receiver", "parameters", "result")
    found = [function.child_by_field_name(f) for f in fields]
    return [n for n in found if n is not None and n.type == "parameter_list"]


def _local_declarations(
    scope: Node, name: str, function: Node | None
) -> Iterator[UniqueDeclaration]:
    """Declarations of `name` in scope, not inside nested func literals."""
    for node in descendants_outside_functions(scope):
        if node.type == "var_spec":
            names = node.children_by_field_name("name")
            for index, identifier in enumerate(names):
                if text(identifier) == name:
                    value = _nth_value(node.child_by_field_name("value"), index, len(names))
                    yield UniqueDeclaration(function, node, node.child_by_field_name("type"), value)
        elif node.type == "const_spec":
            if any(text(n) == name for n in node.children_by_field_name("name")):
                yield UniqueDeclaration(function, node, None, None)
        elif node.type in ("short_var_declaration", "range_clause", "receive_statement"):
            left = node.child_by_field_name("left")
            if left is None or not any(c.type == ":=" for c in node.children):
                continue
            targets = [c for c in left.named_children if c.type != "comment"]
            for index, identifier in enumerate(targets):
                if identifier.type == "identifier" and text(identifier) == name:
                    value = (
                        _nth_value(node.child_by_field_name("right"), index, len(targets))
                        if node.type == "short_var_declaration"
                        else None
                    )
                    yield UniqueDeclaration(function, node, None, value)
        elif node.type == "type_switch_statement":
            alias = node.child_by_field_name("alias")
            if alias is not None and any(text(n) == name for n in alias.named_children):
                yield UniqueDeclaration(function, node, None, None)


def _nth_value(values: Node | None, index: int, count: int) -> Node | None:
    if values is None:
        return None
    named = [c for c in values.named_children if c.type != "comment"]
    return named[index] if len(named) == count else None


def identifier_names(declaration: Node) -> set[str]:
    return {
        text(node)
        for node in descendants(declaration)
        if node.type in ("identifier", "type_identifier", "package_identifier")
    }


def free_name(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    number = 2
    while f"{base}{number}" in taken:
        number += 1
    return f"{base}{number}"
