"""From stacks to leak sites: group, keep the blocked, map to the module, match findings.

A leak site is where blocked goroutines wait, in the module's own code: the innermost frame
that maps to a file of the module (stacks that never enter it are kept, shown at their
innermost frame outside the runtime, and not patched). The transforms run on that file, and
the findings that explain the wait are, in order of preference, those whose range covers
the frame's line, those inside the innermost function around the line, and those inside the
top-level declaration around it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from tree_sitter import Node

from codemod.engine import RunOptions, process_file
from codemod.go.parse import ParsedFile, parse_source
from codemod.go.syntax import FUNCTION_TYPES, ancestors
from codemod.hunks import fix_diff
from codemod.model import FileResult, FileStatus, Finding
from codemod.patch import split_lines
from codemod.triage.mapping import Module, Origin, local_file, origin
from codemod.triage.model import Frame, Report, StackRecord

CONTEXT_LINES = 2
# Frames that say nothing about where user code waits: shown in the stack, never the site.
_RUNTIME_PREFIXES = ("runtime.", "internal/", "runtime/internal/")


@dataclass(frozen=True)
class MatchedFinding:
    """A transform's finding that explains the wait, with its fix alone as a patch."""

    finding: Finding
    title: str
    diff: str | None  # None: report-only, or the fix does not survive the checks


@dataclass(frozen=True)
class SourceLine:
    number: int
    text: str


@dataclass
class LeakSite:
    """Blocked goroutines waiting at one place, and what unleak knows about that place."""

    count: int
    state: str | None  # the wait reason; None when the report does not say
    state_from_source: bool  # inferred from the operation on the line (debug=1 text)
    leaked: bool
    wait_minutes: int | None
    frame: Frame  # the site: the innermost frame in the module (or outside, if none is)
    origin: Origin
    local: Path | None  # the frame's file in this checkout
    stack: tuple[Frame, ...]
    created_by: Frame | None
    source: list[SourceLine] = field(default_factory=list)
    findings: list[MatchedFinding] = field(default_factory=list)
    note: str | None = None  # why the file could not be analysed

    @property
    def status(self) -> str:
        """fix | finding (no fix offered) | no-known-fix | outside-module."""
        if self.local is None:
            return "outside-module"
        if any(m.diff for m in self.findings):
            return "fix"
        return "finding" if self.findings else "no-known-fix"

    @property
    def state_text(self) -> str:
        """`chan send`, or `chan send (read from the line)` when the report names no state."""
        if self.state is None:
            return "an unknown wait"
        return self.state + (" (read from the line)" if self.state_from_source else "")

    @property
    def waited(self) -> str | None:
        if self.wait_minutes is None:
            return None
        return f"{self.wait_minutes} minute{'s' if self.wait_minutes != 1 else ''}"


def leak_sites(
    report: Report, module: Module, use_gofmt: bool = True, options: RunOptions | None = None
) -> list[LeakSite]:
    """Every place blocked goroutines of the report wait, most goroutines first.

    options: which transforms explain a site (--select/--ignore and the config file's choice).
    """
    files = _SourceFiles(use_gofmt, options or RunOptions())
    sites: dict[tuple[object, ...], LeakSite] = {}
    for record in group_records(report.records):
        site = _site(record, module, files)
        if site is None:
            continue
        key = (site.frame.file, site.frame.line, site.frame.function, site.state, site.leaked)
        if key in sites:
            merged = sites[key]
            merged.count += site.count
            merged.wait_minutes = _max(merged.wait_minutes, site.wait_minutes)
        else:
            sites[key] = site
    ordered = sorted(
        sites.values(), key=lambda s: (-s.count, str(s.local or s.frame.file), s.frame.line)
    )
    for site in ordered:
        files.explain(site)
    return ordered


def group_records(records: Iterable[StackRecord]) -> list[StackRecord]:
    """Identical stacks (same frames, state and leak mark) as one record with their count."""
    groups: dict[tuple[object, ...], StackRecord] = {}
    for record in records:
        key = (record.frames, record.state, record.leaked, record.parked_in_hidden_runtime)
        if key in groups:
            seen = groups[key]
            groups[key] = replace(
                seen,
                count=seen.count + record.count,
                wait_minutes=_max(seen.wait_minutes, record.wait_minutes),
                created_by=seen.created_by or record.created_by,
            )
        else:
            groups[key] = record
    return list(groups.values())


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


def _site(record: StackRecord, module: Module, files: _SourceFiles) -> LeakSite | None:
    blocked = record.blocked
    if blocked is False or not record.frames:
        return None
    frame, local = _site_frame(record, module)
    state, from_source = record.state, False
    if state is None and record.parked_in_hidden_runtime:
        # debug=1 text hides the runtime frames that name the wait; the line's operation
        # tells it, when the innermost frame shown is the module's own code.
        parsed = files.parsed(local) if local is not None else None
        if parsed is not None and frame == record.frames[0]:
            state = blocking_operation(parsed, frame.line)
            from_source = state is not None
        if blocked is None and state is None:
            return None
    return LeakSite(
        count=record.count,
        state=state,
        state_from_source=from_source,
        leaked=record.leaked,
        wait_minutes=record.wait_minutes,
        frame=frame,
        origin=origin(frame, module) if local else _outside(frame, module),
        local=local,
        stack=record.frames,
        created_by=record.created_by,
    )


def _outside(frame: Frame, module: Module) -> Origin:
    found = origin(frame, module)
    return Origin.DEPENDENCY if found is Origin.MODULE else found


def _site_frame(record: StackRecord, module: Module) -> tuple[Frame, Path | None]:
    for frame in record.frames:
        local = local_file(frame, module)
        if local is not None:
            return frame, local
    # Never in the module: show the innermost code calling into the standard library.
    outside = [f for f in record.frames if origin(f, module) is not Origin.STANDARD_LIBRARY]
    shown = [f for f in record.frames if not f.function.startswith(_RUNTIME_PREFIXES)]
    return (outside or shown or list(record.frames))[0], None


class _SourceFiles:
    """The module's files a triage looks at, each read, parsed and analysed once."""

    def __init__(self, use_gofmt: bool, options: RunOptions) -> None:
        self.use_gofmt = use_gofmt
        self.options = options
        self._parsed: dict[Path, ParsedFile | None] = {}
        self._results: dict[Path, FileResult] = {}

    def parsed(self, path: Path) -> ParsedFile | None:
        if path not in self._parsed:
            try:
                self._parsed[path] = parse_source(path.read_bytes())
            except OSError:
                self._parsed[path] = None
        return self._parsed[path]

    def analysed(self, path: Path) -> FileResult:
        if path not in self._results:
            self._results[path] = process_file(path, self.options)
        return self._results[path]

    def explain(self, site: LeakSite) -> None:
        """The site's source lines and the findings (with their fixes) that explain it."""
        if site.local is None:
            return
        parsed = self.parsed(site.local)
        if parsed is None:
            site.note = "cannot read the file"
            return
        site.source = source_lines(parsed.source, site.frame.line)
        result = self.analysed(site.local)
        if result.status in (FileStatus.SKIPPED, FileStatus.FAILED):
            site.note = result.reason
            return
        for finding in matching_findings(parsed, result.findings, site.frame.line):
            diff = fix_diff(site.local, parsed, finding, self.use_gofmt)
            site.findings.append(MatchedFinding(finding, _title(finding.transform_id), diff))


def _title(transform_id: str) -> str:
    from transforms import transform_by_id

    transform = transform_by_id(transform_id)
    return transform.title if transform else transform_id


def matching_findings(parsed: ParsedFile, findings: Sequence[Finding], line: int) -> list[Finding]:
    """The findings that explain a wait on `line`: covering it, else in its function, else in
    its top-level declaration; nearest first."""
    covering = [f for f in findings if f.start.line <= line <= f.end.line]
    if covering:
        return _nearest(covering, line)
    node = _node_at_line(parsed, line)
    if node is None:
        return []
    functions = [a for a in ancestors(node) if a.type in FUNCTION_TYPES]
    scopes = functions[:1] + [a for a in ancestors(node) if a.parent == parsed.root][:1]
    for scope in scopes:
        inside = [f for f in findings if _within(f, scope)]
        if inside:
            return _nearest(inside, line)
    return []


def _nearest(findings: list[Finding], line: int) -> list[Finding]:
    return sorted(findings, key=lambda f: (abs(f.start.line - line), f.sort_key))


def _within(finding: Finding, node: Node) -> bool:
    return (
        node.start_point.row + 1 <= finding.start.line
        and finding.end.line <= node.end_point.row + 1
    )


def _node_at_line(parsed: ParsedFile, line: int) -> Node | None:
    """The smallest node at the first non-blank character of the line."""
    lines = parsed.source.split(b"\n")
    if not 1 <= line <= len(lines):
        return None
    text = lines[line - 1]
    column = len(text) - len(text.lstrip())
    point = (line - 1, column)
    return parsed.root.descendant_for_point_range(point, point)


def blocking_operation(parsed: ParsedFile, line: int) -> str | None:
    """The wait a goroutine parked on this line is in: the channel operation or select there.

    Operations of the line's own statement come first; those inside a func literal on the
    line (`go func() { ch <- v }()`) are the closure's, parked on the same line.
    """
    node = _node_at_line(parsed, line)
    if node is None:
        return None
    statement = node
    while statement.parent is not None and statement.parent.start_point.row == line - 1:
        statement = statement.parent
    found: list[tuple[bool, str]] = []  # (inside a func literal, operation)
    stack = [(statement, False)]
    while stack:
        current, nested = stack.pop()
        if current.start_point.row != line - 1:
            continue
        operation = _operation(current)
        if operation is not None:
            found.append((nested, operation))
        nested = nested or current.type == "func_literal"
        stack.extend((child, nested) for child in current.children)
    for nested in (False, True):
        for state in ("select", "chan send", "chan receive"):
            if (nested, state) in found:
                return state
    return None


def _operation(node: Node) -> str | None:
    if node.type == "send_statement":
        return "chan send"
    if node.type == "select_statement":
        return "select"
    if node.type == "range_clause":
        return "chan receive"  # parked in a range: the range is over a channel
    if node.type == "unary_expression":
        operator = node.child_by_field_name("operator")
        if operator is not None and operator.type == "<-":
            return "chan receive"
    return None


def source_lines(source: bytes, line: int, context: int = CONTEXT_LINES) -> list[SourceLine]:
    # Numbered as Go numbers lines: at "\n" only (splitlines also breaks at U+2028, a lone CR).
    text = source.decode("utf-8", errors="replace")
    lines = [line.removesuffix("\n").removesuffix("\r") for line in split_lines(text)]
    first, last = max(1, line - context), min(len(lines), line + context)
    return [SourceLine(n, lines[n - 1]) for n in range(first, last + 1)]
