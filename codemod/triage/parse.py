"""Read a goroutine report in any of the formats Go programs and their tests produce.

- goroutine dumps: `debug=2` (every goroutine, with its wait reason) and the aggregated
  `debug=1` text, of the goroutine and the Go 1.27 goroutineleak profile;
- tracebacks: a panic or fatal error with GOTRACEBACK=all, or a SIGQUIT dump;
- the pprof protobuf (gzip-compressed profile.proto) of either profile (profile_proto.py);
- go.uber.org/goleak's failure, "found unexpected goroutines: [Goroutine N in state ...]",
  as its VerifyNone / VerifyTestMain print it (indented inside `go test` output or not).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from codemod.triage.model import FORMAT_LABELS, Frame, Report, StackRecord, state_from_frames
from codemod.triage.profile_proto import GZIP_MAGIC, ProfileError, parse_profile

EXPECTED = (
    "expected a goroutine dump (debug=1 or debug=2), a panic or SIGQUIT traceback, "
    "a goroutineleak profile (text, or gzip-compressed profile.proto) "
    'or goleak\'s "found unexpected goroutines" output'
)

_PROFILE_HEADER = re.compile(r"^(goroutineleak|goroutine) profile: total (\d+)$", re.M)
_RECORD = re.compile(r"^(\d+) @((?: 0x[0-9a-f]+)*)$")
_PROFILE_FRAME = re.compile(r"^#\t(0x[0-9a-f]+)(?:\t(\S+?)\+0x[0-9a-f]+\t+(.*):(\d+))?$")
_GOROUTINE_HEADER = re.compile(r"^goroutine (\d+)\b[^\[\n]*\[([^\]\n]*)\](?: \{.*\})?:\s*$", re.M)
_FILE_LINE = re.compile(r"^\t(.*):(\d+)(?: .*)?$")
_CREATED_BY = re.compile(r"^created by (\S+)(?: in goroutine \d+)?$")
_GOLEAK_MARKER = "found unexpected goroutines:"
_GOLEAK_HEADER = re.compile(
    r"^\[?\s*Goroutine (\d+) in state (.*?), with (\S+) on top of the stack:$"
)
_TRACEBACK_START = re.compile(r"^(panic: |fatal error: |SIG[A-Z]+: |\[signal )", re.M)
_MINUTES = re.compile(r"(\d+) minutes")


class ReportError(ValueError):
    """A report that cannot be read: the message says what was expected instead."""


def parse_report(data: bytes) -> Report:
    """The report's stacks; ReportError for unknown, empty or truncated input."""
    if not data.strip():
        raise ReportError(f"empty input; {EXPECTED}")
    if data.startswith(GZIP_MAGIC):
        try:
            return parse_profile(data)
        except ProfileError as error:
            raise ReportError(
                f"{error}; expected the complete goroutineleak or goroutine profile "
                "(pprof's WriteTo(w, 0), or /debug/pprof/goroutineleak)"
            ) from error
    if b"\0" in data:
        raise ReportError(f"binary data that is not a gzip-compressed profile; {EXPECTED}")
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
    if _GOLEAK_MARKER in text:
        return _parse_goleak(text)
    if header := _PROFILE_HEADER.search(text):
        return _parse_debug1(text[header.start() :], header)
    if _GOROUTINE_HEADER.search(text):
        kind = "traceback" if _TRACEBACK_START.search(text) else "goroutine-dump"
        return Report(kind, tuple(_parse_tracebacks(text.splitlines(), kind)))
    raise ReportError(f"not a goroutine report; {EXPECTED}")


def _truncated(kind: str, detail: str) -> ReportError:
    return ReportError(f"truncated {FORMAT_LABELS[kind]}: {detail}; expected the complete report")


def _parse_debug1(text: str, header: re.Match[str]) -> Report:
    """`N @ pc pc ...` records, each followed by `#\\tpc\\tfunction+off\\tfile:line` lines."""
    kind = f"{header.group(1)}-text"
    total = int(header.group(2))
    records: list[StackRecord] = []
    count = 0
    addresses: list[int] = []
    frames: list[tuple[int, Frame]] = []

    def close() -> None:
        if not count:
            return
        if not frames:
            raise _truncated(kind, f"the last record ({count} @ ...) has no frames")
        stack = tuple(frame for _, frame in frames)
        first_pc = frames[0][0]
        records.append(
            StackRecord(
                frames=stack,
                count=count,
                state=state_from_frames(stack),
                leaked=kind == "goroutineleak-text",
                # Return addresses are PC+1; a record starting elsewhere had runtime frames
                # at the top that the text leaves out (runtime.gopark and the operation).
                parked_in_hidden_runtime=bool(addresses) and addresses[0] != first_pc + 1,
            )
        )

    for line in text.splitlines()[1:]:
        if record := _RECORD.match(line):
            close()
            count = int(record.group(1))
            addresses = [int(a, 16) for a in record.group(2).split()]
            frames = []
        elif frame := _PROFILE_FRAME.match(line):
            if not count:
                raise _truncated(kind, "a frame line before any `N @` record line")
            pc = int(frame.group(1), 16)
            function = frame.group(2) or frame.group(1)
            location = Frame(function, frame.group(3) or "", int(frame.group(4) or 0))
            frames.append((pc, location))
        elif line.startswith("# labels:") or not line.strip():
            continue
        elif _PROFILE_HEADER.match(line):
            break  # a second profile pasted after the first: read the first only
        else:
            raise ReportError(
                f"unexpected line in a {FORMAT_LABELS[kind]}: {line[:80]!r}; {EXPECTED}"
            )
    close()
    seen = sum(record.count for record in records)
    if seen < total:
        raise _truncated(kind, f"it holds {seen} of the {total} goroutines its header counts")
    return Report(kind, tuple(records))


@dataclass
class _Goroutine:
    state: str
    frames: list[Frame] = field(default_factory=list)
    created_by: Frame | None = None


def _parse_tracebacks(lines: list[str], kind: str) -> list[StackRecord]:
    """Blocks of `goroutine N [state]:` then `function(args)` / `\\tfile:line +0x..` pairs."""
    records: list[StackRecord] = []
    current: _Goroutine | None = None
    pending: str | None = None  # a function line waiting for its file line
    for line in lines:
        if header := _GOROUTINE_HEADER.match(line):
            if current is not None:
                records.append(_record(current))
            current, pending = _Goroutine(header.group(2)), None
        elif current is None:
            continue  # panic message, registers, `go test` chatter
        elif not line.strip():
            records.append(_record(current))
            current, pending = None, None
        elif (location := _FILE_LINE.match(line)) and pending is not None:
            frame_at = (location.group(1), int(location.group(2)))
            if created := _CREATED_BY.match(pending):
                current.created_by = Frame(created.group(1), *frame_at)
            else:
                current.frames.append(Frame(_function_name(pending), *frame_at))
            pending = None
        elif not line.startswith("\t"):
            pending = line.strip()
    if current is not None:
        if pending is not None or not current.frames:
            raise _truncated(kind, "the last goroutine is cut short (a frame without file:line)")
        records.append(_record(current))
    return records


def _function_name(line: str) -> str:
    """`pkg.(*T).F(0x1, ...)` -> `pkg.(*T).F`; arguments hold no parentheses."""
    return line[: line.rfind("(")] if line.endswith(")") else line


def _record(goroutine: _Goroutine) -> StackRecord:
    state, leaked, minutes = _split_state(goroutine.state)
    frames = tuple(goroutine.frames)
    return StackRecord(
        frames=frames,
        state=state or state_from_frames(frames),
        leaked=leaked,
        wait_minutes=minutes,
        created_by=goroutine.created_by,
    )


def _split_state(text: str) -> tuple[str, bool, int | None]:
    """`chan send (leaked), 3 minutes, locked to thread` -> ("chan send", True, 3)."""
    status, *details = text.split(", ")
    leaked = " (leaked)" in status
    status = status.replace(" (leaked)", "").replace(" (scan)", "")
    minutes = next((int(m.group(1)) for d in details if (m := _MINUTES.fullmatch(d))), None)
    return status, leaked, minutes


def _parse_goleak(text: str) -> Report:
    records: list[StackRecord] = []
    lines = text.splitlines()
    for start, line in enumerate(lines):
        if _GOLEAK_MARKER in line:
            records.extend(_goleak_list(lines[start + 1 :]))
    return Report("goleak", tuple(records))


def _goleak_list(lines: list[str]) -> Iterator[StackRecord]:
    """`[Goroutine N in state S, with F on top of the stack:` entries up to the closing `]`."""
    if not lines or not lines[0].lstrip().startswith("[Goroutine "):
        raise _truncated("goleak", "no `[Goroutine N in state ...` entry after the marker")
    indent = lines[0][: len(lines[0]) - len(lines[0].lstrip())]
    entry: list[str] = []
    closed = False
    for raw in lines:
        if raw.strip() and not raw.startswith(indent):
            break
        line = raw[len(indent) :]
        header = _GOLEAK_HEADER.match(line.strip()) if not line.startswith("\t") else None
        if header or line.strip() == "]":
            if entry:
                yield from _parse_tracebacks([*entry, ""], "goleak")
            entry = []
            if header:
                entry = [f"goroutine {header.group(1)} [{header.group(2)}]:"]
            else:
                closed = True
                break
        elif entry:
            entry.append(line)
    if not closed:
        raise _truncated("goleak", "the list of goroutines has no closing `]`")
