"""Edits that move or insert Go statements, keeping their comments and the file's layout."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from codemod.go.syntax import (
    line_indent,
    statements_of,
    text,
)
from codemod.model import Edit


@dataclass(frozen=True)
class Line:
    """The source line of one statement: [start, end) with its newline, and the `//`
    comment that trails the statement on it ("" when there is none)."""

    start: int
    end: int
    comment: str


def whole_line(source: bytes, node: Node) -> Line | None:
    """The line holding `node` and at most a trailing comment; None if it holds more."""
    start = source.rfind(b"\n", 0, node.start_byte) + 1
    end = source.find(b"\n", node.end_byte)
    end = len(source) if end < 0 else end
    rest = source[node.end_byte : end].strip()
    if source[start : node.start_byte].strip() or (rest and not rest.startswith(b"//")):
        return None
    return Line(start, min(end + 1, len(source)), rest.decode("utf-8"))


def with_comment(statement_text: str, comment: str) -> str:
    return f"{statement_text} {comment}" if comment else statement_text


def deletes_block_content(statement: Node) -> bool:
    """Whether deleting `statement` would leave its block empty."""
    holder = statement.parent
    return holder is not None and all(
        c == statement or c.type == "comment" for c in holder.named_children
    )


@dataclass(frozen=True)
class Span:
    """A statement's lines with the `//` comment lines right above it: [start, end), the
    comments above, and the comment trailing the statement ("" when none)."""

    start: int
    end: int
    above: list[str]
    trailing: str

    def moved(self, statement_text: str) -> list[str]:
        return [*self.above, with_comment(statement_text, self.trailing)]


def statement_span(source: bytes, statement: Node) -> Span | None:
    line = whole_line(source, statement)
    if line is None or deletes_block_content(statement):
        return None
    comments: list[str] = []
    start, row = line.start, statement.start_point.row
    above = _sibling_above(statement)
    while above is not None and above.type == "comment" and text(above).startswith("//"):
        above_line = whole_line(source, above)
        if above_line is None or above.end_point.row + 1 != row:
            break
        comments.insert(0, text(above))
        start, row = above_line.start, above.start_point.row
        above = _sibling_above(above)
    return Span(start, line.end, comments, line.comment)


def move_before(
    source: bytes, statement: Node, anchor: Node, statement_text: str
) -> list[Edit] | None:
    """Delete `statement` (with its comments) and insert `statement_text` with those
    comments just before `anchor`, which must start its line; None where the layout does
    not allow it."""
    span = statement_span(source, statement)
    anchor_line = source.rfind(b"\n", 0, anchor.start_byte) + 1
    if span is None or source[anchor_line : anchor.start_byte].strip():
        return None
    indent = line_indent(source, anchor.start_byte)
    inserted = "".join(f"{piece}\n{indent}" for piece in span.moved(statement_text))
    return [Edit(anchor.start_byte, anchor.start_byte, inserted), Edit(span.start, span.end, "")]


def _sibling_above(node: Node) -> Node | None:
    """The node before `node` in its block (comments before a block's first statement sit
    outside its statement_list)."""
    above = node.prev_named_sibling
    if above is None and node.parent is not None and node.parent.type == "statement_list":
        above = node.parent.prev_named_sibling
    return above


def defer_edits(
    source: bytes, literal: Node, statement_text: str, removed: list[Node]
) -> list[Edit] | None:
    """Insert `statement_text` as the first statement of a func literal and delete the
    `removed` statements; None where the layout does not allow a clean edit."""
    body = literal.child_by_field_name("body")
    statements = statements_of(body)
    if body is None or not statements or statements[0].start_point.row == body.start_point.row:
        return None
    edits = []
    commented: list[Span] = []
    for statement in removed:
        span = statement_span(source, statement)
        if span is None:
            return None
        edits.append(Edit(span.start, span.end, ""))
        commented += [span] if span.above or span.trailing else []
    if len(commented) > 1:
        return None  # which comments would go with the new statement?
    end_of_line = source.index(b"\n", body.start_byte)
    inner = line_indent(source, literal.start_byte) + "\t"
    pieces = commented[0].moved(statement_text) if commented else [statement_text]
    edits.append(Edit(end_of_line, end_of_line, "".join(f"\n{inner}{p}" for p in pieces)))
    return edits


def statement_anchor(source: bytes, statement: Node) -> int | None:
    """Where to insert statements that must run just before `statement`: the start of its
    line, above its label and the comments directly above it; None if it shares its line."""
    target = statement
    if target.parent is not None and target.parent.type == "labeled_statement":
        target = target.parent
    if target.parent is None or target.parent.type != "statement_list":
        return None
    line_start = source.rfind(b"\n", 0, target.start_byte) + 1
    if source[line_start : target.start_byte].strip():
        return None
    previous = _previous_node(target)
    while (
        previous is not None
        and previous.type == "comment"
        and previous.end_point.row + 1 == target.start_point.row
    ):
        start = source.rfind(b"\n", 0, previous.start_byte) + 1
        if source[start : previous.start_byte].strip():
            break  # a trailing comment of the statement before
        target, line_start = previous, start
        previous = _previous_node(target)
    return line_start


def _previous_node(node: Node) -> Node | None:
    """The node just before, looking out of a statement list to the comments that open its
    block (tree-sitter leaves those outside the list)."""
    if node.prev_sibling is not None:
        return node.prev_sibling
    parent = node.parent
    return parent.prev_sibling if parent is not None and parent.type == "statement_list" else None


def alone_on_lines(source: bytes, node: Node) -> bool:
    """The node starts its line and nothing but a line comment follows it on its last line."""
    line_start = source.rfind(b"\n", 0, node.start_byte) + 1
    if source[line_start : node.start_byte].strip():
        return False
    line_end = source.find(b"\n", node.end_byte)
    rest = source[node.end_byte : line_end if line_end != -1 else len(source)].strip()
    return not rest or rest.startswith(b"//")


def trailing_comment(node: Node) -> tuple[int, str]:
    """(end of the replaced range, ` // comment`) for a line comment after node on its line:
    it stays with the operation it describes when the operation is rewritten."""
    following = node.next_sibling
    if (
        following is not None
        and following.type == "comment"
        and following.start_point.row == node.end_point.row
        and text(following).startswith("//")
    ):
        return following.end_byte, " " + text(following)
    return node.end_byte, ""
