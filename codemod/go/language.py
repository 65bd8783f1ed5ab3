"""The tree-sitter-go language and its compiled queries, shared by parse and syntax."""

from __future__ import annotations

from functools import lru_cache

import tree_sitter_go
from tree_sitter import Language, Query

GO_LANGUAGE = Language(tree_sitter_go.language())


@lru_cache(maxsize=256)
def compile_query(source: str) -> Query:
    """Queries are compiled once per process and shared by every file."""
    return Query(GO_LANGUAGE, source)
