"""`unleak triage REPORT [PATH]`: from a goroutine report to the leak sites and their fixes."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from codemod.cli import flags_given, ignore_option, parse_transform_ids, select_option
from codemod.config import ConfigError
from codemod.engine import RunOptions
from codemod.model import Safety
from codemod.outputs import merge, read_config
from codemod.triage.load import LoadError, load_report
from codemod.triage.mapping import ModuleError, find_module
from codemod.triage.parse import ReportError, parse_report
from codemod.triage.report import FORMATS, combined_patch, summary_line, write_json, write_text
from codemod.triage.sites import leak_sites
from transforms import ALL_TRANSFORMS

EXIT_CLEAN, EXIT_FOUND, EXIT_ERROR = 0, 1, 2


def _fail(message: str) -> None:
    click.echo(f"unleak: {message}", err=True)
    sys.exit(EXIT_ERROR)


@click.command()
@click.argument("report")
@click.argument("path", default=".", type=click.Path(exists=True))
@click.option(
    "--format",
    "output",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text: each leak site with its source and fix; json (docs/triage.md); "
    "diff: one patch with every fix.",
)
@click.option("--unsafe", is_flag=True, help="diff: also include fixes marked `review`.")
@click.option("--no-gofmt", is_flag=True, help="Do not run gofmt on the proposed fixes.")
@click.option("--quiet", "-q", is_flag=True, help="No summary line on stderr.")
@select_option
@ignore_option
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="Config file (default: the nearest .unleak.toml or pyproject.toml above PATH).",
)
def triage(
    report: str,
    path: str,
    output: str,
    unsafe: bool,
    no_gofmt: bool,
    quiet: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_file: str | None,
) -> None:
    """Land the blocked goroutines of REPORT on the module's code at PATH, with their fixes.

    REPORT is a file, `-` for stdin, or http://127.0.0.1:PORT/debug/pprof/... of a running
    program: a goroutine dump (debug=1 or 2), a panic or SIGQUIT traceback, the
    goroutineleak profile (text or profile.proto) or goleak's failure output. Exit 1 when
    any goroutine is blocked, 0 when none is, 2 on bad input.
    """
    try:
        module = find_module(Path(path))
        data = load_report(report)
        parsed = parse_report(data)
    except (LoadError, ModuleError) as error:
        _fail(str(error))
        return
    except ReportError as error:
        _fail(f"{'stdin' if report == '-' else report}: {error}")
        return
    use_gofmt = not no_gofmt
    options = RunOptions(
        select=parse_transform_ids(select), ignore=parse_transform_ids(ignore) or frozenset()
    )
    try:
        config = read_config((path,), config_file, [t.id for t in ALL_TRANSFORMS])
    except ConfigError as error:
        _fail(str(error))
        return
    options = merge(options, config, flags_given(select=select, ignore=ignore))
    sites = leak_sites(parsed, module, use_gofmt, options)
    if output == "json":
        write_json(sys.stdout, report, parsed, sites, module)
    elif output == "diff":
        threshold = Safety.REVIEW if unsafe else Safety.SAFE
        sys.stdout.write(combined_patch(sites, threshold, use_gofmt))
    else:
        write_text(sys.stdout, sites, module)
    sys.stdout.flush()
    if not quiet:
        click.echo(f"unleak: {summary_line(parsed, sites)}", err=True)
    sys.exit(EXIT_FOUND if sites else EXIT_CLEAN)
