"""Small questions about tree-sitter-go nodes that every transform asks."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from tree_sitter import Node, Query, QueryCursor

from codemod.go.language import GO_LANGUAGE

FUNCTION_TYPES = frozenset({"function_declaration", "method_declaration", "func_literal"})
LOOP_TYPES = frozenset({"for_statement"})


def text(node: Node) -> str:
    raw = node.text
    return raw.decode("utf-8") if raw is not None else ""


def text_or_empty(node: Node | None) -> str:
    """The node's text; "" for a missing node (an optional field that is absent)."""
    return text(node) if node is not None else ""


class _TreeIndex:
    """What transforms ask of the tree being analysed, answered from one pass each.

    Walking a tree from Python costs about a microsecond a node. Transforms start from a few
    node types (`go` statements, sends, calls, declarations): one combined tree-sitter query,
    run in C, finds every node of those types in the file, and each transform takes its own
    types from that list. The full preorder (a subtree is a slice of it) is built only when a
    transform looks closer at a candidate.
    """

    def __init__(self) -> None:
        self.root: Node | None = None
        self.preorder: list[Node] = []
        self.position: dict[int, int] = {}
        self.candidates: list[Node] | None = None
        self.candidate_starts: list[int] = []
        self.walked = 0  # nodes walked directly before the preorder was built

    def use(self, root: Node) -> None:
        self.root, self.preorder, self.position = root, [], {}
        self.candidates, self.candidate_starts, self.walked = None, [], 0

    def subtree(self, node: Node) -> list[Node] | None:
        if self.root is None:
            return None
        if not self.preorder:
            # Walk small subtrees (an import block, one function) directly until the nodes
            # walked add up to the tree: then the whole preorder pays for itself.
            size = node.descendant_count
            if self.walked + size < self.root.descendant_count:
                self.walked += size
                return None
            self.preorder = [self.root, *_walk(self.root)]
            self.position = {n.id: i for i, n in enumerate(self.preorder)}
        index = self.position.get(node.id)
        if index is None or self.preorder[index] != node:
            return None  # a node of another tree (an earlier round): walk it
        return self.preorder[index + 1 : index + node.descendant_count]

    def of_types(self, node: Node, types: frozenset[str]) -> list[Node] | None:
        """Candidates of `types` strictly below `node`; None when the index cannot answer."""
        if self.root is None or not types <= _CANDIDATE_TYPES or _root_of(node) != self.root:
            return None
        if self.candidates is None:
            captured = QueryCursor(_candidate_query()).captures(self.root)
            found = [n for nodes in captured.values() for n in nodes]
            # Source order, an enclosing node before the nodes it holds (preorder).
            found.sort(key=lambda n: (n.start_byte, -n.end_byte, -n.descendant_count))
            self.candidates = found
            self.candidate_starts = [n.start_byte for n in found]
        low = bisect_left(self.candidate_starts, node.start_byte)
        high = bisect_right(self.candidate_starts, node.end_byte)
        return [
            n
            for n in self.candidates[low:high]
            if n.type in types
            and n.end_byte <= node.end_byte
            and (
                # A node sharing a boundary may be `node`'s parent of the same span (the
                # expression_statement around a call) or an empty sibling: ask the tree.
                (n.start_byte != node.start_byte and n.end_byte != node.end_byte)
                or _is_strictly_below(n, node)
            )
        ]


# Node types transforms start their search from (Transform.candidates): the combined query
# captures exactly these. Asking for another type falls back to a walk, correct but slower.
_CANDIDATE_TYPES: frozenset[str] = frozenset()
_INDEX = _TreeIndex()


def register_candidate_types(types: frozenset[str]) -> None:
    """Add node types to the combined candidate query (called as transforms are defined)."""
    global _CANDIDATE_TYPES
    if not types <= _CANDIDATE_TYPES:
        _CANDIDATE_TYPES = _CANDIDATE_TYPES | types
        _candidate_query.cache_clear()


@lru_cache(maxsize=1)
def _candidate_query() -> Query:
    alternatives = " ".join(f"({kind})" for kind in sorted(_CANDIDATE_TYPES))
    return Query(GO_LANGUAGE, f"[{alternatives}] @candidate")


def _is_strictly_below(node: Node, ancestor: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent == ancestor:
            return True
        parent = parent.parent
    return False


def _root_of(node: Node) -> Node:
    while (parent := node.parent) is not None:
        node = parent
    return node


def index_tree(root: Node) -> None:
    """Make `root`'s tree the one descendants() and descendants_of_type() answer from (a
    FileContext does, for the file transforms analyse; parsing alone does not)."""
    _INDEX.use(root)


def descendants(node: Node) -> Iterator[Node]:
    """Every node below `node` (not itself), in source order."""
    subtree = _INDEX.subtree(node)
    return iter(subtree) if subtree is not None else _walk(node)


def descendants_of_type(node: Node, types: frozenset[str]) -> list[Node]:
    """The nodes below `node` whose type is in `types`, in source order.

    Answered from the combined candidate query when every type is registered there.
    """
    found = _INDEX.of_types(node, types)
    if found is None:
        found = [n for n in _walk(node) if n.type in types]
    return found


def _walk(node: Node) -> Iterator[Node]:
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


def receive_operand(node: Node | None) -> Node | None:
    """`ch` of the receive expression `<-ch`; None for any other node."""
    if node is None or node.type != "unary_expression":
        return None
    operator = node.child_by_field_name("operator")
    if operator is None or operator.type != "<-":
        return None
    return node.child_by_field_name("operand")


def call_arguments(call: Node) -> list[Node]:
    arguments = call.child_by_field_name("arguments")
    return [] if arguments is None else [a for a in arguments.named_children if a.type != "comment"]


def assignments_to(owner: Node, name: str) -> Iterator[tuple[Node, Node]]:
    """(statement, value) for each `name := v`, `name = v` and `var name = v` in the body of a
    function; the value is the statement itself when it cannot be told apart (a multi-value
    call, `name, err = f()`)."""
    body = owner.child_by_field_name("body")
    for node in descendants(body) if body is not None else ():
        if node.type not in ("short_var_declaration", "assignment_statement", "var_spec"):
            continue
        if node.type == "var_spec":
            targets = node.children_by_field_name("name")
            right = node.child_by_field_name("value")
        else:
            left = node.child_by_field_name("left")
            targets = left.named_children if left is not None else []
            right = node.child_by_field_name("right")
        values = right.named_children if right is not None else []
        for position, target in enumerate(targets):
            if target.type == "identifier" and text(target) == name:
                yield node, values[position] if len(values) == len(targets) else node


def made_channel_type(node: Node) -> Node | None:
    """The `chan T` of `make(chan T, ...)`; None for any other expression."""
    if node.type != "call_expression" or call_name(node) != "make":
        return None
    arguments = call_arguments(node)
    return arguments[0] if arguments and arguments[0].type == "channel_type" else None


def is_bidirectional(channel_type: Node) -> bool:
    """`chan T`, not `chan<- T` or `<-chan T`: only that one can be both sent on and closed."""
    return _BIDIRECTIONAL.match(text(channel_type)) is not None


_BIDIRECTIONAL = re.compile(r"chan\b(?!\s*<-)")


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


def is_declaration(identifier: Node) -> bool:
    """Whether this identifier declares a name (parameter, var, `:=`), rather than uses one."""
    parent = identifier.parent
    if parent is None:
        return False
    if parent.type in ("parameter_declaration", "variadic_parameter_declaration", "var_spec"):
        return any(n == identifier for n in parent.children_by_field_name("name"))
    if parent.type == "expression_list" and parent.parent is not None:
        holder = parent.parent
        if holder.type in ("short_var_declaration", "range_clause", "receive_statement"):
            operator = next((c for c in holder.children if c.type in (":=", "=")), None)
            return (
                operator is not None
                and operator.type == ":="
                and holder.child_by_field_name("left") == parent
            )
    return False


def has_goto(body: Node) -> bool:
    """A `goto` in this body (not in nested func literals): control flow we do not model."""
    return any(n.type == "goto_statement" for n in descendants_outside_functions(body))


def inside_loop(node: Node, function: Node) -> bool:
    """Whether a `for` statement of `function` (not of a nested func literal) encloses node."""
    for ancestor in ancestors(node):
        if ancestor == function or ancestor.type in FUNCTION_TYPES:
            return False
        if ancestor.type == "for_statement":
            return True
    return False


def import_specs(root: Node) -> Iterator[tuple[str | None, str | None]]:
    """(import path, the name it is imported under when written) for each import of the file;
    the path is None where the parse lost it."""
    for declaration in root.named_children:
        if declaration.type != "import_declaration":
            continue
        for spec in descendants(declaration):
            if spec.type != "import_spec":
                continue
            path_node, alias = spec.child_by_field_name("path"), spec.child_by_field_name("name")
            yield (
                text(path_node).strip('"`') if path_node is not None else None,
                text(alias) if alias is not None else None,
            )


def imported_name(root: Node, path: str) -> str | None:
    """The name a file refers to an imported package by; None if not imported or `_`/`.`."""
    for imported, alias in import_specs(root):
        if imported != path:
            continue
        name = alias if alias is not None else path.rsplit("/", 1)[-1]
        return None if name in ("_", ".") else name
    return None


SINGLE_DECLARATION_TYPES = frozenset({"short_var_declaration", "var_spec"})
register_candidate_types(SINGLE_DECLARATION_TYPES)


def single_declarations(root: Node) -> Iterator[tuple[Node, Node, Node]]:
    """(statement, name, value) for every `x := v` and `var x = v` declaring one name.

    The statement is the whole declaration (a `var (...)` group only when it holds just
    this spec), so it can be moved or replaced as a unit.
    """
    for node in descendants_of_type(root, SINGLE_DECLARATION_TYPES):
        statement: Node | None
        if node.type == "short_var_declaration":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            names = left.named_children if left is not None else []
            statement = node
        elif node.type == "var_spec":
            right = node.child_by_field_name("value")
            names = node.children_by_field_name("name")
            statement = node.parent
            if statement is not None and statement.type == "var_spec_list":
                if statement.named_child_count != 1:
                    continue
                statement = statement.parent
        else:
            continue
        if right is None or statement is None or len(names) != 1 or right.named_child_count != 1:
            continue
        if names[0].type == "identifier":
            yield statement, names[0], right.named_children[0]


@dataclass(frozen=True)
class MadeChannel:
    """`name := make(chan T...)` (or `var name = ...`): statement, name, call, enclosing list."""

    statement: Node
    name: Node
    call: Node
    scope: Node  # the statement_list holding `statement`: the channel's scope ends with it


def channel_makes(declaration: Node, accept: Callable[[Node], bool]) -> Iterator[MadeChannel]:
    """Every single-name declaration in a statement list whose value `accept` takes.

    A one-name spec of a `var ( ... )` group counts too, with the group as its statement:
    a transform that only edits the `make` needs no statement of its own.
    """
    for statement, name, value in single_declarations(declaration):
        scope = statement.parent
        if accept(value) and scope is not None and scope.type == "statement_list":
            yield MadeChannel(statement, name, value, scope)
    for spec in descendants_of_type(declaration, frozenset({"var_spec"})):
        group, names = spec.parent, spec.children_by_field_name("name")
        right = spec.child_by_field_name("value")
        holder = group.parent if group is not None else None
        scope = holder.parent if holder is not None else None
        if (
            group is None
            or group.type != "var_spec_list"
            or group.named_child_count == 1  # single_declarations took it
            or holder is None
            or scope is None
            or scope.type != "statement_list"
            or right is None
            or len(names) != 1
            or names[0].type != "identifier"
            or right.named_child_count != 1
            or not accept(right.named_children[0])
        ):
            continue
        # A later spec of the group that uses the channel is before uses_in_scope starts.
        if any(s != spec and mentions(s, text(names[0])) for s in group.named_children):
            continue
        yield MadeChannel(holder, names[0], right.named_children[0], scope)


def uses_in_scope(made: MadeChannel) -> Iterator[Node]:
    """Every identifier spelled like the channel from its declaration to the end of its block."""
    name = text(made.name)
    after = False
    for statement in made.scope.named_children:
        if statement == made.statement:
            after = True
        elif after:
            for node in descendants(statement):
                if node.type == "identifier" and text(node) == name:
                    yield node


def mentions(node: Node, name: str) -> bool:
    """`node` is, or holds, an identifier spelled `name`."""
    if node.type == "identifier":
        return text(node) == name
    return any(n.type == "identifier" and text(n) == name for n in descendants(node))


def received_channel(statement: Node) -> Node | None:
    """The channel of `<-ch` written as a statement (the value is dropped); None otherwise."""
    if statement.type != "expression_statement" or statement.named_child_count != 1:
        return None
    expression = statement.named_children[0]
    operator = expression.child_by_field_name("operator")
    if expression.type != "unary_expression" or operator is None or operator.type != "<-":
        return None
    return expression.child_by_field_name("operand")


def statements_of(block: Node | None) -> list[Node]:
    """The statements of a block (comments left out)."""
    statements = statement_list(block) if block is not None else None
    if statements is None:
        return []
    return [s for s in statements.named_children if s.type != "comment"]
