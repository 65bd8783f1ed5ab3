"""The command line: scan, fix, list, explain. stdout carries only the report or the patch."""

from __future__ import annotations

import importlib
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar, TypeVar

import click

from codemod import __version__, cache
from codemod.add_ignore import AddIgnoreSink
from codemod.applypatch import PatchRefused, apply_patch
from codemod.changed import DiffBaseError, changed_lines
from codemod.config import Config, ConfigError
from codemod.discover import DiscoveryError, discover
from codemod.engine import GENERATED_REASON, RunOptions, run
from codemod.gomod import parse_go_version
from codemod.interrupt import Terminated, exit_status, terminate_like_interrupt
from codemod.model import FileResult, FileStatus, Safety
from codemod.outputs import FORMATS, merge, read_config, report_sink
from codemod.progress import per_transform_lines, progress_bar, wants_progress
from codemod.requirements import gomod_results
from codemod.sinks import Sink
from codemod.sinks.interactive import InteractiveSink
from codemod.sinks.patchfile import PatchFileSink
from codemod.sinks.statistics import StatisticsSink
from codemod.sinks.write import ChangedUnderneath, WriteSink
from transforms import ALL_TRANSFORMS, transform_by_id

EXIT_CLEAN, EXIT_FOUND, EXIT_ERROR = 0, 1, 2


def _error(message: str) -> None:
    click.echo(f"unleak: {message}", err=True)


def parse_transform_ids(
    values: tuple[str, ...], option: str | None = None
) -> frozenset[str] | None:
    """--select a,b --select c -> {a, b, c}; unknown ids are a usage error, and so is an
    empty list for `option` (an empty --select would select nothing: a CI gate that passes)."""
    if not values:
        return None
    ids = frozenset(part.strip() for value in values for part in value.split(",") if part.strip())
    if not ids and option is not None:
        raise click.UsageError(f"{option} names no transform id (see `unleak list`)")
    unknown = sorted(i for i in ids if transform_by_id(i) is None)
    if unknown:
        known = ", ".join(t.id for t in ALL_TRANSFORMS)
        raise click.UsageError(f"unknown transform id {', '.join(unknown)} (known: {known})")
    return ids


# The newest Go release unleak knows of; --go-version names one of 1.0 to this.
NEWEST_GO = (1, 27)


def known_go_version(text: str) -> tuple[int, int]:
    """'1.22' -> (1, 22); ValueError for what is not a Go release (2.0, 1.99, '')."""
    version = parse_go_version(text)
    if version[0] != 1 or version > NEWEST_GO:
        newest = f"1.{NEWEST_GO[1]}"
        raise ValueError(f"{text!r} is not a Go release (known: 1.0 to {newest})")
    return version


def _use_colour(choice: str) -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    if os.environ.get("NO_COLOR"):  # https://no-color.org: set and not empty
        return False
    return sys.stdout.isatty()


@dataclass
class Summary:
    files: int = 0
    skipped: int = 0
    generated: int = 0  # of the skipped, generated files met while walking (not listed)
    failed: int = 0
    declarations_skipped: int = 0
    files_with_skipped_declarations: int = 0
    findings: Counter[str] = field(default_factory=Counter)
    applied: Counter[str] = field(default_factory=Counter)
    changed: int = 0
    fixed_findings: int = 0  # reported findings whose fix is in the rewrite
    unreadable_dirs: int = 0
    progress_shown: bool = False  # then the per-transform lines close the run

    def add(self, result: FileResult) -> None:
        self.files += 1
        self.skipped += result.status is FileStatus.SKIPPED
        self.failed += result.status is FileStatus.FAILED
        self.changed += result.status is FileStatus.CHANGED
        self.declarations_skipped += result.declarations_skipped
        self.files_with_skipped_declarations += result.declarations_skipped > 0
        self.findings.update(f.transform_id for f in result.findings)
        self.applied.update(f.transform_id for f in result.applied)
        self.fixed_findings += sum(1 for f in result.findings if f in result.applied)

    def line(self, fixing: bool) -> str:
        parts = [_count(self.files, "file"), _count(sum(self.findings.values()), "finding")]
        if self.findings:
            per = ", ".join(f"{k}: {v}" for k, v in sorted(self.findings.items()))
            parts[-1] += f" ({per})"
        if fixing:
            fixes = _count(sum(self.applied.values()), "fix", "fixes")
            parts.append(f"{fixes} in {_count(self.changed, 'file')}")
        if self.skipped or self.failed:
            skipped = f"{_count(self.skipped + self.failed, 'file')} skipped"
            if self.generated:
                skipped += f" ({self.generated} generated)"
            parts.append(skipped)
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
    paths: tuple[str, ...],
    options: RunOptions,
    jobs: int | None,
    sinks: list[Sink],
    quiet: bool,
    config: Config | None = None,
    streams: bool = True,
) -> Summary:
    """streams: the sinks write to stdout as results come (no progress bar on a terminal)."""
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
    files = [f for f in discovery.files if config is None or not config.excludes(f)]
    changed = options.scope.changed_lines
    if changed is not None:  # --diff-base: files git sees no change in cannot hold new findings
        files = [f for f in files if str(f.resolve()) in changed]
    summary.progress_shown = wants_progress(len(files), quiet, streams and sys.stdout.isatty())
    bar: AbstractContextManager[Iterator[FileResult]] = (
        progress_bar(run(files, options, jobs), len(files))
        if summary.progress_shown
        else nullcontext(iter(run(files, options, jobs)))
    )
    # A file named on the command line is reported when skipped; generated files met while
    # walking a tree (kubernetes has hundreds) are only counted in the summary line.
    named = {Path(p).resolve() for p in paths if p.endswith(".go")}
    with bar as results:
        needing_modules = _consume(results, sinks, summary, quiet, named)
    # go.mod and go.sum come last: they depend on which fixes were applied in every file.
    for result in gomod_results(needing_modules):
        for note in result.notes:
            _error(f"{result.path}: {note}")
        for sink in sinks:
            sink.accept(result)
    for sink in sinks:
        sink.close()
    return summary


def _consume(
    results: Iterable[FileResult],
    sinks: list[Sink],
    summary: Summary,
    quiet: bool,
    named: set[Path] | frozenset[Path] = frozenset(),
) -> list[FileResult]:
    """Feed every result to the sinks; returns those whose fixes need go.mod changes."""
    needing_modules: list[FileResult] = []
    for result in results:
        if result.requires:
            needing_modules.append(result)
        summary.add(result)
        walked_generated = (
            result.status is FileStatus.SKIPPED
            and (result.reason or "").startswith(GENERATED_REASON)
            and result.path.resolve() not in named
        )
        summary.generated += walked_generated
        if result.status is FileStatus.FAILED or (
            result.status is FileStatus.SKIPPED and not quiet and not walked_generated
        ):
            _error(f"skipped {result.path}: {result.reason}")
        for note in result.notes:
            _error(f"{result.path}: {note}")
        for sink in sinks:
            sink.accept(result)
        if any(getattr(sink, "stopped", False) for sink in sinks):
            break  # the user quit an interactive session
    return needing_modules


def _finish(summary: Summary, quiet: bool, fixing: bool) -> None:
    """The summary line on stderr; after a progress bar, one line per transform as well."""
    if quiet:
        return
    _error(summary.line(fixing=fixing))
    if summary.progress_shown:
        for line in per_transform_lines(summary.findings, summary.applied, fixing):
            click.echo(line, err=True)


# Shared by scan, fix, pr and triage.
select_option = click.option(
    "--select", multiple=True, help="Only these transform ids (comma-separated)."
)
ignore_option = click.option(
    "--ignore", multiple=True, help="Skip these transform ids (comma-separated)."
)

_common = [
    click.argument("paths", nargs=-1, required=True),
    select_option,
    ignore_option,
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
    click.option(
        "--config",
        "config_file",
        type=click.Path(dir_okay=False),
        help="Read settings from this file (default: the nearest .unleak.toml or pyproject.toml).",
    ),
    click.option(
        "--diff-base",
        metavar="REV",
        help="Only findings on lines changed since this revision's merge base with HEAD.",
    ),
    click.option(
        "--diff-base-exact",
        is_flag=True,
        help="With --diff-base: diff against REV itself, not its merge base with HEAD.",
    ),
    click.option(
        "--whole-files",
        is_flag=True,
        help="With --diff-base: every line of a changed file, not only the changed lines.",
    ),
    click.option(
        "--report-unused-ignores",
        is_flag=True,
        help="Report //unleak:ignore comments that silence nothing.",
    ),
    click.option(
        "--require-ignore-reason",
        is_flag=True,
        help="Report an //unleak:ignore without a reason (config: require-ignore-reason).",
    ),
    click.option(
        "--statistics",
        is_flag=True,
        help="Print counts per rule (count, id, fixable, title) instead of each finding.",
    ),
    click.option(
        "--exit-zero", is_flag=True, help="Exit 0 even when findings remain (errors still exit 2)."
    ),
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
    if go_version is not None:
        try:
            version = known_go_version(go_version)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--go-version") from error
    return RunOptions(
        select=parse_transform_ids(select, "--select"),
        ignore=parse_transform_ids(ignore) or frozenset(),
        go_version=version,
        **kwargs,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class _Setup:
    options: RunOptions
    config: Config


@dataclass(frozen=True)
class _DiffBase:
    revision: str
    exact: bool  # --diff-base-exact: against the revision, not its merge base with HEAD
    whole_files: bool

    @classmethod
    def of(cls, revision: str | None, exact: bool, whole_files: bool) -> _DiffBase | None:
        if revision is None:
            if exact or whole_files:
                flag = "--diff-base-exact" if exact else "--whole-files"
                raise click.UsageError(f"{flag} needs --diff-base REV")
            return None
        return cls(revision, exact, whole_files)


def _setup(
    paths: tuple[str, ...],
    config_file: str | None,
    diff_base: _DiffBase | None,
    options: RunOptions,
    given: set[str],
) -> _Setup:
    """Merge the config file under the flags and resolve --diff-base; usage errors exit 2."""
    try:
        config = read_config(paths, config_file, [t.id for t in ALL_TRANSFORMS])
    except ConfigError as error:
        _error(str(error))
        sys.exit(EXIT_ERROR)
    options = merge(options, config, given)
    if config.require_ignore_reason:
        options = replace(options, require_ignore_reason=True)
    if diff_base is not None:
        try:
            lines = changed_lines(
                diff_base.revision, Path.cwd(), diff_base.exact, diff_base.whole_files
            )
        except DiffBaseError as error:
            _error(f"--diff-base {diff_base.revision}: {error}")
            sys.exit(EXIT_ERROR)
        options = replace(options, scope=replace(options.scope, changed_lines=lines))
    return _Setup(options, config)


def flags_given(**flags: object) -> set[str]:
    """The names of the flags set on the command line (None / empty / False mean unset)."""
    return {name for name, value in flags.items() if value not in (None, (), False)}


def _exit_code(summary: Summary, found: bool, exit_zero: bool = False) -> int:
    """2 when a file could not be read (the run is incomplete), else 1 when anything was found
    (0 with --exit-zero)."""
    if summary.failed or summary.unreadable_dirs:
        return EXIT_ERROR
    return EXIT_FOUND if found and not exit_zero else EXIT_CLEAN


class _LazyGroup(click.Group):
    """Commands with heavy imports (GitHub client, protobuf) load only when invoked."""

    LAZY: ClassVar[dict[str, str]] = {
        "pr": "codemod.bot.command:pr",
        "lsp": "codemod.lsp:lsp",
        "triage": "codemod.triage.command:triage",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.LAZY})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.LAZY and cmd_name not in self.commands:
            module_name, attribute = self.LAZY[cmd_name].split(":")
            command = getattr(importlib.import_module(module_name), attribute)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Terminated as error:  # click would say "Aborted!" and exit 1, a finding's code
            _error("terminated")
            sys.exit(exit_status(error))


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="unleak")
def main() -> None:
    """Find goroutine-leak-prone Go idioms and rewrite them into safe forms."""
    terminate_like_interrupt()  # `kill` cleans up like Ctrl-C: temp files, workers, worktrees


class _AttachedValueCommand(click.Command):
    """`--add-ignore` alone is a flag and `--add-ignore=REASON` carries a reason; click would
    take the next word (a path) as the reason, so a bare `--add-ignore` becomes `--add-ignore=`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        bare = [f"{a}=" if a == "--add-ignore" else a for a in args[:end]]
        return super().parse_args(ctx, bare + args[end:])


@main.command(cls=_AttachedValueCommand)
@common_options
@click.option(
    "--add-ignore",
    metavar="[=REASON]",
    help="Write `//unleak:ignore ID REASON` above every finding instead of reporting it.",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text: file:line:col lines; diff: the patch fix would print; json, sarif, github.",
)
@click.option(
    "--no-cache", is_flag=True, help="Analyse every file again; do not read or write the cache."
)
def scan(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    jobs: int | None,
    colour: str,
    go_version: str | None,
    quiet: bool,
    config_file: str | None,
    diff_base: str | None,
    diff_base_exact: bool,
    whole_files: bool,
    report_unused_ignores: bool,
    require_ignore_reason: bool,
    statistics: bool,
    exit_zero: bool,
    add_ignore: str | None,
    output: str,
    no_cache: bool,
) -> None:
    """Report leak-prone idioms (exit 1 when there are any)."""
    if add_ignore is not None and ("\n" in add_ignore or "\r" in add_ignore):
        raise click.BadParameter("a reason is one line", param_hint="--add-ignore")
    options = _options(
        select,
        ignore,
        go_version,
        fix=output == "diff",
        report_unused_ignores=report_unused_ignores,
        require_ignore_reason=require_ignore_reason,
        use_cache=not no_cache,
    )
    given = flags_given(select=select, ignore=ignore, go_version=go_version)
    setup = _setup(
        paths, config_file, _DiffBase.of(diff_base, diff_base_exact, whole_files), options, given
    )
    sink: Sink = report_sink(
        output, sys.stdout, _use_colour(colour), "scan", setup.options.use_gofmt
    )
    if statistics:
        sink = StatisticsSink(sys.stdout, Safety.SAFE)
    if add_ignore is not None:
        sink = AddIgnoreSink(add_ignore.strip(), setup.options.use_gofmt)
    streams = not statistics and output not in ("json", "sarif")  # those print at the end
    summary = _drive(paths, setup.options, jobs, [sink], quiet, setup.config, streams)
    if setup.options.use_cache:
        cache.trim(cache.cache_dir())  # at most once a day: entries unused for five days
    _finish(summary, quiet, fixing=False)
    if isinstance(sink, AddIgnoreSink):
        sys.exit(_close_add_ignore(sink, summary, quiet))
    sys.exit(_exit_code(summary, found=sum(summary.findings.values()) > 0, exit_zero=exit_zero))


def _close_add_ignore(sink: AddIgnoreSink, summary: Summary, quiet: bool) -> int:
    """Like ruff's --add-noqa: 0 once every finding is silenced, 2 when a file was left alone."""
    for message in sink.errors:
        _error(message)
    if not quiet:
        _error(f"added {_count(sink.added, 'ignore')} in {_count(len(sink.written), 'file')}")
    return EXIT_ERROR if sink.errors else _exit_code(summary, found=False)


@main.command()
@common_options
@click.option(
    "--dry-run", "mode", flag_value="dry-run", default=True, help="Print the patch (default)."
)
@click.option("--write", "mode", flag_value="write", help="Rewrite the files in place.")
@click.option(
    "--interactive",
    "-i",
    "mode",
    flag_value="interactive",
    help="Walk the changes hunk by hunk and apply the ones you accept (like git add -p).",
)
@click.option(
    "--patch-file",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the patch to this file (apply it later with `unleak apply`).",
)
@click.option(
    "--format",
    "output",
    type=click.Choice(FORMATS),
    default="diff",
    show_default=True,
    help="What --dry-run prints: diff (a patch), json, sarif, github or text.",
)
@click.option("--unsafe/--no-unsafe", default=None, help="Also apply fixes marked `review`.")
@click.option("--no-gofmt", is_flag=True, help="Do not run gofmt on rewritten files.")
def fix(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    jobs: int | None,
    colour: str,
    go_version: str | None,
    quiet: bool,
    config_file: str | None,
    diff_base: str | None,
    diff_base_exact: bool,
    whole_files: bool,
    report_unused_ignores: bool,
    require_ignore_reason: bool,
    statistics: bool,
    exit_zero: bool,
    mode: str,
    patch_file: str | None,
    output: str,
    unsafe: bool | None,
    no_gofmt: bool,
) -> None:
    """Rewrite leak-prone idioms: print the patch (--dry-run), write it (--write), or ask (-i)."""
    if mode == "interactive" and not sys.stdin.isatty():
        _error(
            "--interactive needs a terminal on stdin; use --dry-run to print the patch "
            "or --write to apply every fix"
        )
        sys.exit(EXIT_ERROR)
    if patch_file is not None and mode != "dry-run":
        raise click.UsageError("--patch-file cannot be combined with --write or --interactive")
    if statistics and mode == "interactive":
        raise click.UsageError("--statistics cannot be combined with --interactive")
    options = _options(
        select,
        ignore,
        go_version,
        fix=True,
        apply_threshold=Safety.REVIEW if unsafe else Safety.SAFE,
        use_gofmt=not no_gofmt,
        report_unused_ignores=report_unused_ignores,
        require_ignore_reason=require_ignore_reason,
    )
    given = flags_given(select=select, ignore=ignore, go_version=go_version)
    if unsafe is not None:
        given.add("unsafe")
    setup = _setup(
        paths, config_file, _DiffBase.of(diff_base, diff_base_exact, whole_files), options, given
    )
    options = setup.options
    colour_on = _use_colour(colour)
    sinks: list[Sink] = []
    writer = WriteSink() if mode == "write" else None
    interactive = None
    if mode == "interactive":
        interactive = InteractiveSink(
            sys.stdout, colour_on, options.apply_threshold, options.use_gofmt
        )
        sinks.append(interactive)
    elif patch_file is not None:
        sinks.append(PatchFileSink(Path(patch_file)))
    elif writer is not None:
        sinks.append(writer)
        if output != "diff" and not statistics:
            sinks.append(report_sink(output, sys.stdout, colour_on, "fix", options.use_gofmt))
    elif not statistics:
        sinks.append(report_sink(output, sys.stdout, colour_on, "fix", options.use_gofmt))
    if statistics:  # the table takes stdout's place of the report or patch
        sinks.append(StatisticsSink(sys.stdout, options.apply_threshold))
    try:
        streams = mode == "interactive" or (
            mode == "dry-run"
            and patch_file is None
            and not statistics
            and output not in ("json", "sarif")
        )
        summary = _drive(paths, options, jobs, sinks, quiet, setup.config, streams)
        if interactive is not None:
            interactive.write_requirements()
    except KeyboardInterrupt as interruption:
        if interactive is not None:
            interactive.write_requirements()  # the files written import what go.mod must hold
        done = interactive.written if interactive else writer.written if writer else []
        _error(f"interrupted: {_count(len(done), 'file')} written, the rest left untouched")
        sys.exit(exit_status(interruption))
    errors = [message for sink in sinks for message in getattr(sink, "errors", [])]
    for message in errors:
        _error(message)
    if interactive is not None:
        incomplete = bool(errors or summary.failed or summary.unreadable_dirs)
        _close_interactive(interactive, quiet, incomplete, exit_zero)
    _finish(summary, quiet, fixing=True)
    if errors:
        sys.exit(EXIT_ERROR)
    # Like ruff's --fix: 1 while findings remain in the files (all of them after --dry-run).
    fixed = summary.fixed_findings if mode == "write" else 0
    remaining = sum(summary.findings.values()) > fixed
    sys.exit(_exit_code(summary, found=remaining, exit_zero=exit_zero))


def _close_interactive(
    interactive: InteractiveSink, quiet: bool, failed: bool, exit_zero: bool = False
) -> None:
    """The closing lines of `fix -i`, and its exit: 130 after Ctrl-C, 2 when a file could not
    be read or written (`failed`), else 1 while findings remain, as after --write."""
    if not quiet:
        _error(
            f"{_count(interactive.applied, 'change')} applied in "
            f"{_count(len(interactive.written), 'file')}"
        )
        if interactive.held_back:
            fixes = _count(interactive.held_back, "review fix", "review fixes")
            _error(f"{fixes} not offered: use --unsafe")
    if interactive.interrupted:
        _error(
            f"interrupted: {_count(len(interactive.written), 'file')} written, the rest untouched"
        )
        sys.exit(130)
    if failed:
        sys.exit(EXIT_ERROR)
    remaining = interactive.findings_seen > interactive.applied or interactive.stopped
    sys.exit(EXIT_FOUND if remaining and not exit_zero else EXIT_CLEAN)


@main.command("apply")
@click.argument("patch", type=click.Path(dir_okay=False, allow_dash=True))
def apply_command(patch: str) -> None:
    """Apply a reviewed patch (from `fix --patch-file`); refuses if the files changed since."""
    try:
        # Bytes, not text mode: universal newlines would turn a CRLF file's "\r\n" lines into "\n".
        raw = sys.stdin.buffer.read() if patch == "-" else Path(patch).read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        _error(f"{patch}: cannot read: {getattr(error, 'strerror', None) or error}")
        sys.exit(EXIT_ERROR)
    try:
        written = apply_patch(text, Path.cwd())
    except (PatchRefused, ChangedUnderneath) as error:
        _error(str(error))
        sys.exit(EXIT_ERROR)
    except OSError as error:
        _error(f"cannot write: {error.strerror or error}")
        sys.exit(EXIT_ERROR)
    _error(f"applied {patch}: {_count(len(written), 'file')} changed")


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


@main.group("cache")
def cache_group() -> None:
    """The scan cache: where it is, how big, and emptying it."""


@cache_group.command("info")
def cache_info() -> None:
    """Print the cache folder, its entries and their size."""
    directory = cache.cache_dir()
    used = cache.usage(directory)
    click.echo(f"{directory}\n{used.entries} entries, {used.bytes / 1024 / 1024:.1f} MiB")


@cache_group.command("clean")
def cache_clean() -> None:
    """Delete every cache entry (scan analyses each file again next time)."""
    directory = cache.cache_dir()
    click.echo(f"removed {cache.clean(directory)} entries from {directory}")


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
