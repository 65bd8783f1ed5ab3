"""WaitGroups: which expressions are a `sync.WaitGroup`, through the file's name for the sync
package, struct fields, `&sync.WaitGroup{}` and `new(sync.WaitGroup)`."""

from __future__ import annotations

from tree_sitter import Node

from codemod.go.scope import UniqueDeclaration, unique_declaration
from codemod.go.syntax import call_arguments, text
from codemod.go.types import struct_field_types


def is_waitgroup_type(sync_name: str, node: Node, pointer_ok: bool = False) -> bool:
    """`sync.WaitGroup` as written with the file's name for "sync" (`*sync.WaitGroup` too
    when pointer_ok)."""
    if node.type == "pointer_type" and pointer_ok and node.named_child_count == 1:
        return is_waitgroup_type(sync_name, node.named_children[0])
    if node.type != "qualified_type":
        return False
    package, name = node.child_by_field_name("package"), node.child_by_field_name("name")
    return (
        package is not None
        and name is not None
        and text(package) == sync_name
        and text(name) == "WaitGroup"
    )


def constructs_waitgroup(sync_name: str, value: Node) -> bool:
    """`sync.WaitGroup{}`, `&sync.WaitGroup{}` or `new(sync.WaitGroup)`."""
    if value.type == "unary_expression" and text(value).startswith("&"):
        operand = value.child_by_field_name("operand")
        return operand is not None and constructs_waitgroup(sync_name, operand)
    if value.type == "composite_literal":
        kind = value.child_by_field_name("type")
        body = value.child_by_field_name("body")
        return (
            kind is not None
            and is_waitgroup_type(sync_name, kind)
            and (body is None or body.named_child_count == 0)
        )
    if value.type == "call_expression":
        function = value.child_by_field_name("function")
        arguments = call_arguments(value)
        return (
            function is not None
            and text(function) == "new"
            and len(arguments) == 1
            and is_waitgroup_type(sync_name, arguments[0])
        )
    return False


class WaitGroups:
    """Answers "is this expression a sync.WaitGroup?" from what one file shows."""

    def __init__(self, root: Node, sync_name: str) -> None:
        self.root = root
        self.sync_name = sync_name
        self._fields: dict[str, dict[str, Node]] | None = None

    def is_waitgroup(self, expression: Node) -> bool:
        return self._declaration(expression) is not None

    def owner(self, expression: Node) -> Node | None:
        """The function whose variable (or parameter) the WaitGroup expression starts from."""
        declaration = self._declaration(expression)
        return declaration.function if declaration is not None else None

    def _declaration(self, expression: Node) -> UniqueDeclaration | None:
        if expression.type == "identifier":
            declaration = unique_declaration(text(expression), expression, self.root)
            if declaration is None or not self._declares_waitgroup(declaration):
                return None
            return declaration
        if expression.type != "selector_expression":
            return None
        operand = expression.child_by_field_name("operand")
        field = expression.child_by_field_name("field")
        if operand is None or field is None or operand.type != "identifier":
            return None
        declaration = unique_declaration(text(operand), operand, self.root)
        struct = self._struct_name(declaration) if declaration is not None else None
        if struct is None:
            return None
        field_type = self._struct_fields().get(struct, {}).get(text(field))
        if field_type is None or not is_waitgroup_type(self.sync_name, field_type, pointer_ok=True):
            return None
        return declaration

    def _declares_waitgroup(self, declaration: UniqueDeclaration) -> bool:
        kind = declaration.holder.type
        if kind == "parameter_declaration":
            return (
                declaration.type is not None
                and declaration.type.type == "pointer_type"
                and (is_waitgroup_type(self.sync_name, declaration.type, pointer_ok=True))
            )
        if kind == "var_spec" and declaration.type is not None:
            return is_waitgroup_type(self.sync_name, declaration.type, pointer_ok=True)
        if kind in ("var_spec", "short_var_declaration") and declaration.value is not None:
            return constructs_waitgroup(self.sync_name, declaration.value)
        return False

    def _struct_name(self, declaration: UniqueDeclaration) -> str | None:
        """T for a variable of type T or *T (a struct type of this file), else None."""
        node = declaration.type
        if node is None and declaration.value is not None:
            value = declaration.value
            if value.type == "unary_expression" and text(value).startswith("&"):
                value = value.child_by_field_name("operand") or value
            node = value.child_by_field_name("type") if value.type == "composite_literal" else None
        if node is not None and node.type == "pointer_type" and node.named_child_count == 1:
            node = node.named_children[0]
        if node is None or node.type != "type_identifier":
            return None
        return text(node)

    def _struct_fields(self) -> dict[str, dict[str, Node]]:
        if self._fields is None:
            self._fields = struct_field_types(self.root)
        return self._fields
