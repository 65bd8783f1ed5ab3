"""Types a file declares: its top-level type declarations by name, the fields of its struct
types, and the zero value of a type as Go source."""

from __future__ import annotations

from tree_sitter import Node

from codemod.go.syntax import FUNCTION_TYPES, ancestors, descendants, text


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


# The zero value of each predeclared type that has a literal one.
ZERO_BASIC = {
    **dict.fromkeys(
        (
            "int",
            "int8",
            "int16",
            "int32",
            "int64",
            "uint",
            "uint8",
            "uint16",
            "uint32",
            "uint64",
            "uintptr",
            "float32",
            "float64",
            "complex64",
            "complex128",
            "byte",
            "rune",
        ),
        "0",
    ),
    "string": '""',
    "bool": "false",
    "error": "nil",
    "any": "nil",
}
NIL_TYPES = frozenset(
    {"pointer_type", "slice_type", "map_type", "channel_type", "function_type", "interface_type"}
)


def type_parameters_around(function: Node) -> set[str]:
    """Type parameter names of the function and of every function around it."""
    found: set[str] = set()
    for holder in (function, *ancestors(function)):
        if holder.type not in FUNCTION_TYPES:
            continue
        parameters = holder.child_by_field_name("type_parameters")
        if parameters is not None:
            for declaration in parameters.named_children:
                found.update(text(n) for n in declaration.children_by_field_name("name"))
        receiver = holder.child_by_field_name("receiver")
        if receiver is not None:
            # func (s *Set[T]) ...: T is a type parameter of the method.
            for node in descendants(receiver):
                if node.type == "type_arguments":
                    found.update(text(a) for a in node.named_children)
    return found


def zero_value(
    type_node: Node, types: dict[str, Node], type_parameters: set[str], depth: int = 0
) -> str | None:
    """A literal zero value for the type, written as Go source; None when the type is not
    declared in sight. types: the file's top-level types (top_level_types); type_parameters:
    names that are type parameters here (type_parameters_around), zero as `*new(T)`."""
    kind = type_node.type
    written = text(type_node)
    if kind == "parenthesized_type" and type_node.named_child_count == 1:
        return zero_value(type_node.named_children[0], types, type_parameters, depth)
    if kind in NIL_TYPES or written == "interface{}":
        return "nil"
    if kind in ("struct_type", "array_type") and "\n" not in written:
        return written + "{}"
    if kind == "type_identifier" and written in type_parameters:
        return f"*new({written})"
    if kind == "generic_type":
        base = type_node.child_by_field_name("type")
        spec = types.get(text(base)) if base is not None else None
        underlying = spec.child_by_field_name("type") if spec is not None else None
        if underlying is not None and underlying.type == "struct_type":
            return written + "{}"
        return None
    if kind != "type_identifier":
        return None
    if written in types and depth < 4:
        spec = types[written]
        underlying = spec.child_by_field_name("type")
        if underlying is None or spec.child_by_field_name("type_parameters") is not None:
            return None
        if underlying.type in ("struct_type", "array_type"):
            return written + "{}"
        return zero_value(underlying, types, set(), depth + 1)
    return ZERO_BASIC.get(written)
