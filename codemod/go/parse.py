"""Parse: source bytes -> tree-sitter-go tree, and the top-level declarations safe to edit."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from tree_sitter import Node, Parser, Tree

from codemod.go.language import GO_LANGUAGE


@lru_cache(maxsize=1)
def _parser() -> Parser:
    # One parser per process: creating it is cheap, but not free across thousands of files.
    return Parser(GO_LANGUAGE)


@dataclass(frozen=True)
class ParsedFile:
    source: bytes
    tree: Tree
    clean_declarations: tuple[Node, ...]  # top-level declarations without ERROR/MISSING nodes
    declarations_with_errors: int

    @property
    def root(self) -> Node:
        return self.tree.root_node

    def error_ranges(self) -> list[tuple[int, int]]:
        return error_ranges(self.tree)


def parse_tree(source: bytes) -> Tree:
    """A bare parse, for files that are only read (a package's other files)."""
    return _parser().parse(source)


def parse_source(source: bytes) -> ParsedFile:
    tree = _parser().parse(source)
    clean: list[Node] = []
    broken = 0
    for child in tree.root_node.named_children:
        if child.type == "comment":
            continue
        if child.has_error or child.type == "ERROR":
            broken += 1
        else:
            clean.append(child)
    return ParsedFile(source, tree, tuple(clean), broken)


def error_ranges(tree: Tree) -> list[tuple[int, int]]:
    """Byte ranges of ERROR and MISSING nodes, outermost only."""
    ranges: list[tuple[int, int]] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if not node.has_error:
            continue
        if node.type == "ERROR" or node.is_missing:
            ranges.append((node.start_byte, node.end_byte))
            continue
        stack.extend(node.children)
    return sorted(ranges)
