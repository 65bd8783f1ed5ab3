"""codemod.go.rewrite: moving and inserting statements keeps their comments and the layout."""

from __future__ import annotations

import pytest
from tree_sitter import Node

from codemod.edits import apply_edits
from codemod.go.goroutines import goroutine_literal
from codemod.go.parse import parse_source
from codemod.go.rewrite import defer_edits, move_before, statement_anchor
from codemod.go.syntax import descendants, text


def parsed(source: str) -> tuple[bytes, Node]:
    data = source.encode()
    return data, parse_source(data).root


def statement(root: Node, written: str) -> Node:
    return next(n for n in descendants(root) if n.is_named and text(n) == written)


MOVE_CASES = [
    (
        "comments travel with the statement",
        "package p\n\nfunc f() {\n\tfor {\n\t\tgo func() {\n\t\t\t// take a slot\n"
        "\t\t\tsem <- 1 // first\n\t\t\twork()\n\t\t}()\n\t}\n}\n",
        "package p\n\nfunc f() {\n\tfor {\n\t\t// take a slot\n\t\tsem <- 1 // first\n"
        "\t\tgo func() {\n\t\t\twork()\n\t\t}()\n\t}\n}\n",
    ),
    (
        "a statement sharing its line is left alone",
        "package p\n\nfunc f() {\n\tgo func() {\n\t\tsem <- 1; work()\n\t}()\n}\n",
        None,
    ),
]


@pytest.mark.parametrize(("name", "before", "after"), MOVE_CASES, ids=[c[0] for c in MOVE_CASES])
def test_move_before(name: str, before: str, after: str | None) -> None:
    source, root = parsed(before)
    moved = statement(root, "sem <- 1")
    anchor = next(n for n in descendants(root) if n.type == "go_statement")
    edits = move_before(source, moved, anchor, "sem <- 1")
    if after is None:
        assert edits is None
        return
    assert edits is not None
    assert apply_edits(source, edits).decode() == after


def test_defer_edits_put_the_statement_first_and_drop_the_removed_one() -> None:
    source, root = parsed(
        "package p\n\nfunc f() {\n\tgo func() {\n\t\twork()\n\t\twg.Done()\n\t}()\n}\n"
    )
    literal = goroutine_literal(next(n for n in descendants(root) if n.type == "go_statement"))
    assert literal is not None
    edits = defer_edits(source, literal, "defer wg.Done()", [statement(root, "wg.Done()")])
    assert edits is not None
    assert apply_edits(source, edits).decode() == (
        "package p\n\nfunc f() {\n\tgo func() {\n\t\tdefer wg.Done()\n\t\twork()\n\t}()\n}\n"
    )


@pytest.mark.parametrize(
    ("before", "anchor_line"),
    [
        # Lines: 1 package, 3 func f() {, 4 the first statement.
        ("\tx()\n\t// why\n\ty()\n", 5),  # above the comment directly above
        ("\tx() // trailing\n\ty()\n", 5),  # a trailing comment of x stays with x
        ("\tx(); y()\n", None),  # shares its line
        ("\tx()\nloop:\n\ty()\n", 5),  # above its label
    ],
)
def test_statement_anchor(before: str, anchor_line: int | None) -> None:
    source, root = parsed(f"package p\n\nfunc f() {{\n{before}}}\n")
    anchor = statement_anchor(source, statement(root, "y()"))
    line = source[:anchor].count(b"\n") + 1 if anchor is not None else None
    assert line == anchor_line
