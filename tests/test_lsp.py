"""`unleak lsp` end to end: pygls' LanguageClient drives `python -m codemod.cli lsp` over stdio.

Each case copies a fixture's before.go into a module of its own (the fixture's go.mod, or the
default one tests/conftest.py gives fixtures) and compares what the editor sees with what
`unleak scan` and after.go say about the same file.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

from codemod.lsp import FIX_ALL_TITLE, LineIndex, text_edit
from tests.conftest import DEFAULT_FIXTURE_GO_VERSION, FIXTURES, ROOT

# Fixtures whose before.go holds one finding, of a safe fix, that `fix` turns into after.go
# with every transform running (as the server runs them).
CASES = ["lost-cancel/discarded-cancel", "range-unclosed-channel/two-producers"]
# One finding whose fix is `review` (applied only with --unsafe).
REVIEW_CASE = "close-producer-channel/directional-param"
# One finding with no fix at all.
REPORT_ONLY_CASE = "detached-context/closure-fan-out"
TIMEOUT = 120.0  # seconds; the machine running the suite may be loaded


def module_with(case: str, directory: Path) -> Path:
    """before.go copied into a module of its own, as the fixture tests see it; its path."""
    source = FIXTURES / case
    directory.mkdir(parents=True)
    gomod = source / "go.mod"
    default = f"module fixture\n\ngo {DEFAULT_FIXTURE_GO_VERSION}\n"
    (directory / "go.mod").write_text(gomod.read_text() if gomod.exists() else default)
    path = directory / "leaky.go"
    path.write_bytes((source / "before.go").read_bytes())
    return path


def scan_json(path: Path) -> list[dict[str, Any]]:
    completed = subprocess.run(
        [sys.executable, "-m", "codemod.cli", "scan", "--format", "json", "--no-cache", str(path)],
        capture_output=True,
        text=True,
        cwd=path.parent,
        check=False,
    )
    findings: list[dict[str, Any]] = json.loads(completed.stdout)["findings"]
    return findings


class Editor:
    """A client session: open, change, ask for actions, and wait for diagnostics."""

    def __init__(self) -> None:
        self.client = LanguageClient("unleak-test", "0")
        self.published: dict[str, list[types.PublishDiagnosticsParams]] = defaultdict(list)
        self.logged: list[str] = []
        self.versions: dict[str, int] = {}

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def on_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            self.published[params.uri].append(params)

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def on_log(params: types.LogMessageParams) -> None:
            self.logged.append(params.message)

    async def start(self, cwd: Path) -> None:
        await self.client.start_io(sys.executable, "-m", "codemod.cli", "lsp", cwd=str(cwd))
        capabilities = types.ClientCapabilities(
            workspace=types.WorkspaceClientCapabilities(
                workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True)
            )
        )
        await self.client.initialize_async(
            types.InitializeParams(capabilities=capabilities, root_uri=from_fs_path(str(cwd)))
        )
        self.client.initialized(types.InitializedParams())

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()

    def open(self, uri: str, text: str) -> None:
        self.versions[uri] = 1
        item = types.TextDocumentItem(uri=uri, language_id="go", version=1, text=text)
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))

    def save(self, uri: str) -> None:
        document = types.TextDocumentIdentifier(uri=uri)
        self.client.text_document_did_save(types.DidSaveTextDocumentParams(text_document=document))

    async def republished(self, uri: str, before: int) -> list[types.Diagnostic]:
        """The diagnostics of the first publication after the `before` ones seen so far."""
        await wait_for(lambda: len(self.published[uri]) > before)
        return list(self.published[uri][before].diagnostics)

    def change(self, uri: str, text: str) -> None:
        self.versions[uri] += 1
        document = types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri])
        whole = types.TextDocumentContentChangeWholeDocument(text=text)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(text_document=document, content_changes=[whole])
        )

    async def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        """The diagnostics published for the document's current version."""

        def current() -> bool:
            return any(p.version == self.versions[uri] for p in self.published[uri])

        await wait_for(current)
        published = [p for p in self.published[uri] if p.version == self.versions[uri]]
        return list(published[-1].diagnostics)

    async def actions(
        self, uri: str, diagnostics: list[types.Diagnostic], only: list[str] | None = None
    ) -> list[types.CodeAction]:
        whole = types.Range(types.Position(0, 0), types.Position(10_000, 0))
        params = types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostics[0].range if diagnostics else whole,
            context=types.CodeActionContext(diagnostics=diagnostics, only=only),
        )
        result = await self.client.text_document_code_action_async(params)
        return [a for a in result or [] if isinstance(a, types.CodeAction)]


async def wait_for(condition: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the server did not answer in time")
        await asyncio.sleep(0.02)


def applied(text: str, action: types.CodeAction) -> str:
    """The document after the action's WorkspaceEdit, applied as an editor would."""
    assert action.edit is not None and action.edit.document_changes is not None
    (change,) = action.edit.document_changes
    assert isinstance(change, types.TextDocumentEdit)
    source = text.encode("utf-8")
    offsets = LineIndex(source)
    for edit in sorted(change.edits, key=lambda e: _key(e.range.start), reverse=True):
        assert isinstance(edit, types.TextEdit)
        start = offset_of(offsets, edit.range.start)
        end = offset_of(offsets, edit.range.end)
        source = source[:start] + edit.new_text.encode("utf-8") + source[end:]
    return source.decode("utf-8")


def _key(position: types.Position) -> tuple[int, int]:
    return position.line, position.character


def offset_of(index: LineIndex, position: types.Position) -> int:
    """The byte offset of an LSP (UTF-16) position."""
    start = index.starts[position.line]
    line = index.source[start:].split(b"\n", 1)[0].decode("utf-8")
    units = 0
    for count, character in enumerate(line):
        if units >= position.character:
            return start + len(line[:count].encode("utf-8"))
        units += len(character.encode("utf-16-le")) // 2
    return start + len(line.encode("utf-8"))


def run(session: Callable[[Editor], Any], cwd: Path) -> None:
    async def main() -> None:
        editor = Editor()
        await editor.start(cwd)
        try:
            await session(editor)
        finally:
            await editor.stop()

    asyncio.run(main())


@pytest.mark.parametrize("case", CASES)
def test_diagnostics_match_scan_and_fixes_give_after(case: str, tmp_path: Path) -> None:
    path = module_with(case, tmp_path / "module")
    uri = from_fs_path(str(path))
    before = path.read_text()
    after = (FIXTURES / case / "after.go").read_text()
    assert before.isascii()  # so that LSP characters are byte columns, as scan counts them
    scanned = scan_json(path)
    assert scanned, f"{case}: scan finds nothing to compare with"

    async def session(editor: Editor) -> None:
        editor.open(uri, before)
        diagnostics = await editor.diagnostics(uri)
        seen = [
            (
                d.code,
                d.range.start.line + 1,
                d.range.start.character + 1,
                d.range.end.line + 1,
                d.range.end.character + 1,
                d.message,
                d.source,
                d.severity,
            )
            for d in diagnostics
        ]
        expected = [
            (
                f["id"],
                f["line"],
                f["column"],
                f["end_line"],
                f["end_column"],
                f["message"],
                "unleak",
                types.DiagnosticSeverity.Warning,
            )
            for f in scanned
        ]
        assert seen == expected

        actions = {a.title: a for a in await editor.actions(uri, diagnostics)}
        fixes = [a for title, a in actions.items() if title.startswith("Fix: ")]
        assert len(fixes) == 1 and fixes[0].is_preferred
        assert applied(before, fixes[0]) == after
        assert applied(before, actions[FIX_ALL_TITLE]) == after
        (ignore,) = [a for t, a in actions.items() if t == f"Ignore {scanned[0]['id']} here"]
        silenced = applied(before, ignore)
        assert f"//unleak:ignore {scanned[0]['id']}" in silenced

        # What fix-on-save asks for: the whole file's safe fixes, no per-finding actions.
        (on_save,) = await editor.actions(uri, [], only=[types.CodeActionKind.SourceFixAll])
        assert (on_save.title, on_save.kind) == (FIX_ALL_TITLE, "source.fixAll.unleak")
        assert applied(before, on_save) == after

        editor.change(uri, after)
        assert await editor.diagnostics(uri) == []
        editor.change(uri, silenced)
        assert await editor.diagnostics(uri) == []
        editor.change(uri, before)
        assert len(await editor.diagnostics(uri)) == len(scanned)

    run(session, tmp_path)


def test_config_is_read_and_bad_input_does_not_stop_the_server(tmp_path: Path) -> None:
    case = CASES[0]
    path = module_with(case, tmp_path / "module")
    uri = from_fs_path(str(path))
    before = path.read_text()
    finding_id = scan_json(path)[0]["id"]

    async def session(editor: Editor) -> None:
        # A file with a declaration that does not parse: the parsable ones are still judged.
        broken = from_fs_path(str(tmp_path / "module" / "broken.go"))
        editor.open(broken, before + "\nfunc broken( {\n\tgo func(\n")
        assert [d.code for d in await editor.diagnostics(broken)] == [finding_id]
        # An untitled buffer is not a file unleak can place in a module: no diagnostics at all.
        editor.open("untitled:Untitled-1", before)
        editor.open(uri, before)
        assert [d.code for d in await editor.diagnostics(uri)] == [finding_id]
        # The config file `scan` reads is read for each analysis: ignoring the id silences it.
        (tmp_path / "module" / ".unleak.toml").write_text(f'ignore = ["{finding_id}"]\n')
        editor.change(uri, before + "\n")
        assert await editor.diagnostics(uri) == []
        # A config unleak cannot use is logged to the client, and the server goes on.
        (tmp_path / "module" / ".unleak.toml").write_text("ignore = [\n")
        editor.change(uri, before)
        assert await editor.diagnostics(uri) == []
        assert any(".unleak.toml: not valid TOML" in m for m in editor.logged)
        (tmp_path / "module" / ".unleak.toml").unlink()
        editor.change(uri, before)
        assert [d.code for d in await editor.diagnostics(uri)] == [finding_id]
        assert "untitled:Untitled-1" not in editor.published

    run(session, tmp_path)


def test_save_reads_the_disk_again_and_saved_text_uses_the_scan_cache(
    tmp_path: Path,
) -> None:
    case = CASES[1]
    path = module_with(case, tmp_path / "module")
    uri = from_fs_path(str(path))
    before = path.read_text()
    finding_id = scan_json(path)[0]["id"]
    entries = cache_entries_under(Path(os.environ["XDG_CACHE_HOME"]))

    async def session(editor: Editor) -> None:
        editor.open(uri, before)
        assert [d.code for d in await editor.diagnostics(uri)] == [finding_id]
        saved = entries()
        assert saved, "the saved text's findings were not cached"
        # Unsaved text is analysed without writing entries no one would ask for again.
        editor.change(uri, before + "\n// unsaved\n")
        assert [d.code for d in await editor.diagnostics(uri)] == [finding_id]
        assert entries() == saved
        # Same text, but the config on disk changed: a save makes the server read it again.
        (tmp_path / "module" / ".unleak.toml").write_text(f'ignore = ["{finding_id}"]\n')
        seen = len(editor.published[uri])
        editor.save(uri)
        assert await editor.republished(uri, seen) == []

    run(session, tmp_path)


def test_report_only_finding_is_information_with_only_an_ignore(tmp_path: Path) -> None:
    path = module_with(REPORT_ONLY_CASE, tmp_path / "module")
    uri = from_fs_path(str(path))
    before = path.read_text()
    (finding,) = scan_json(path)

    async def session(editor: Editor) -> None:
        editor.open(uri, before)
        diagnostics = await editor.diagnostics(uri)
        assert [(d.code, d.severity) for d in diagnostics] == [
            (finding["id"], types.DiagnosticSeverity.Information)
        ]
        titles = [a.title for a in await editor.actions(uri, diagnostics)]
        assert titles == [f"Ignore {finding['id']} here"]

    run(session, tmp_path)


def cache_entries_under(directory: Path) -> Callable[[], set[Path]]:
    return lambda: {p for p in directory.rglob("*") if p.is_file()}


def test_review_fix_is_offered_as_review_and_not_preferred(tmp_path: Path) -> None:
    case = REVIEW_CASE
    path = module_with(case, tmp_path / "module")
    uri = from_fs_path(str(path))
    before = path.read_text()

    async def session(editor: Editor) -> None:
        editor.open(uri, before)
        diagnostics = await editor.diagnostics(uri)
        assert [d.severity for d in diagnostics] == [types.DiagnosticSeverity.Warning]
        actions = await editor.actions(uri, diagnostics)
        (review,) = [a for a in actions if a.title.startswith("Fix (review): ")]
        assert not review.is_preferred
        # As `fix --unsafe` would rewrite it; a safe-only "fix all" has nothing to offer.
        assert applied(before, review) == (FIXTURES / case / "after.go").read_text()
        assert FIX_ALL_TITLE not in [a.title for a in actions]

    run(session, tmp_path)


def test_positions_count_utf16_units_and_edits_take_whole_lines() -> None:
    prefix = '\tname := "😀ü"; '
    source = f"package p\n{prefix}go f()\nvar x = 1\n".encode()
    index = LineIndex(source)
    # The finding's byte column of `go`, as LSP's default UTF-16 character: 😀 counts two.
    column = len(prefix.encode()) + 1
    assert index.position_at(2, column) == types.Position(1, len(prefix.encode("utf-16-le")) // 2)
    edit = text_edit(index, source, source.replace(b"go f()", b"go g()"))
    assert edit.range == types.Range(types.Position(1, 0), types.Position(2, 0))
    assert edit.new_text == f"{prefix}go g()\n"


@given(
    old=st.lists(st.sampled_from(["a", "é", "😀", "\n", "\t", "go"]), max_size=12).map("".join),
    new=st.lists(st.sampled_from(["a", "é", "😀", "\n", "\t", "go"]), max_size=12).map("".join),
)
def test_applying_the_edit_gives_the_new_text(old: str, new: str) -> None:
    assume(old != new)
    edit = text_edit(LineIndex(old.encode()), old.encode(), new.encode())
    action = types.CodeAction(
        title="t",
        edit=types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri="u"),
                    edits=[edit],
                )
            ]
        ),
    )
    assert applied(old, action) == new
    assert edit.range.start.character == 0


def test_lsp_command_is_listed() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "codemod.cli", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    assert "lsp" in completed.stdout.split()
