"""What a transform is: metadata, documentation sections, and a pure match function."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import ClassVar

from tree_sitter import Node

from codemod.go.parse import ParsedFile
from codemod.go.syntax import index_tree, register_candidate_types
from codemod.gomod import ModuleFacts
from codemod.model import Edit, Finding, Fix, Position, Safety
from codemod.package import PackageView, Siblings

# The documentation sections every transform's docstring carries, in order (ruff's layout).
DOC_SECTIONS = (
    "What it does",
    "Why is this bad?",
    "Example",
    "Use instead",
    "Fix safety",
    "Go versions",
)


@dataclass(frozen=True)
class FileContext:
    """Everything a transform may look at for one file; it never touches the disk itself.

    `package` answers questions about the rest of the file's package (codemod.package); the
    engine decides where those files come from (the directory, or a test's sources).
    """

    path: Path
    parsed: ParsedFile
    module: ModuleFacts
    siblings: Siblings = field(default_factory=Siblings.none)

    def __post_init__(self) -> None:
        # The candidate index answers for the tree transforms analyse: this one, not whichever
        # file (a rewrite being checked, a sibling) was parsed last.
        index_tree(self.parsed.root)

    @cached_property
    def package(self) -> PackageView:
        return PackageView.of(self.parsed.root, self.siblings)

    @property
    def source(self) -> bytes:
        return self.parsed.source


class Transform(ABC):
    """One leak-prone idiom and its rewrite. Subclasses set the ClassVars and implement find()."""

    id: ClassVar[str]
    title: ClassVar[str]
    safety: ClassVar[Safety]  # the highest safety any of its findings can have
    # Module language versions the leak exists on: [min_go, max_go), None = unbounded.
    min_go: ClassVar[tuple[int, int] | None] = None
    max_go: ClassVar[tuple[int, int] | None] = None
    tags: ClassVar[tuple[str, ...]] = ()
    # Higher goes first when several transforms fix one declaration: the specific fix (close
    # or buffer the channel) before the general one (a ctx.Done() arm around the operation).
    precedence: ClassVar[int] = 0
    # A file whose bytes do not match this cannot hold the idiom: it is not even parsed.
    prefilter: ClassVar[re.Pattern[bytes] | None] = None
    # Node types find() starts from: one combined query per file finds them for every
    # transform (codemod.go.syntax.descendants_of_type), instead of a walk per transform.
    candidates: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        register_candidate_types(cls.candidates)

    @abstractmethod
    def find(self, ctx: FileContext) -> Iterator[Finding]:
        """Yield findings (with fixes where sure) inside ctx.parsed.clean_declarations."""

    def may_match(self, source: bytes) -> bool:
        return self.prefilter is None or self.prefilter.search(source) is not None

    def applies_to(self, module: ModuleFacts) -> bool:
        if self.min_go is not None and module.go_version < self.min_go:
            return False
        return self.max_go is None or module.go_version < self.max_go

    def finding(
        self,
        ctx: FileContext,
        node: Node,
        message: str,
        safety: Safety,
        fix: Fix | None = None,
    ) -> Finding:
        return Finding(
            transform_id=self.id,
            path=ctx.path,
            start=Position(node.start_point.row + 1, node.start_point.column + 1),
            end=Position(node.end_point.row + 1, node.end_point.column + 1),
            message=message,
            safety=safety if fix is not None else Safety.REPORT_ONLY,
            fix=fix,
        )

    @classmethod
    def documentation(cls) -> dict[str, str]:
        """The docstring split into its '## Section' parts."""
        doc = cls.__doc__ or ""
        sections: dict[str, str] = {}
        for match in re.finditer(r"^## (.+?)\n(.*?)(?=^## |\Z)", _dedent(doc), re.S | re.M):
            sections[match.group(1).strip()] = match.group(2).strip()
        return sections

    @classmethod
    def example_code(cls, section: str) -> str:
        """The ```go block of a documentation section (Example / Use instead)."""
        body = cls.documentation().get(section, "")
        match = re.search(r"```go\n(.*?)```", body, re.S)
        if not match:
            return ""
        # Docstrings indent with spaces; Go source indents with tabs.
        return re.sub(
            r"^((?:    )+)", lambda m: "\t" * (len(m.group(1)) // 4), match.group(1), flags=re.M
        )


def _dedent(doc: str) -> str:
    lines = doc.splitlines()
    indents = [len(line) - len(line.lstrip()) for line in lines[1:] if line.strip()]
    margin = min(indents, default=0)
    return "\n".join([lines[0].strip()] + [line[margin:] for line in lines[1:]]) + "\n"


def insertion(offset: int, text: str) -> Edit:
    return Edit(offset, offset, text)
