"""The command line: scan, fix, list, explain. stdout carries only the report or the patch."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import click

from codemod import __version__
from codemod.discover import DiscoveryError, discover
from codemod.engine import RunOptions, run
from codemod.gomod import parse_go_version
from codemod.model import FileResult, FileStatus, Safety
from codemod.requirements import gomod_results
from codemod.sinks import Sink
from codemod.sinks.terminal import DiffSink, FindingsSink
from codemod.sinks.write import WriteSink
from transforms import ALL_TRANSFORMS, transform_by_id

EXIT_CLEAN, EXIT_FOUND, EXIT_ERROR = 0, 1, 2


def _error(message: str) -> None:
    click.echo(f"unleak: {message}", err=True)


def _ids(values: tuple[str, ...]) -> frozenset[str] | None:
    """--select a,b --select c -> {a, b, c}; unknown ids are a usage error."""
    if not values:
        return None
    ids = frozenset(part.strip() for value in values for part in value.split(",") if part.strip())
    unknown = sorted(i for i in ids if transform_by_id(i) is None)
    if unknown:
        known = ", ".join(t.id for t in ALL_TRANSFORMS)
        raise click.UsageError(f"unknown transform id {', '.join(unknown)} (known: {known})")
    return ids


def _use_colour(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    return sys.stdout.isatty()


@dataclass
class Summary:
    files: int = 0
    skipped: int = 0
    failed: int = 0
    declarations_skipped: int = 0
    files_with_skipped_declarations: int = 0
    findings: Counter[str] = field(default_factory=Counter)
    applied: Counter[str] = field(default_factory=Counter)
    changed: int = 0
    unreadable_dirs: int = 0

    def add(self, result: FileResult) -> None:
        self.files += 1
        self.skipped += result.status is FileStatus.SKIPPED
        self.failed += result.status is FileStatus.FAILED
        self.changed += result.status is FileStatus.CHANGED
        self.declarations_skipped += result.declarations_skipped
        self.files_with_skipped_declarations += result.declarations_skipped > 0
        self.findings.update(f.transform_id for f in result.findings)
        self.applied.update(f.transform_id for f in result.applied)

    def line(self, fixing: bool) -> str:
        parts = [_count(self.files, "file"), _count(sum(self.findings.values()), "finding")]
        if self.findings:
            per = ", ".join(f"{k}: {v}" for k, v in sorted(self.findings.items()))
            parts[-1] += f" ({per})"
        if fixing:
            fixes = _count(sum(self.applied.values()), "fix", "fixes")
            parts.append(f"{fixes} in {_count(self.changed, 'file')}")
        if self.skipped or self.failed:
            parts.append(f"{_count(self.skipped + self.failed, 'file')} skipped")
        if self.declarations_skipped:
            parts.append(
                f"{_count(self.declarations_skipped, 'declaration')} in "
                f"{_count(self.files_with_skipped_declarations, 'file')} "
                "left alone for parse errors"
            )
        return ", ".join(parts)


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number} {singular if number == 1 else plural or singular + 's'}"


def _drive(
    paths: tuple[str, ...], options: RunOptions, jobs: int | None, sinks: list[Sink], quiet: bool
) -> Summary:
    try:
        discovery = discover(list(paths))
    except DiscoveryError as error:
        _error(str(error))
        sys.exit(EXIT_ERROR)
    summary = Summary()
    for path, reason in discovery.skipped:
        summary.unreadable_dirs += reason.startswith("cannot read")
        if not quiet:
            _error(f"skipped {path}: {reason}")
    needing_modules: list[FileResult] = []
    for result in run(discovery.files, options, jobs):
        if result.requires:
            needing_modules.append(result)
        summary.add(result)
        if result.status is FileStatus.FAILED or (
            result.status is FileStatus.SKIPPED and not quiet
        ):
            _error(f"skipped {result.path}: {result.reason}")
        for note in result.notes:
            _error(f"{result.path}: {note}")
        for sink in sinks:
            sink.accept(result)
    # go.mod and go.sum come last: they depend on which fixes were applied in every file.
    for result in gomod_results(needing_modules):
        for note in result.notes:
            _error(f"{result.path}: {note}")
        for sink in sinks:
            sink.accept(result)
    for sink in sinks:
        sink.close()
    return summary


_common = [
    click.argument("paths", nargs=-1, required=True),
    click.option("--select", multiple=True, help="Only these transform ids (comma-separated)."),
    click.option("--ignore", multiple=True, help="Skip these transform ids (comma-separated)."),
    click.option(
        "--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: CPUs)."
    ),
    click.option(
        "--color",
        "--colour",
        "colour",
        type=click.Choice(["auto", "always", "never"]),
        default="auto",
        show_default=True,
    ),
    click.option("--go-version", help="Treat every module as this Go version (e.g. 1.21)."),
    click.option("--quiet", "-q", is_flag=True, help="No messages on stderr but errors."),
]


F = TypeVar("F", bound=Callable[..., None])


def common_options(function: F) -> F:
    for decorator in reversed(_common):
        function = decorator(function)
    return function


def _options(
    select: tuple[str, ...], ignore: tuple[str, ...], go_version: str | None, **kwargs: object
) -> RunOptions:
    version = None
    if go_version:
        try:
            version = parse_go_version(go_version)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--go-version") from error
    return RunOptions(
        select=_ids(select),
        ignore=_ids(ignore) or frozenset(),
        go_version=version,
        **kwargs,  # type: ignore[arg-type]
    )


def _exit_code(summary: Summary, found: bool) -> int:
    """2 when a file could not be read (the run is incomplete), else 1 when anything was found."""
    if summary.failed or summary.unreadable_dirs:
        return EXIT_ERROR
    return EXIT_FOUND if found else EXIT_CLEAN


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="unleak")
def main() -> None:
    """Find goroutine-leak-prone Go idioms and rewrite them into safe forms."""


@main.command()
@common_options
def scan(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    jobs: int | None,
    colour: str,
    go_version: str | None,
    quiet: bool,
) -> None:
    """Report leak-prone idioms (exit 1 when there are any)."""
    options = _options(select, ignore, go_version)
    sink = FindingsSink(sys.stdout, _use_colour(colour))
    summary = _drive(paths, options, jobs, [sink], quiet)
    if not quiet:
        _error(summary.line(fixing=False))
    sys.exit(_exit_code(summary, found=sink.count > 0))


@main.command()
@common_options
@click.option(
    "--dry-run", "mode", flag_value="dry-run", default=True, help="Print the patch (default)."
)
@click.option("--write", "mode", flag_value="write", help="Rewrite the files in place.")
@click.option("--unsafe", is_flag=True, help="Also apply fixes marked `review`.")
@click.option("--no-gofmt", is_flag=True, help="Do not run gofmt on rewritten files.")
def fix(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    jobs: int | None,
    colour: str,
    go_version: str | None,
    quiet: bool,
    mode: str,
    unsafe: bool,
    no_gofmt: bool,
) -> None:
    """Rewrite leak-prone idioms: print the patch (--dry-run) or write it (--write)."""
    options = _options(
        select,
        ignore,
        go_version,
        fix=True,
        apply_threshold=Safety.REVIEW if unsafe else Safety.SAFE,
        use_gofmt=not no_gofmt,
    )
    sinks: list[Sink] = []
    writer = WriteSink() if mode == "write" else None
    if writer is not None:
        sinks.append(writer)
    else:
        sinks.append(DiffSink(sys.stdout, _use_colour(colour)))
    summary = _drive(paths, options, jobs, sinks, quiet)
    if writer is not None:
        for message in writer.errors:
            _error(message)
    if not quiet:
        _error(summary.line(fixing=True))
    if writer is not None and writer.errors:
        sys.exit(EXIT_ERROR)
    sys.exit(_exit_code(summary, found=summary.changed > 0))


@main.command("list")
def list_transforms() -> None:
    """List the transforms: id, safety, Go versions and title."""
    for transform in ALL_TRANSFORMS:
        versions = _version_range(transform.min_go, transform.max_go)
        click.echo(f"{transform.id:28} {transform.safety.label:12} {versions:12} {transform.title}")


def _version_range(low: tuple[int, int] | None, high: tuple[int, int] | None) -> str:
    if low is None and high is None:
        return "all Go"
    if high is None:
        return f"go>={low[0]}.{low[1]}" if low else "all Go"
    start = f"{low[0]}.{low[1]}" if low else ""
    return f"go{start}<{high[0]}.{high[1]}" if start else f"go<{high[0]}.{high[1]}"


@main.command()
@click.argument("transform_id")
def explain(transform_id: str) -> None:
    """Explain a transform: the leak, the Go mechanism behind it, and the rewrite."""
    transform = transform_by_id(transform_id)
    if transform is None:
        known = ", ".join(t.id for t in ALL_TRANSFORMS)
        _error(f"no transform {transform_id!r} (known: {known})")
        sys.exit(EXIT_ERROR)
    click.echo(f"{transform.id}: {transform.title}")
    versions = _version_range(transform.min_go, transform.max_go)
    click.echo(f"safety: {transform.safety.label}; applies to: {versions}")
    for section, body in transform.documentation().items():
        click.echo(f"\n## {section}\n{body}")


if __name__ == "__main__":
    main()
