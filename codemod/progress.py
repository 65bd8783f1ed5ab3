"""Progress on stderr for long runs (rich), and a closing line per transform.

Shown only when stderr is a terminal, the run is long enough to need it, not --quiet, and
nothing streams to the terminal meanwhile (findings or a patch printed as they come would
tear the bar apart, and they show progress themselves); pipes, CI logs and short runs get
exactly the plain summary line.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO

from codemod.model import FileResult

# Below this many files a run finishes before a bar would tell anything.
PROGRESS_MIN_FILES = 20


def wants_progress(
    files: int, quiet: bool, stdout_streams: bool, stream: TextIO | None = None
) -> bool:
    """stdout_streams: the run writes to stdout as it goes, and stdout is a terminal."""
    stream = stream or sys.stderr
    return not quiet and not stdout_streams and files >= PROGRESS_MIN_FILES and stream.isatty()


@contextmanager
def progress_bar(
    results: Iterable[FileResult], total: int, stream: TextIO | None = None
) -> Iterator[Iterator[FileResult]]:
    """Yield the results back while a bar on stderr counts the files done."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(file=stream or sys.stderr)
    columns = (
        TextColumn("unleak: scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
    )
    progress = Progress(
        *columns, console=console, transient=True, redirect_stdout=False, redirect_stderr=False
    )
    with progress:
        task = progress.add_task("scan", total=total)

        def advance() -> Iterator[FileResult]:
            for result in results:
                progress.advance(task)
                yield result

        yield advance()


def per_transform_lines(findings: Counter[str], applied: Counter[str], fixing: bool) -> list[str]:
    """`  close-producer-channel: 3 findings, 2 fixed`, one line per transform that found any."""
    lines = []
    for transform_id, count in sorted(findings.items()):
        line = f"  {transform_id}: {count} finding{'s' if count != 1 else ''}"
        if fixing:
            line += f", {applied[transform_id]} fixed"
        lines.append(line)
    return lines
