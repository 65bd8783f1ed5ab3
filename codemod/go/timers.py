"""The time package: whether `time` in a file is the standard package."""

from __future__ import annotations

from tree_sitter import Node

from codemod.go.syntax import (
    descendants,
    import_specs,
    text,
)


def imports_time(root: Node) -> bool:
    """`time` in this file can only be the standard package: no other import answers to the
    name, and "time" is not imported under another one (a file without the import does not
    compile, which gofmt cannot tell: it is taken as written)."""
    plain, renamed = False, False
    for path, name in import_specs(root):
        if path == "time":
            plain = plain or name in (None, "time")
            renamed = renamed or name not in (None, "time")
        elif name == "time":
            return False  # another package answers to `time`
    return plain or not renamed


def time_is_shadowed(declaration: Node) -> bool:
    """Some `time` in the declaration is not the package (a parameter, a local...)."""
    for node in descendants(declaration):
        if node.type == "identifier" and text(node) == "time":
            parent = node.parent
            if parent is None or parent.type != "selector_expression":
                return True
            if parent.child_by_field_name("operand") != node:
                return True
    return False
