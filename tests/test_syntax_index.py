"""The per-tree index (combined candidate query, lazy preorder) answers like a plain walk."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tree_sitter import Node

import transforms  # defining the transforms registers their candidate types
from codemod.go import syntax
from codemod.go.parse import parse_source
from codemod.gomod import ModuleFacts
from codemod.transform import FileContext

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GO_FILES = sorted(p for p in FIXTURES.rglob("*.go"))
REGISTERED = sorted(syntax._CANDIDATE_TYPES)


def plain_walk(node: Node) -> list[Node]:
    return list(syntax._walk(node))


def all_nodes(root: Node) -> list[Node]:
    return [root, *plain_walk(root)]


def test_every_transform_registers_its_candidates() -> None:
    for transform in transforms.ALL_TRANSFORMS:
        assert transform.candidates, f"{transform.id} declares no candidate node types"
        assert transform.candidates <= syntax._CANDIDATE_TYPES


@settings(max_examples=200, deadline=None)
@given(
    file_index=st.integers(min_value=0, max_value=len(GO_FILES) - 1),
    picks=st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), min_size=1, max_size=8),
    types=st.frozensets(st.sampled_from([*REGISTERED, "identifier", "block"]), min_size=1),
)
def test_descendants_of_type_matches_a_walk(
    file_index: int, picks: list[float], types: frozenset[str]
) -> None:
    parsed = parse_source(GO_FILES[file_index].read_bytes())
    nodes = all_nodes(parsed.root)
    for pick in picks:
        node = nodes[int(pick * len(nodes))]
        expected = [n for n in plain_walk(node) if n.type in types]
        assert syntax.descendants_of_type(node, types) == expected


@pytest.mark.parametrize("path", GO_FILES, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_every_node_of_every_fixture_gets_the_walk_answer(path: Path) -> None:
    """Exhaustive over the fixtures: a node whose parent has the same span (a call and its
    expression_statement) once got its parent back; sampling found that only by luck."""
    parsed = parse_source(path.read_bytes())
    registered = frozenset(REGISTERED)
    for node in all_nodes(parsed.root):
        expected = [n for n in plain_walk(node) if n.type in registered]
        assert syntax.descendants_of_type(node, registered) == expected, node


def test_a_call_does_not_hold_its_own_statement() -> None:
    parsed = parse_source(b"package p\n\nfunc f() {\n\tg()\n}\n")
    statement = next(n for n in plain_walk(parsed.root) if n.type == "expression_statement")
    call = statement.named_children[0]
    assert call.type == "call_expression" and call.byte_range == statement.byte_range
    wanted = frozenset({"expression_statement", "call_expression"})
    assert syntax.descendants_of_type(call, wanted) == []
    assert syntax.descendants_of_type(statement, wanted) == [call]


@settings(max_examples=200, deadline=None)
@given(
    file_index=st.integers(min_value=0, max_value=len(GO_FILES) - 1),
    picks=st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), min_size=1, max_size=30),
)
def test_descendants_matches_a_walk_in_any_call_order(file_index: int, picks: list[float]) -> None:
    """Small subtrees are walked directly until the whole preorder pays off: same answers."""
    parsed = parse_source(GO_FILES[file_index].read_bytes())
    nodes = all_nodes(parsed.root)
    for pick in picks:
        node = nodes[int(pick * len(nodes))]
        assert list(syntax.descendants(node)) == plain_walk(node)


def test_registered_types_come_from_the_query_not_a_walk() -> None:
    source = b"package p\n\nfunc f(ch chan int) {\n\tgo func() { ch <- 1 }()\n\t<-ch\n}\n"
    parsed = parse_source(source)
    wanted = frozenset({"go_statement", "send_statement"})
    # Parsing alone does not move the index; analysing a file (its FileContext) does.
    FileContext(Path("a.go"), parsed, ModuleFacts(None, (1, 22), None))
    found = syntax._INDEX.of_types(parsed.root, wanted)
    assert found is not None and [n.type for n in found] == ["go_statement", "send_statement"]
    # Checking a rewrite parses it: the index stays on the file being analysed.
    rewritten = parse_source(source + b"\n")
    assert syntax._INDEX.of_types(parsed.root, wanted) is not None
    # A node of an older tree (an earlier fix round) is not answered from the current index.
    FileContext(Path("a.go"), rewritten, ModuleFacts(None, (1, 22), None))
    assert syntax._INDEX.of_types(parsed.root, wanted) is None
    assert [n.type for n in syntax.descendants_of_type(parsed.root, wanted)] == [
        "go_statement",
        "send_statement",
    ]
