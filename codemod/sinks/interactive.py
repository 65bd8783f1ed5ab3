"""Interactive apply (`unleak fix -i`): hunk by hunk, like `git add -p`.

`review_file` is a pure generator (as in Fixit): it yields each hunk as an `Offer` and is sent
back an `Answer`; it returns the file's outcome. `InteractiveSink` is the terminal side: it
shows offers, reads answers, runs $EDITOR, and writes each file once, atomically, after its
last hunk, so an interrupt leaves every file untouched or fully written.
"""

from __future__ import annotations

import enum
import os
import re
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from codemod.edits import OverlappingEdits, conflicts
from codemod.go.parse import ParsedFile, parse_source
from codemod.hunks import (
    EditedHunkError,
    FixesConflict,
    edits_from_patch,
    fix_diff,
    rewrite_with,
    with_edits,
)
from codemod.model import Edit, FileResult, Finding, Safety
from codemod.patch import display_path
from codemod.requirements import module_updates
from codemod.sinks.terminal import colour_diff
from codemod.sinks.write import write_or_explain
from codemod.verify import RewriteRejected


class Choice(enum.Enum):
    YES = "y"  # apply this hunk
    NO = "n"  # skip it
    ALL = "a"  # apply it and every later hunk of this file
    DONE = "d"  # skip it and every later hunk of this file
    QUIT = "q"  # skip it and everything after; keep what was accepted
    EDIT = "e"  # apply a hand-edited version (Answer.edits)


HELP = """y - apply this change
n - do not apply this change
a - apply this change and all later changes in this file
d - do not apply this change or any later change in this file
q - quit; do not apply this change or any later one (what was accepted is kept)
e - edit this change in $EDITOR; used if it still parses and passes gofmt
? - print help
"""
# git's diff driver for Go (userdiff.c): the line a hunk sits in, shown after its `@@`.
GO_FUNCTION_LINE = re.compile(r"^[ \t]*(func[ \t].*|type[ \t].*(struct|interface)[ \t]*\{?)[ \t]*$")
_HUNK_START = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@$")


@dataclass(frozen=True)
class Answer:
    choice: Choice
    edits: tuple[Edit, ...] = ()  # for EDIT: the edited change, as edits on the original


@dataclass(frozen=True)
class Offer:
    finding: Finding
    diff: str  # this fix alone, as a patch of the original file
    number: int  # 1-based position among the file's hunks
    total: int
    note: str | None = None  # why the same hunk is offered again (a rejected edit)


@dataclass
class Outcome:
    accepted: list[Finding] = field(default_factory=list)
    content: bytes | None = None  # the file to write; None: leave it alone
    quit: bool = False
    notes: list[str] = field(default_factory=list)


def review_file(
    path: Path, parsed: ParsedFile, candidates: list[Finding], use_gofmt: bool
) -> Generator[Offer, Answer, Outcome]:
    """Offer each candidate fix; the answers decide which are re-applied to the original."""
    outcome = Outcome()
    offers = [(f, d) for f in candidates if (d := fix_diff(path, parsed, f, use_gofmt))]
    apply_rest = False
    for number, (finding, diff) in enumerate(offers, start=1):
        assert finding.fix is not None
        taken = [e for f in outcome.accepted if f.fix for e in f.fix.edits]
        if any(conflicts(mine, theirs) for mine in finding.fix.edits for theirs in taken):
            outcome.notes.append(
                f"line {finding.start.line}: overlaps an accepted change; run unleak again"
            )
            continue
        if apply_rest:
            outcome.accepted.append(finding)
            continue
        note = None
        while True:
            answer = yield Offer(finding, diff, number, len(offers), note)
            if answer.choice is not Choice.EDIT:
                break
            edited = with_edits(finding, answer.edits)
            try:
                rewrite_with(parsed, [*outcome.accepted, edited], use_gofmt)
            except (RewriteRejected, FixesConflict, OverlappingEdits, ValueError) as error:
                note = f"edited change not used: {error}"
                continue
            outcome.accepted.append(edited)
            break
        if answer.choice in (Choice.YES, Choice.ALL):
            outcome.accepted.append(finding)
        apply_rest = answer.choice is Choice.ALL
        if answer.choice is Choice.QUIT:
            outcome.quit = True
        if answer.choice in (Choice.DONE, Choice.QUIT):
            break
    if outcome.accepted:
        try:
            outcome.content = rewrite_with(parsed, outcome.accepted, use_gofmt)
        except (RewriteRejected, FixesConflict, OverlappingEdits, ValueError) as error:
            outcome.notes.append(f"accepted changes not written: {error}")
            outcome.accepted = []
    return outcome


Ask = Callable[[str], str]  # input(): raises EOFError / KeyboardInterrupt


class InteractiveSink:
    """The terminal side of `review_file`; sets `stopped` once the user quits."""

    def __init__(
        self,
        stream: TextIO,
        colour: bool,
        threshold: Safety,
        use_gofmt: bool,
        ask: Ask = input,
        editor: Callable[[str], str] | None = None,
    ) -> None:
        self.stream = stream
        self.colour = colour
        self.threshold = threshold
        self.use_gofmt = use_gofmt
        self.ask = ask
        self.editor = editor or run_editor
        self.stopped = False
        self.interrupted = False  # Ctrl-C at a question: quit as `q` does, then exit 130
        self.written: list[Path] = []
        self.errors: list[str] = []
        self.applied = 0
        self.findings_seen = 0  # in the files shown so far: what is not applied remains
        self.held_back = 0  # review fixes below the threshold: offered only with --unsafe
        # go.mod -> modules the written changes need (errgroup): added by write_requirements().
        self.requirements: dict[Path, set[tuple[str, str]]] = defaultdict(set)

    def accept(self, result: FileResult) -> None:
        if self.stopped or result.original is None:
            return
        self.findings_seen += len(result.findings)
        fixable = [f for f in result.findings if f.fix is not None]
        candidates = [f for f in fixable if f.safety >= self.threshold]
        self.held_back += len(fixable) - len(candidates)
        if not candidates:
            return
        parsed = parse_source(result.original)
        session = review_file(result.path, parsed, candidates, self.use_gofmt)
        new_modules = _modules_missing(result.gomod)
        try:
            offer = next(session)
            while True:
                offer = session.send(self._answer(offer, result.original, new_modules))
        except StopIteration as stop:
            outcome: Outcome = stop.value
        for note in outcome.notes:
            self.stream.write(f"unleak: {display_path(result.path)}: {note}\n")
        self.stopped = outcome.quit
        if outcome.content is not None and outcome.content != result.original:
            written = self._write(
                result.path, result.original, outcome.content, len(outcome.accepted)
            )
            if written and result.gomod is not None:
                for finding in outcome.accepted:
                    if finding.fix is not None:
                        self.requirements[result.gomod].update(finding.fix.requires)

    def write_requirements(self) -> None:
        """Add to go.mod (and go.sum) what the accepted changes import, once all are chosen.

        Not a hunk to accept: without it the accepted change does not build.
        """
        for update in module_updates({m: r for m, r in self.requirements.items() if r}):
            for note in update.notes:
                self.stream.write(f"unleak: {display_path(update.path)}: {note}\n")
            if update.original is None or update.rewritten is None:
                self.errors.append(f"{update.path}: {update.reason}")
                continue
            error = write_or_explain(update.path, update.original, update.rewritten, update.created)
            if error is not None:
                self.errors.append(error)
            else:
                self.stream.write(
                    f"unleak: wrote {display_path(update.path)} (for the accepted changes)\n"
                )

    def _write(self, path: Path, original: bytes, content: bytes, count: int) -> bool:
        error = write_or_explain(path, original, content)
        if error is not None:
            self.errors.append(error)
            return False
        self.written.append(path)
        self.applied += count
        noun = "change" if count == 1 else "changes"
        self.stream.write(f"unleak: wrote {display_path(path)} ({count} {noun})\n")
        return True

    def _answer(
        self, offer: Offer, original: bytes, new_modules: Callable[[Finding], list[str]]
    ) -> Answer:
        self._show(offer, original, new_modules(offer.finding))
        while True:
            try:
                reply = self.ask(
                    f"({offer.number}/{offer.total}) Apply this change [y,n,a,d,q,e,?]? "
                )
            except EOFError:
                self.stream.write("\n")
                return Answer(Choice.QUIT)  # end of input: stop, keep what was accepted
            except KeyboardInterrupt:
                # As in `git add -p`: Ctrl-C quits like `q`; what was accepted is written.
                self.stream.write("\n")
                self.interrupted = True
                return Answer(Choice.QUIT)
            reply = reply.strip().lower()[:1]
            if not reply:
                continue  # an empty Enter: ask again
            if reply == "?":
                self.stream.write(HELP)
                self._show(offer, original, new_modules(offer.finding))
                continue
            if reply == "e":
                try:
                    edited = self.editor(offer.diff)
                    return Answer(Choice.EDIT, edits_from_patch(original, edited))
                except KeyboardInterrupt:  # in the editor: as at the question
                    self.stream.write("\n")
                    self.interrupted = True
                    return Answer(Choice.QUIT)
                except (EditedHunkError, UnicodeDecodeError, OSError) as error:
                    self.stream.write(f"unleak: edited change not used: {error}\n")
                    continue
            try:
                return Answer(Choice(reply))
            except ValueError:
                self.stream.write(HELP)

    def _show(self, offer: Offer, original: bytes, new_modules: list[str]) -> None:
        from transforms import transform_by_id

        finding = offer.finding
        transform = transform_by_id(finding.transform_id)
        title = transform.title if transform else finding.transform_id
        where = f"{display_path(finding.path)}:{finding.start.line}:{finding.start.column}"
        bold, yellow, reset = ("\x1b[1m", "\x1b[33m", "\x1b[0m") if self.colour else ("",) * 3
        self.stream.write(
            f"{bold}{where}: {finding.transform_id} [{finding.safety.label}]{reset} {title}\n"
            f"{yellow}why:{reset} {finding.message}\n"
        )
        diff = with_function_context(offer.diff, original)
        self.stream.write(colour_diff(diff) if self.colour else diff)
        for module in new_modules:
            self.stream.write(
                f"unleak: accepting it also changes go.mod (and go.sum): require {module}\n"
            )
        if offer.note:
            self.stream.write(f"unleak: {offer.note}\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


def _modules_missing(gomod: Path | None) -> Callable[[Finding], list[str]]:
    """The modules a finding's fix needs that this go.mod does not require yet."""
    try:
        text = gomod.read_text(encoding="utf-8") if gomod is not None else ""
    except OSError:
        text = ""
    required = set(re.findall(r"^\s*(?:require\s+)?(\S+)\s+v\S+", text, re.MULTILINE))

    def missing(finding: Finding) -> list[str]:
        needs = finding.fix.requires if finding.fix is not None else ()
        return [f"{path} {version}" for path, version in needs if path not in required]

    return missing


def with_function_context(diff: str, original: bytes) -> str:
    """Each `@@` line followed by the `func` (or type) line its change sits in, as git shows
    it: the nearest such line at or above the last context line before the first change."""
    source_lines = original.decode("utf-8", "replace").splitlines()
    lines = diff.splitlines(keepends=True)
    for number, line in enumerate(lines):
        header = _HUNK_START.match(line.rstrip("\n"))
        if header is None:
            continue
        leading = 0  # context lines before the first change
        for body in lines[number + 1 :]:
            if not body.startswith(" "):
                break
            leading += 1
        last_unchanged = min(int(header.group(1)) - 1 + leading, len(source_lines))
        context = next(
            (
                source_lines[index].strip()
                for index in range(last_unchanged - 1, -1, -1)
                if GO_FUNCTION_LINE.match(source_lines[index])
            ),
            None,
        )
        if context is not None:
            lines[number] = f"{line.rstrip(chr(10))} {context[:80]}\n"
    return "".join(lines)


EDIT_GUIDE = """# ---
# To skip a '-' line, make it a ' ' line (context).
# To skip a '+' line, delete it. Change '+' lines as you like.
# Lines starting with # are removed. The edited change is used only if the
# file still parses and gofmt accepts it; delete everything to abort.
"""


def run_editor(diff: str) -> str:
    """Open the change in $VISUAL / $EDITOR (as git does, through the shell); return the text."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    handle, name = tempfile.mkstemp(prefix="unleak-", suffix=".diff")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write("# Manual hunk edit mode -- see the guide at the bottom.\n")
            file.write(diff + EDIT_GUIDE)
        completed = subprocess.run(["sh", "-c", f'{editor} "$@"', editor, name], check=False)
        if completed.returncode != 0:
            raise OSError(f"the editor ({editor}) exited with status {completed.returncode}")
        # newline="": a CRLF file's hunk must come back with its "\r\n" to match the file.
        with open(name, encoding="utf-8", newline="") as edited:
            return edited.read()
    finally:
        Path(name).unlink(missing_ok=True)
