"""Types a file declares: its top-level type declarations by name, and the fields of its
struct types."""

from __future__ import annotations

from tree_sitter import Node

from codemod.go.syntax import descendants, text


def top_level_types(root: Node) -> dict[str, Node]:
    """Type name -> its `type_spec` or `type_alias`, for the file's top-level declarations."""
    types: dict[str, Node] = {}
    for declaration in root.named_children:
        if declaration.type != "type_declaration":
            continue
        for spec in declaration.named_children:
            name = spec.child_by_field_name("name")
            if spec.type in ("type_spec", "type_alias") and name is not None:
                types[text(name)] = spec
    return types


def struct_field_types(root: Node) -> dict[str, dict[str, Node]]:
    """Struct name -> field name -> field type, for every non-generic struct type the file
    declares, function-local ones included; a name declared twice (in different scopes)
    maps to no fields, since which one a use means is not known here."""
    structs: dict[str, dict[str, Node]] = {}
    for spec in descendants(root):
        if spec.type != "type_spec" or spec.child_by_field_name("type_parameters"):
            continue
        name, kind = spec.child_by_field_name("name"), spec.child_by_field_name("type")
        if name is None or kind is None or kind.type != "struct_type":
            continue
        fields: dict[str, Node] = {}
        declared = kind.named_children[0] if kind.named_child_count else None
        for field in declared.named_children if declared is not None else ():
            field_type = field.child_by_field_name("type")
            if field.type != "field_declaration" or field_type is None:
                continue
            for field_name in field.children_by_field_name("name"):
                fields[text(field_name)] = field_type
        structs[text(name)] = {} if text(name) in structs else fields
    return structs
