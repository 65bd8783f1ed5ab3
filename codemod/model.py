"""The values that flow through the pipeline: findings, fixes, edits and file results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path


class Safety(enum.IntEnum):
    """How far a fix may be trusted; ordered so that a threshold compares (ruff's applicability)."""

    REPORT_ONLY = 0  # no fix is offered, only the finding
    REVIEW = 1  # a fix exists but changes behaviour beyond the leak: applied with --unsafe
    SAFE = 2  # behaviour-preserving except that the leak goes away: applied by default

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")

    @classmethod
    def from_label(cls, label: str) -> Safety:
        return cls[label.upper().replace("-", "_")]


@dataclass(frozen=True, order=True)
class Edit:
    """Replace source bytes [start, end) with text; an insertion has start == end."""

    start: int
    end: int
    text: str

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad edit range {self.start}..{self.end}")


@dataclass(frozen=True)
class Fix:
    """The edits that remove one finding's leak, plus the imports they need."""

    edits: tuple[Edit, ...]
    description: str
    imports: tuple[str, ...] = ()
    # Imports the edits may leave unused: dropped when nothing refers to them any more.
    imports_maybe_unused: tuple[str, ...] = ()
    # Go modules the edited code needs: (module path, minimum version) for go.mod.
    requires: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Position:
    """1-based line and column (column counted in bytes, as Go tools do)."""

    line: int
    column: int


@dataclass(frozen=True)
class Finding:
    """One leak-prone idiom at one place, with the fix when the transform is sure of one."""

    transform_id: str
    path: Path
    start: Position
    end: Position
    message: str
    safety: Safety
    fix: Fix | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (str(self.path), self.start.line, self.start.column, self.transform_id)


class FileStatus(enum.Enum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass
class FileResult:
    """How one file ended: every path that enters the pipeline leaves as exactly one of these."""

    path: Path
    status: FileStatus
    findings: list[Finding] = field(default_factory=list)
    original: bytes | None = None
    rewritten: bytes | None = None
    reason: str | None = None  # why a file was skipped or failed, or a fix dropped
    notes: list[str] = field(default_factory=list)  # non-fatal messages (dropped fixes)
    declarations_skipped: int = 0  # top-level declarations with parse errors, left alone
    applied: list[Finding] = field(default_factory=list)  # findings whose fix is in `rewritten`
    gomod: Path | None = None  # the go.mod governing this file
    created: bool = False  # the file does not exist yet (a new go.sum)

    @property
    def requires(self) -> set[tuple[str, str]]:
        return {r for finding in self.applied if finding.fix for r in finding.fix.requires}
