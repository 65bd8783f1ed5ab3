"""Small questions about tree-sitter-go nodes that every transform asks."""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

FUNCTION_TYPES = frozenset({"function_declaration", "method_declaration", "func_literal"})
LOOP_TYPES = frozenset({"for_statement"})


def text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8") if raw is not None else ""


def descendants(node: Node) -> Iterator[Node]:
    """Every node below `node` (not itself), in source order."""
    cursor = node.walk()
    if not cursor.goto_first_child():
        return
    while True:
        current = cursor.node
        assert current is not None
        yield current
        if cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent() or cursor.node == node:
                return


def descendants_outside_functions(node: Node) -> Iterator[Node]:
    """Nodes below `node` that are not inside a nested func literal (its own body only)."""
    stack = list(reversed(node.children))
    while stack:
        current = stack.pop()
        yield current
        if current.type != "func_literal":
            stack.extend(reversed(current.children))


def ancestors(node: Node) -> Iterator[Node]:
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def enclosing_function(node: Node) -> Node | None:
    for ancestor in ancestors(node):
        if ancestor.type in FUNCTION_TYPES:
            return ancestor
    return None


def is_identifier(node: Node | None, name: str) -> bool:
    return node is not None and node.type == "identifier" and text(node) == name


def line_indent(source: bytes, offset: int) -> str:
    """The leading whitespace of the line that holds byte `offset`."""
    line_start = source.rfind(b"\n", 0, offset) + 1
    end = line_start
    while end < len(source) and source[end : end + 1] in (b" ", b"\t"):
        end += 1
    return source[line_start:end].decode("utf-8")


def statement_list(block: Node) -> Node | None:
    for child in block.named_children:
        if child.type == "statement_list":
            return child
    return None


def call_name(call: Node) -> str | None:
    """`close` for close(x), `time.After` for time.After(d); None for other callees."""
    function = call.child_by_field_name("function")
    if function is None:
        return None
    if function.type in ("identifier", "selector_expression"):
        return text(function)
    return None


def call_arguments(call: Node) -> list[Node]:
    arguments = call.child_by_field_name("arguments")
    return [] if arguments is None else [a for a in arguments.named_children if a.type != "comment"]


def function_parameters(function: Node) -> list[tuple[str, Node]]:
    """(name, parameter_declaration) for each named parameter of a function or func literal."""
    parameters = function.child_by_field_name("parameters")
    result: list[tuple[str, Node]] = []
    if parameters is None:
        return result
    for declaration in parameters.named_children:
        if declaration.type not in ("parameter_declaration", "variadic_parameter_declaration"):
            continue
        for child in declaration.children_by_field_name("name"):
            result.append((text(child), declaration))
    return result
