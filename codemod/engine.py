"""The pipeline for one file (read -> parse -> match -> edit -> check) and the parallel driver."""

from __future__ import annotations

import bisect
import multiprocessing
import os
import re
import signal
import stat
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from tree_sitter import Node

from codemod import cache
from codemod.changed import carry_lines
from codemod.edits import OverlappingEdits, apply_edits, conflicts, follow_line_endings
from codemod.go.parse import ParsedFile, parse_source
from codemod.gomod import ModuleFacts, module_facts_for
from codemod.imports import ImportConflict, import_edits, unused_import_edits
from codemod.model import Edit, FileResult, FileStatus, Finding, Safety
from codemod.package import Siblings
from codemod.rounds import landed
from codemod.scope import FileScope
from codemod.suppress import MARKER, UNUSED_IGNORE_ID, apply_suppressions
from codemod.transform import FileContext, Transform
from codemod.verify import RewriteRejected, check_rewrite

# https://go.dev/s/generatedcode: the marker must come before the first non-comment text.
GENERATED_MARKER = re.compile(rb"^// Code generated .* DO NOT EDIT\.\r?$", re.MULTILINE)
GENERATED_REASON = "generated file (// Code generated ... DO NOT EDIT.)"
MAX_FILE_BYTES = 16 * 1024 * 1024
UNPARSED_NOTE = "the file does not parse as it is"
UNPARSED_CHECK = "its fixes were checked with tree-sitter only, as scan reads it"
# A fix can expose another (or two fixes can collide); re-match until nothing more applies.
MAX_FIX_ROUNDS = 10


@dataclass(frozen=True)
class RunOptions:
    """What to run and how far to trust fixes; crosses process boundaries, so plain data only."""

    select: frozenset[str] | None = None  # None: every transform
    ignore: frozenset[str] = frozenset()
    fix: bool = False  # compute rewritten sources
    apply_threshold: Safety = Safety.SAFE  # --unsafe lowers it to REVIEW
    use_gofmt: bool = True
    go_version: tuple[int, int] | None = None  # override the go.mod version
    extra: dict[str, str] = field(default_factory=dict)
    # Per-path ignores (config) and changed lines (--diff-base).
    scope: FileScope = field(default_factory=FileScope)
    report_unused_ignores: bool = False  # `//unleak:ignore` that silences nothing is a finding
    require_ignore_reason: bool = False  # `//unleak:ignore` without a reason is a finding
    use_cache: bool = False  # scan results from codemod/cache.py (scan only; never with fix)


def selected_transforms(options: RunOptions) -> list[Transform]:
    from transforms import ALL_TRANSFORMS

    return [
        transform
        for transform in ALL_TRANSFORMS
        if (options.select is None or transform.id in options.select)
        and transform.id not in options.ignore
    ]


@dataclass(frozen=True)
class Unusable:
    """Why a file cannot go through the pipeline; `failed` for I/O errors (exit 2)."""

    reason: str
    failed: bool = False


def read_go_file(path: Path) -> bytes | Unusable:
    """The file's bytes, or why it must be skipped."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            # A FIFO or device named .go would block or never end.
            return Unusable("not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            return Unusable(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
        source = path.read_bytes()
    except OSError as error:
        return Unusable(f"cannot read: {error.strerror or error}", failed=True)
    if b"\0" in source:
        return Unusable("binary file (contains NUL bytes)")
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as error:
        return Unusable(f"not valid UTF-8 (byte {error.start})")
    if is_generated(source):
        return Unusable(GENERATED_REASON)
    return source


def is_generated(source: bytes) -> bool:
    if b"// Code generated " not in source:
        return False  # a substring test is far cheaper than the multiline regex
    match = GENERATED_MARKER.search(source)
    if match is None:
        return False
    package = re.search(rb"^package\s", source, re.MULTILINE)
    return package is None or match.start() < package.start()


def find_all(
    path: Path,
    parsed: ParsedFile,
    module: ModuleFacts,
    transforms: Sequence[Transform],
    lines: frozenset[int] | None = None,
    report_unused_ignores: bool = False,
    siblings: Siblings | None = None,
    require_ignore_reason: bool = False,
) -> list[Finding]:
    ctx = FileContext(path, parsed, module, siblings or Siblings.none())
    findings: list[Finding] = []
    for transform in transforms:
        if transform.applies_to(module):
            findings.extend(transform.find(ctx))
    findings = [f for f in findings if _inside_clean_declaration(f, parsed)]
    # Suppressed findings are neither reported nor fixed: filter before fixes are chosen.
    active = [t.id for t in transforms]
    findings = apply_suppressions(
        path, parsed, findings, active, report_unused_ignores, require_ignore_reason
    )
    if lines is not None:
        findings = [f for f in findings if f.start.line in lines]
    return sorted(findings, key=lambda f: f.sort_key)


def _inside_clean_declaration(finding: Finding, parsed: ParsedFile) -> bool:
    if finding.fix is None:
        return True
    return all(
        (declaration := _declaration_at(parsed, edit.start)) is not None
        and edit.end <= declaration.end_byte
        for edit in finding.fix.edits
    )


def _declaration_at(parsed: ParsedFile, offset: int) -> Node | None:
    """The clean top-level declaration holding offset (ends included), by bisection: a file
    with thousands of findings must not scan every declaration for each."""
    declarations = parsed.clean_declarations
    index = bisect.bisect_right(declarations, offset, key=lambda d: d.start_byte) - 1
    # Declarations do not overlap, but one may end where the next starts: the earlier wins.
    if index > 0 and declarations[index - 1].end_byte >= offset:
        index -= 1
    if index >= 0 and declarations[index].end_byte >= offset:
        return declarations[index]
    return None


def choose_fixes(
    findings: list[Finding],
    threshold: Safety,
    parsed: ParsedFile,
    one_transform_per_declaration: bool = False,
) -> tuple[list[Finding], list[Edit], list[str]]:
    """The fixes to apply this round, their merged edits (imports included) and notes on drops.

    With one_transform_per_declaration, a declaration takes fixes from one transform per
    round, the one of highest precedence: the others are matched again on the rewritten code
    next round, where a more specific fix (a buffered channel) may have made theirs (a select
    on ctx.Done() around the send) unnecessary.
    """
    accepted: list[Finding] = []
    edits: list[Edit] = []
    taken = _TakenRanges()
    imports: set[str] = set()
    notes: list[str] = []
    owner: dict[int, str] = {}  # declaration start byte -> the transform fixing it this round
    precedence = {t.id: t.precedence for t in _all_transforms()}
    ordered = sorted(findings, key=lambda f: -precedence.get(f.transform_id, 0))
    for finding in ordered:
        if finding.fix is None or finding.safety < threshold:
            continue
        if any(taken.conflicts_with(mine) for mine in finding.fix.edits):
            continue  # picked up again by the next round, on the rewritten source
        # Deleting an unused //unleak:ignore is found in the first round only: never deferred.
        if one_transform_per_declaration and finding.transform_id != UNUSED_IGNORE_ID:
            declaration = _declaration_start(parsed, finding.fix.edits[0].start)
            if owner.setdefault(declaration, finding.transform_id) != finding.transform_id:
                continue
        accepted.append(finding)
        edits.extend(finding.fix.edits)
        taken.add(finding.fix.edits)
        imports.update(finding.fix.imports)
    if imports:
        try:
            edits.extend(import_edits(parsed, tuple(sorted(imports))))
        except ImportConflict as error:
            notes.append(f"fixes dropped: cannot add import ({error})")
            return [], [], notes
    return accepted, edits, notes


class _TakenRanges:
    """The edits accepted so far, sorted, so that a new edit is checked against its neighbours
    only: checking it against every accepted edit made fixing N findings take N^2 time."""

    def __init__(self) -> None:
        self.edits: list[Edit] = []

    def add(self, edits: Sequence[Edit]) -> None:
        for edit in edits:
            bisect.insort(self.edits, edit)

    def conflicts_with(self, edit: Edit) -> bool:
        # Accepted edits do not conflict, so in sorted order each ends before the next starts:
        # only the neighbours that reach the edit's range can conflict with it.
        index = bisect.bisect_left(self.edits, edit)
        for earlier in range(index - 1, -1, -1):
            if self.edits[earlier].end < edit.start:
                break
            if conflicts(edit, self.edits[earlier]):
                return True
        for later in range(index, len(self.edits)):
            if self.edits[later].start > edit.end:
                break
            if conflicts(edit, self.edits[later]):
                return True
        return False


def _all_transforms() -> tuple[Transform, ...]:
    from transforms import ALL_TRANSFORMS

    return ALL_TRANSFORMS


def _declaration_start(parsed: ParsedFile, offset: int) -> int:
    declaration = _declaration_at(parsed, offset)
    return -1 if declaration is None else declaration.start_byte


def drop_unused_imports(source: bytes, fixes_from: list[Finding]) -> bytes:
    candidates = tuple(sorted({p for f in fixes_from if f.fix for p in f.fix.imports_maybe_unused}))
    if not candidates:
        return source
    return apply_edits(source, unused_import_edits(parse_source(source), candidates))


def process_source(
    path: Path,
    source: bytes,
    module: ModuleFacts,
    options: RunOptions,
    siblings: Siblings | None = None,
) -> FileResult:
    """One file through match, edit and check. siblings: the rest of its package (none when
    not given: a source with no directory)."""
    siblings = siblings or Siblings.none()
    ignored = options.scope.ignored_ids(path)
    applicable = [
        t for t in selected_transforms(options) if t.applies_to(module) and t.id not in ignored
    ]
    # An unused suppression is judged by running every applicable transform, even those
    # whose prefilter rules the file out, so that each one is known to have found nothing.
    judge_ignores = options.report_unused_ignores and MARKER in source
    transforms = applicable if judge_ignores else [t for t in applicable if t.may_match(source)]
    require_reason = options.require_ignore_reason and MARKER in source
    if not transforms and not judge_ignores and not require_reason:
        return FileResult(path=path, status=FileStatus.UNCHANGED, original=source)
    parsed = parse_source(source)
    lines = options.scope.lines(path)
    findings = find_all(
        path,
        parsed,
        module,
        transforms,
        lines,
        report_unused_ignores=judge_ignores,
        siblings=siblings,
        require_ignore_reason=require_reason,
    )
    result = FileResult(
        path=path,
        status=FileStatus.UNCHANGED,
        findings=findings,
        original=source,
        declarations_skipped=parsed.declarations_with_errors,
        gomod=module.gomod_path,
    )
    if not options.fix:
        return result
    current = parsed
    first_round: list[Finding] = []
    later_rounds: list[tuple[bytes, list[Finding]]] = []  # (the round's source, its fixes)
    for _ in range(MAX_FIX_ROUNDS):
        accepted, edits, notes = choose_fixes(
            find_all(path, current, module, transforms, lines, siblings=siblings)
            if current is not parsed
            else findings,
            options.apply_threshold,
            current,
            one_transform_per_declaration=True,
        )
        result.notes.extend(notes)
        if not accepted:
            break
        try:
            edits = follow_line_endings(current.source, edits)
            rewritten = drop_unused_imports(apply_edits(current.source, edits), accepted)
            checked = check_rewrite(parsed, rewritten, options.use_gofmt)
        except (RewriteRejected, OverlappingEdits) as error:
            ids = ", ".join(sorted({f.transform_id for f in accepted}))
            result.notes.append(f"fix dropped ({ids}): {error}")
            break
        if checked.original_rejected is not None and not any(
            n.startswith(UNPARSED_NOTE) for n in result.notes
        ):
            position = checked.original_rejected.removeprefix("<standard input>:")
            result.notes.append(f"{UNPARSED_NOTE} (gofmt: {position}); {UNPARSED_CHECK}")
        if current is parsed:
            first_round = accepted
        else:
            later_rounds.append((current.source, accepted))
        if lines is not None:
            lines = carry_lines(current.source, checked.source, lines)
        current = checked.parsed
    # Report the reported finding a later round fixed as applied, not the moved copy of it.
    result.applied = landed(findings, first_round, later_rounds, source)
    if current is not parsed:
        result.status = FileStatus.CHANGED
        result.rewritten = current.source
    return result


def process_file(path: Path, options: RunOptions) -> FileResult:
    """One file through the whole pipeline; never raises for bad input."""
    read = read_go_file(path)
    if isinstance(read, Unusable):
        status = FileStatus.FAILED if read.failed else FileStatus.SKIPPED
        return FileResult(path=path, status=status, reason=read.reason)
    module = module_facts_for(path)
    if options.go_version is not None:
        module = replace(module, go_version=options.go_version)
    try:
        if (
            options.use_cache
            and not options.fix
            and options.scope.changed_lines is None
            and not options.require_ignore_reason  # not part of the cache key
        ):
            result = cached_scan(path, read, module, options)
        else:
            result = process_source(path, read, module, options, Siblings.of_file(path, read))
    except RecursionError:
        return FileResult(path=path, status=FileStatus.FAILED, reason="nesting too deep to analyse")
    if result.status is FileStatus.UNCHANGED and not result.findings:
        result.original = None  # nothing downstream needs the bytes; keep IPC small
    return result


def cached_scan(path: Path, source: bytes, module: ModuleFacts, options: RunOptions) -> FileResult:
    """process_source for a scan, answered from the cache when this exact input was seen."""
    ignored = options.scope.ignored_ids(path)
    ids = [
        t.id for t in selected_transforms(options) if t.applies_to(module) and t.id not in ignored
    ]
    key = cache.entry_key(path, source, module, ids, options.report_unused_ignores)
    directory = cache.cache_dir()
    siblings = Siblings.of_file(path, source)
    hit = cache.load(directory, key, path, len(source), siblings.digest_like)
    if hit is not None:
        findings, skipped = hit
        return FileResult(
            path=path,
            status=FileStatus.UNCHANGED,
            findings=findings,
            original=source,
            declarations_skipped=skipped,
            gomod=module.gomod_path,
        )
    result = process_source(path, source, module, options, siblings)
    package = siblings.recorded_digest()
    cache.store(directory, key, result.findings, result.declarations_skipped, package)
    return result


def _process_chunk(paths: list[Path], options: RunOptions) -> list[FileResult]:
    return [process_file(path, options) for path in paths]


def run(
    paths: Sequence[Path], options: RunOptions, jobs: int | None = None
) -> Iterator[FileResult]:
    """Results in the order of `paths`, streamed as they are ready."""
    jobs = jobs or os.cpu_count() or 1
    if jobs <= 1 or len(paths) < 64:
        for path in paths:
            yield process_file(path, options)
        return
    # Chunks amortise the per-task IPC; small enough that results still stream.
    chunk_size = max(8, min(256, len(paths) // (jobs * 8)))
    chunks = [list(paths[i : i + chunk_size]) for i in range(0, len(paths), chunk_size)]
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_start_worker)
    try:
        for results in pool.map(_process_chunk, chunks, [options] * len(chunks)):
            yield from results
    except BaseException:  # Ctrl-C, TERM, or the consumer stopped: the rest is not wanted
        _stop_workers(pool)
        raise
    pool.shutdown()


def _start_worker() -> None:
    """Pool initializer: the parent answers Ctrl-C and TERM by ending its workers; a worker
    whose parent died without doing so (kill -9) exits instead of waiting for work forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    # join() waits for EOF on a pipe the parent holds open (any start method); under fork,
    # later siblings hold it too, and they exit the same way, first.
    parent.join()
    os._exit(1)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """End the workers now; shutdown alone would wait for every chunk already queued."""
    workers = list((pool._processes or {}).values())  # terminate_workers() from Python 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.join(timeout=5)
