"""What a fixture expects and how a run is held against it, in ast-grep's words.

- `// want "ctx-done-arm:safe"` on a line of before.go (analysistest's marker, plus the
  safety: `safe`, `review` or `report-only`) pins a finding of that transform with that safety
  on that line; several may follow one `want`. Every finding needs a marker on its line.
- `findings.golden` beside before.go pins every finding in the shape `unleak scan` prints:
  `before.go:LINE:COL: ID [SAFETY] MESSAGE`. Absent means no findings.

`UNLEAK_UPDATE_GOLDEN=1 pytest tests/test_fixtures.py tests/test_transform_docs.py` rewrites
the goldens and the safety of every marker that sits on a finding of its transform (and the
same markers carried into after.go) from today's output; review the diff before committing.
A marker nobody reports (Missing) or a finding without a marker (Noisy) still fails: whether a
line should be reported is written by hand.
"""

from __future__ import annotations

import difflib
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from codemod.model import Finding, Safety

UPDATE_VARIABLE = "UNLEAK_UPDATE_GOLDEN"
GOLDEN_NAME = "findings.golden"
MARKER = re.compile(r'// want((?:[ \t]+"[^"]*")+)')
QUOTED = re.compile(r'"([^"]*)"')
GOLDEN_LINE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+):(?P<column>\d+): "
    r"(?P<id>\S+) \[(?P<safety>[a-z-]+)\] (?P<message>.*)$"
)
SAFETY_LABELS = tuple(s.label for s in sorted(Safety, reverse=True))


def updating() -> bool:
    """True when the run should rewrite expectations from today's output."""
    return os.environ.get(UPDATE_VARIABLE, "") not in ("", "0")


class MarkerError(ValueError):
    """A `// want` marker that names no transform, or a safety that does not exist."""


@dataclass(frozen=True, order=True)
class Want:
    """One expectation of a `// want` marker; safety None when the marker names none yet."""

    line: int
    transform_id: str
    safety: Safety | None

    def __str__(self) -> str:
        return self.transform_id + (f":{self.safety.label}" if self.safety else "")


def _parse_entry(line: int, entry: str) -> Want:
    transform_id, colon, label = entry.partition(":")
    if not transform_id:
        raise MarkerError(f'line {line}: `// want "{entry}"` names no transform')
    if not colon:
        return Want(line, transform_id, None)
    if label not in SAFETY_LABELS:
        raise MarkerError(
            f'line {line}: `// want "{entry}"`: the safety is one of {", ".join(SAFETY_LABELS)}'
        )
    return Want(line, transform_id, Safety.from_label(label))


def read_markers(source: bytes) -> list[Want]:
    """Every `// want "id:safety"` entry of a source, in order."""
    wants: list[Want] = []
    for number, text in enumerate(source.decode().splitlines(), start=1):
        for marker in MARKER.finditer(text):
            wants.extend(_parse_entry(number, entry) for entry in QUOTED.findall(marker.group(1)))
    return wants


def fixes_need_unsafe(wants: Iterable[Want]) -> bool:
    """Whether the expected rewrite is `fix --unsafe`'s (a review fix) rather than `fix`'s."""
    return any(w.safety is Safety.REVIEW for w in wants)


@dataclass(frozen=True)
class Problem:
    """One way a run differs from its expectation: kind is ast-grep's word for it."""

    kind: str  # Missing, Noisy, Wrong safety, Wrong message, Unpinned
    line: int
    detail: str


def against_markers(wants: Sequence[Want], findings: Sequence[Finding]) -> list[Problem]:
    """Each (line, transform) holds exactly the safeties its markers name."""
    expected: dict[tuple[int, str], set[Safety | None]] = defaultdict(set)
    for want in wants:
        expected[want.line, want.transform_id].add(want.safety)
    actual: dict[tuple[int, str], set[Safety | None]] = defaultdict(set)
    for finding in findings:
        actual[finding.start.line, finding.transform_id].add(finding.safety)
    problems = []
    for line, transform_id in sorted(expected.keys() | actual.keys()):
        pinned = expected.get((line, transform_id), set())
        reported = actual.get((line, transform_id), set())
        labels = ", ".join(sorted(s.label for s in reported if s))
        if not pinned:
            problems.append(Problem("Noisy", line, f"{transform_id} [{labels}] has no marker"))
        elif not reported:
            markers = ", ".join(sorted(f'"{transform_id}:{s.label if s else "?"}"' for s in pinned))
            problems.append(Problem("Missing", line, f"no {transform_id} finding for {markers}"))
        elif None in pinned:
            problems.append(
                Problem(
                    "Unpinned",
                    line,
                    f'the marker names no safety: write "{transform_id}:{labels}" '
                    f"(or run with {UPDATE_VARIABLE}=1)",
                )
            )
        elif pinned != reported:
            wanted = ", ".join(sorted(s.label for s in pinned if s))
            problems.append(
                Problem("Wrong safety", line, f"{transform_id} is [{labels}], want [{wanted}]")
            )
    return problems


def golden_lines(findings: Iterable[Finding], file_name: str) -> list[str]:
    """Findings as `unleak scan` prints them, in source order."""
    ordered = sorted(findings, key=lambda f: (f.start.line, f.start.column, f.transform_id))
    return [
        f"{file_name}:{f.start.line}:{f.start.column}: {f.transform_id} "
        f"[{f.safety.label}] {f.message.replace(chr(10), ' ')}"
        for f in ordered
    ]


def read_golden(path: Path) -> list[str]:
    """The lines of a golden; none when it is absent (no findings)."""
    return path.read_text().splitlines() if path.exists() else []


def write_golden(path: Path, lines: Sequence[str]) -> None:
    """Store today's findings as the expectation (an empty golden is no file)."""
    if lines:
        path.write_text("".join(f"{line}\n" for line in lines))
    else:
        path.unlink(missing_ok=True)


def golden_needs_unsafe(lines: Sequence[str]) -> bool:
    """Whether a golden's rewrite is `fix --unsafe`'s: one of its findings needs review."""
    return any(
        match is not None and match["safety"] == Safety.REVIEW.label
        for match in map(GOLDEN_LINE.match, lines)
    )


def against_golden(expected: Sequence[str], actual: Sequence[str]) -> list[Problem]:
    """Findings matched by position and transform; then safety and message must agree."""

    def keyed(lines: Sequence[str]) -> dict[tuple[int, int, str], list[tuple[str, str]]]:
        entries: dict[tuple[int, int, str], list[tuple[str, str]]] = defaultdict(list)
        for text in lines:
            match = GOLDEN_LINE.match(text)
            if match is None:
                raise MarkerError(
                    f"golden line not in the shape FILE:LINE:COL: ID [SAFETY] MESSAGE: {text!r}"
                )
            key = (int(match["line"]), int(match["column"]), match["id"])
            entries[key].append((match["safety"], match["message"]))
        return entries

    want, got = keyed(expected), keyed(actual)
    problems = []
    for key in sorted(want.keys() | got.keys()):
        line, column, transform_id = key
        wanted, found = sorted(want.get(key, [])), sorted(got.get(key, []))
        for (want_safety, want_message), (safety, message) in zip(wanted, found, strict=False):
            if want_safety != safety:
                problems.append(
                    Problem(
                        "Wrong safety",
                        line,
                        f"{transform_id} at column {column} is [{safety}], want [{want_safety}]",
                    )
                )
            elif want_message != message:
                problems.append(
                    Problem(
                        "Wrong message",
                        line,
                        f"{transform_id} at column {column}:\n"
                        f"    got:  {message}\n    want: {want_message}",
                    )
                )
        for safety, message in found[len(wanted) :]:
            problems.append(
                Problem("Noisy", line, f"{transform_id} [{safety}] at column {column}: {message}")
            )
        for safety, message in wanted[len(found) :]:
            problems.append(
                Problem("Missing", line, f"{transform_id} [{safety}] at column {column}: {message}")
            )
    return problems


def snippet(source: bytes, line: int, context: int = 2) -> str:
    """The lines around one line of a source, numbered, that line marked with `>`."""
    lines = source.decode().splitlines()
    first, last = max(1, line - context), min(len(lines), line + context)
    return "\n".join(
        f"{'>' if n == line else ' '} {n:3} | {lines[n - 1]}" for n in range(first, last + 1)
    )


def describe(problems: Sequence[Problem], source: bytes, name: str) -> str:
    """A failure message: each problem in ast-grep's words, with the snippet it is about."""
    return "\n\n".join(
        f"{p.kind}: {name}:{p.line}: {p.detail}\n{snippet(source, p.line)}" for p in problems
    )


def unified(expected: str, actual: str, expected_name: str, actual_name: str) -> str:
    return "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            expected_name,
            actual_name,
        )
    )


def with_marker_safeties(source: bytes, findings: Sequence[Finding]) -> bytes:
    """source with each marker's safety set to that of its transform's finding on its line.

    A marker whose line holds no such finding, or findings of several safeties, is left as it
    is: the test goes on to report it.
    """
    safeties: dict[tuple[int, str], set[Safety]] = defaultdict(set)
    for finding in findings:
        safeties[finding.start.line, finding.transform_id].add(finding.safety)
    lines = source.decode().split("\n")
    for index, text in enumerate(lines):

        def entry(quoted: re.Match[str], line: int = index + 1) -> str:
            transform_id = quoted.group(1).partition(":")[0]
            found = safeties.get((line, transform_id), set())
            if len(found) != 1:
                return quoted.group(0)
            return f'"{transform_id}:{next(iter(found)).label}"'

        lines[index] = MARKER.sub(lambda m: "// want" + QUOTED.sub(entry, m.group(1)), text)
    return "\n".join(lines).encode()


def carry_markers(old_before: bytes, new_before: bytes, after: bytes) -> bytes:
    """after.go with its copies of before.go's markers rewritten as before.go's were.

    A rewrite keeps comments, so after.go holds before.go's markers in the same order (some
    may be gone with the code they sat on): each of after.go's markers is matched to the next
    marker of before.go with the same text.
    """
    old = [m.group(0) for m in MARKER.finditer(old_before.decode())]
    new = [m.group(0) for m in MARKER.finditer(new_before.decode())]
    changed = dict(enumerate(zip(old, new, strict=True)))
    position = 0

    def carried(marker: re.Match[str]) -> str:
        nonlocal position
        for index in range(position, len(old)):
            if changed[index][0] == marker.group(0):
                position = index + 1
                return changed[index][1]
        return marker.group(0)

    return MARKER.sub(carried, after.decode()).encode()
