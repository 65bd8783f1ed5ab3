"""What the CLI wires together: config merged under flags, and the sink for each --format."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TextIO

from codemod.config import Config, ConfigError, find_config, load_config
from codemod.engine import RunOptions
from codemod.model import Safety
from codemod.sinks import Sink
from codemod.sinks.report import GithubSink, JsonSink, SarifSink
from codemod.sinks.terminal import DiffSink, FindingsSink

FORMATS = ("text", "diff", "json", "sarif", "github")


def read_config(paths: tuple[str, ...], explicit: str | None, known_ids: list[str]) -> Config:
    """The config for this run: --config FILE, else the nearest one above the first path."""
    if explicit is not None:
        path: Path | None = Path(explicit)
        if path is None or not path.is_file():
            raise ConfigError(f"{explicit}: no such config file")
    else:
        start = Path(paths[0].removesuffix("...").rstrip("/") or ".") if paths else Path(".")
        path = find_config(start if start.exists() else Path("."))
    return load_config(path, known_ids) if path is not None else Config()


def merge(options: RunOptions, config: Config, flags_given: set[str]) -> RunOptions:
    """Config values for the keys no command-line flag set (flags win, key by key)."""
    changes: dict[str, object] = {}
    if "select" not in flags_given and config.select is not None:
        changes["select"] = config.select
    if "ignore" not in flags_given and config.ignore:
        changes["ignore"] = config.ignore
    if "go_version" not in flags_given and config.go_version is not None:
        changes["go_version"] = config.go_version
    if "unsafe" not in flags_given and config.unsafe:
        changes["apply_threshold"] = Safety.REVIEW
    if config.per_path_ignores and config.root is not None:
        changes["scope"] = replace(
            options.scope, root=str(config.root), per_path_ignores=config.per_path_ignores
        )
    return replace(options, **changes)  # type: ignore[arg-type]


def report_sink(output: str, stream: TextIO, colour: bool, command: str, use_gofmt: bool) -> Sink:
    if output == "json":
        return JsonSink(stream, command, use_gofmt)
    if output == "sarif":
        return SarifSink(stream, use_gofmt)
    if output == "github":
        return GithubSink(stream)
    if output == "diff":
        return DiffSink(stream, colour)
    return FindingsSink(stream, colour)
