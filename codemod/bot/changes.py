"""The fix run behind `unleak pr`: `unleak fix --write`, one transform at a time, in a worktree.

Each transform runs alone on the result of the ones before it (highest precedence first, as
the engine orders fixes inside a declaration), so its changes can be committed on their own.
A pass over all transforms repeats while one of them still changes something, because a
fix can expose another idiom; the engine's own rounds do the same inside one run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from codemod.bot.fingerprint import fingerprint
from codemod.config import Config
from codemod.discover import DiscoveryError, discover
from codemod.engine import RunOptions, run, selected_transforms
from codemod.model import FileResult, FileStatus, Safety
from codemod.requirements import gomod_results
from codemod.sinks.write import ChangedUnderneath, write_atomically
from codemod.transform import Transform

MAX_PASSES = 3


class FixRunError(Exception):
    """The fix run could not complete: a path it cannot use, a file it cannot write."""


@dataclass(frozen=True)
class FileChange:
    path: str  # relative to the repository root, with `/`
    # (line, safety) of each fix, the line in the file as it was before the fixes
    fixes: tuple[tuple[int, Safety], ...]
    created: bool = False
    fingerprints: tuple[str, ...] = ()  # of the fixes, for the pull request body


@dataclass(frozen=True)
class TransformChange:
    """What one transform changed in one pass: becomes one commit."""

    transform: Transform
    files: tuple[FileChange, ...]

    @property
    def fix_count(self) -> int:
        return sum(len(f.fixes) for f in self.files)

    @property
    def safeties(self) -> list[Safety]:
        """The safety levels of the applied fixes, highest first."""
        return sorted({s for f in self.files for _, s in f.fixes}, reverse=True)

    @property
    def fingerprints(self) -> list[str]:
        return [fp for f in self.files for fp in f.fingerprints]


@dataclass
class Rejected:
    """Fixes a human rejected (closed their pull request): `fingerprints` are left out of the
    run, and `left_out` collects those the run met again."""

    fingerprints: frozenset[str] = frozenset()
    left_out: set[str] = field(default_factory=set)


def ordered_transforms(options: RunOptions) -> list[Transform]:
    """The selected transforms, highest precedence first (the engine's order in a declaration)."""
    return sorted(selected_transforms(options), key=lambda t: -t.precedence)


def fix_steps(
    root: Path,
    target: Path,
    options: RunOptions,
    config: Config,
    jobs: int | None,
    notes: list[str],
    rejected: Rejected | None = None,
) -> Iterator[TransformChange]:
    """Write each transform's fixes under root and yield them; the caller commits in between.

    `notes` collects what the user should hear about: dropped fixes, unreadable files.
    """
    transforms = ordered_transforms(options)
    rejected = rejected or Rejected()
    for _ in range(MAX_PASSES):
        changed_any = False
        for transform in transforms:
            only = replace(options, select=frozenset({transform.id}), fix=True)
            change = _fix_one(root, target, transform, only, config, jobs, notes, rejected)
            if change is not None:
                changed_any = True
                yield change
        if not changed_any:
            return


def _fix_one(
    root: Path,
    target: Path,
    transform: Transform,
    options: RunOptions,
    config: Config,
    jobs: int | None,
    notes: list[str],
    rejected: Rejected,
) -> TransformChange | None:
    try:
        discovery = discover([str(target)])
    except DiscoveryError as error:
        raise FixRunError(str(error)) from None
    files = [f for f in discovery.files if not config.excludes(f)]
    proposals = _proposals(root, files, transform, options, jobs)
    results: list[FileResult] = []
    for result in _run_without(files, proposals, options, jobs, rejected):
        notes.extend(f"{_relative(result.path, root)}: {note}" for note in result.notes)
        if result.status is FileStatus.FAILED:
            notes.append(f"{_relative(result.path, root)}: skipped: {result.reason}")
        if result.status is FileStatus.CHANGED:
            results.append(result)
    # go.mod and go.sum come last: they depend on which fixes were applied in every file.
    modules = gomod_results(r for r in results if r.requires)
    for result in modules:
        notes.extend(f"{_relative(result.path, root)}: {note}" for note in result.notes)
    results.extend(modules)
    if not results:
        return None
    changes = []
    for result in results:
        assert result.original is not None and result.rewritten is not None
        try:
            write_atomically(result.path, result.original, result.rewritten, result.created)
        except (ChangedUnderneath, OSError) as error:
            raise FixRunError(f"cannot write {_relative(result.path, root)}: {error}") from None
        fixes = sorted(
            (f.start.line, f.safety) for f in result.applied if f.transform_id == transform.id
        )
        lines = {line for line, _ in fixes}
        # The fixes of the first round are those the scan before the run saw, at their lines.
        prints = tuple(
            sorted(fp for line, fp in proposals.get(str(result.path), []) if line in lines)
        )
        changes.append(
            FileChange(_relative(result.path, root), tuple(fixes), result.created, prints)
        )
    return TransformChange(transform, tuple(sorted(changes, key=lambda c: c.path)))


def _proposals(
    root: Path, files: Sequence[Path], transform: Transform, options: RunOptions, jobs: int | None
) -> dict[str, list[tuple[int, str]]]:
    """(line, fingerprint) of every fix the run would apply first, per file: a scan."""
    found: dict[str, list[tuple[int, str]]] = {}
    for result in run(files, replace(options, fix=False), jobs):
        for finding in result.findings:
            fixable = finding.fix is not None and finding.safety >= options.apply_threshold
            if finding.transform_id != transform.id or not fixable or result.original is None:
                continue
            print_ = fingerprint(finding, _relative(result.path, root), result.original)
            found.setdefault(str(result.path), []).append((finding.start.line, print_))
    return found


def _run_without(
    files: Sequence[Path],
    proposals: dict[str, list[tuple[int, str]]],
    options: RunOptions,
    jobs: int | None,
    rejected: Rejected,
) -> Iterator[FileResult]:
    """The fix run, with the rejected fixes left out: a file holding one is fixed only on its
    other lines (the engine's changed-lines scope, as --diff-base uses)."""
    allowed: dict[str, frozenset[int]] = {}
    for path, found in proposals.items():
        refused = {line for line, fp in found if fp in rejected.fingerprints}
        rejected.left_out.update(fp for _, fp in found if fp in rejected.fingerprints)
        if refused:
            count = Path(path).read_bytes().count(b"\n") + 1
            allowed[str(Path(path).resolve())] = frozenset(range(1, count + 1)) - refused
    free = [f for f in files if str(f.resolve()) not in allowed]
    yield from run(free, options, jobs)
    if allowed:
        limited = replace(options, scope=replace(options.scope, changed_lines=allowed))
        yield from run([f for f in files if str(f.resolve()) in allowed], limited, jobs)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
