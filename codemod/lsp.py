"""`unleak lsp`: a language server (pygls) that gives editors unleak's findings and fixes.

Each open Go file goes through the per-file pipeline `unleak scan` runs (codemod/engine.py),
on the editor's text, with the module's go.mod facts, the package's other files from disk and
the config file `scan` would read for that path. A finding becomes a diagnostic; its code
actions apply the checked rewrite `fix` makes for it, every safe fix of the file, or an
`//unleak:ignore <id>` above it (codemod/add_ignore.py). A failure is logged to the client as
one line and the server goes on: an editor must never lose its server to one odd file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import click
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from codemod import __version__
from codemod.add_ignore import IgnoreRefused, checked_with_ignores
from codemod.config import Config, ConfigError
from codemod.edits import OverlappingEdits, apply_edits, follow_line_endings
from codemod.engine import (
    RunOptions,
    cached_scan,
    choose_fixes,
    drop_unused_imports,
    is_generated,
    process_source,
)
from codemod.go.parse import parse_source
from codemod.gomod import NO_MODULE_GO_VERSION, ModuleFacts, parse_gomod
from codemod.model import Finding, Safety
from codemod.outputs import merge, read_config
from codemod.package import Siblings
from codemod.verify import RewriteRejected, check_rewrite

SOURCE = "unleak"
FIX_ALL_TITLE = "Fix all safe leaks in this file"
FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.{SOURCE}"
_logger = logging.getLogger(__name__)


@dataclass
class Analysis:
    """One version of one document through the pipeline, and the code actions worked out so
    far (a rewrite runs gofmt: editors ask for actions on every cursor move)."""

    path: Path
    source: bytes
    module: ModuleFacts
    options: RunOptions
    findings: list[Finding]
    rewrites: dict[tuple[str, int], bytes | None] = field(default_factory=dict)

    def siblings(self) -> Siblings:
        return Siblings.of_file(self.path, self.source)


def module_facts(path: Path) -> ModuleFacts:
    """The nearest go.mod's facts, read now: a long-running server must see go.mod edits,
    which codemod.gomod's per-run caches would hide."""
    directory = Path(path).absolute().parent
    for candidate in (directory, *directory.parents):
        gomod = candidate / "go.mod"
        if gomod.is_file():
            try:
                return parse_gomod(gomod.read_text(encoding="utf-8", errors="replace"), gomod)
            except OSError:
                return ModuleFacts(None, NO_MODULE_GO_VERSION, gomod)
    return ModuleFacts(None, NO_MODULE_GO_VERSION, None)


def run_options(path: Path) -> tuple[RunOptions, Config]:
    """scan's options for this path: its config file (.unleak.toml or [tool.unleak]), no flags.
    Raises ConfigError when the config file cannot be used."""
    from transforms import ALL_TRANSFORMS

    config = read_config((str(path),), None, [t.id for t in ALL_TRANSFORMS])
    options = merge(RunOptions(use_cache=True), config, set())
    if config.require_ignore_reason:
        options = replace(options, require_ignore_reason=True)
    return options, config


def analyse(path: Path, source: bytes) -> Analysis | None:
    """The findings `unleak scan` gives for this text at this path; None for a file scan
    leaves alone (excluded by the config, generated, binary)."""
    options, config = run_options(path)
    if config.excludes(path) or b"\0" in source or is_generated(source):
        return None
    module = module_facts(path)
    if options.go_version is not None:
        module = replace(module, go_version=options.go_version)
    # The cache is keyed on the bytes: only the saved text is worth an entry, not each
    # keystroke's, which would never be asked for again.
    if options.use_cache and not options.require_ignore_reason and _on_disk(path, source):
        result = cached_scan(path, source, module, options)
    else:
        siblings = Siblings.of_file(path, source)
        result = process_source(path, source, module, options, siblings)
    return Analysis(path, source, module, options, list(result.findings))


def _on_disk(path: Path, source: bytes) -> bool:
    try:
        return path.read_bytes() == source
    except OSError:
        return False


def fix_one(analysis: Analysis, finding: Finding) -> bytes | None:
    """The file with this finding's fix alone, checked as `fix` checks a rewrite (it parses,
    gofmt accepts it, imports follow); None when there is no fix or the check refuses it."""
    key = ("fix", _finding_index(analysis, finding))
    if key not in analysis.rewrites:
        analysis.rewrites[key] = _checked_fix(analysis, finding)
    return analysis.rewrites[key]


def _checked_fix(analysis: Analysis, finding: Finding) -> bytes | None:
    if finding.fix is None or finding.safety < Safety.REVIEW:
        return None
    parsed = parse_source(analysis.source)
    accepted, edits, _notes = choose_fixes([finding], Safety.REVIEW, parsed)
    if not accepted:
        return None
    try:
        edits = follow_line_endings(analysis.source, edits)
        rewritten = drop_unused_imports(apply_edits(analysis.source, edits), accepted)
        checked = check_rewrite(parsed, rewritten, analysis.options.use_gofmt)
    except (RewriteRejected, OverlappingEdits):
        return None
    return checked.source if checked.source != analysis.source else None


def fix_all_safe(analysis: Analysis) -> bytes | None:
    """The file as `unleak fix --write` would leave it (safe fixes, every round)."""
    key = ("all", 0)
    if key not in analysis.rewrites:
        options = replace(analysis.options, fix=True, use_cache=False, apply_threshold=Safety.SAFE)
        result = process_source(
            analysis.path, analysis.source, analysis.module, options, analysis.siblings()
        )
        analysis.rewrites[key] = result.rewritten if result.rewritten != analysis.source else None
    return analysis.rewrites[key]


def with_ignore(analysis: Analysis, finding: Finding) -> bytes | None:
    """The file with `//unleak:ignore <id>` above the finding; None when that cannot be done
    cleanly (the comment would land in a raw string, gofmt refuses)."""
    key = ("ignore", _finding_index(analysis, finding))
    if key not in analysis.rewrites:
        try:
            rewritten, added = checked_with_ignores(
                analysis.source, [finding], "", analysis.options.use_gofmt
            )
        except IgnoreRefused:
            rewritten, added = analysis.source, 0
        analysis.rewrites[key] = rewritten if added else None
    return analysis.rewrites[key]


def _finding_index(analysis: Analysis, finding: Finding) -> int:
    return next(i for i, f in enumerate(analysis.findings) if f is finding)


class LineIndex:
    """Byte offsets and (line, byte column) positions of a text to LSP positions, whose
    character counts units of the negotiated encoding (UTF-16 unless the client offers more)."""

    def __init__(self, source: bytes, encoding: str = types.PositionEncodingKind.Utf16) -> None:
        self.source = source
        self.encoding = encoding
        self.starts = [0]
        for index, byte in enumerate(source):
            if byte == 0x0A:
                self.starts.append(index + 1)

    def position(self, offset: int) -> types.Position:
        offset = max(0, min(offset, len(self.source)))
        line = _bisect_right(self.starts, offset) - 1
        return types.Position(line, self._units(self.source[self.starts[line] : offset]))

    def position_at(self, line: int, column: int) -> types.Position:
        """A finding's 1-based line and 1-based byte column."""
        line_index = max(0, min(line - 1, len(self.starts) - 1))
        return self.position(self.starts[line_index] + column - 1)

    def _units(self, prefix: bytes) -> int:
        text = prefix.decode("utf-8", errors="replace")
        if self.encoding == types.PositionEncodingKind.Utf8:
            return len(text.encode("utf-8"))
        if self.encoding == types.PositionEncodingKind.Utf32:
            return len(text)
        return len(text.encode("utf-16-le")) // 2


def _bisect_right(values: list[int], value: int) -> int:
    low, high = 0, len(values)
    while low < high:
        middle = (low + high) // 2
        if values[middle] <= value:
            low = middle + 1
        else:
            high = middle
    return low


def finding_range(index: LineIndex, finding: Finding) -> types.Range:
    return types.Range(
        start=index.position_at(finding.start.line, finding.start.column),
        end=index.position_at(finding.end.line, finding.end.column),
    )


def diagnostic(index: LineIndex, finding: Finding) -> types.Diagnostic:
    severity = (
        types.DiagnosticSeverity.Information
        if finding.safety is Safety.REPORT_ONLY
        else types.DiagnosticSeverity.Warning
    )
    return types.Diagnostic(
        range=finding_range(index, finding),
        message=finding.message,
        severity=severity,
        code=finding.transform_id,
        source=SOURCE,
        data={"safety": finding.safety.label},
    )


def text_edit(index: LineIndex, old: bytes, new: bytes) -> types.TextEdit:
    """One edit turning old into new: the whole lines between their common prefix and suffix
    (an editor previews whole lines best, and a line break never splits a character)."""
    limit = min(len(old), len(new))
    prefix = 0
    while prefix < limit and old[prefix] == new[prefix]:
        prefix += 1
    prefix = old.rfind(b"\n", 0, prefix) + 1
    suffix = 0
    while suffix < limit - prefix and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    end = len(old) - suffix
    if end > 0 and old[end - 1] != 0x0A:
        line_end = old.find(b"\n", end)
        end = len(old) if line_end == -1 else line_end + 1
    suffix = len(old) - end
    return types.TextEdit(
        range=types.Range(index.position(prefix), index.position(end)),
        new_text=new[prefix : len(new) - suffix].decode("utf-8"),
    )


class UnleakServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(SOURCE, __version__)
        self.analyses: dict[str, tuple[int | None, Analysis | None]] = {}

    @property
    def encoding(self) -> str:
        encoding = self.workspace.position_encoding
        return str(encoding.value if isinstance(encoding, types.PositionEncodingKind) else encoding)

    def log(self, level: types.MessageType, message: str) -> None:
        _logger.log(logging.ERROR if level is types.MessageType.Error else logging.INFO, message)
        self.window_log_message(types.LogMessageParams(type=level, message=f"unleak: {message}"))

    def analysis(self, uri: str) -> Analysis | None:
        """The document's current analysis, worked out once per version; None for what unleak
        does not look at (not a file:// URI, not .go, excluded) or cannot (logged)."""
        document = self.workspace.get_text_document(uri)
        cached = self.analyses.get(uri)
        if cached is not None and cached[0] == document.version and document.version is not None:
            return cached[1]
        path_text = to_fs_path(uri) if uri.startswith("file:") else None
        result: Analysis | None = None
        if path_text is not None and path_text.endswith(".go"):
            path = Path(path_text)
            try:
                result = analyse(path, document.source.encode("utf-8"))
            except ConfigError as error:
                self.log(types.MessageType.Error, str(error))
            except RecursionError:
                self.log(types.MessageType.Error, f"{path}: nesting too deep to analyse")
        self.analyses[uri] = (document.version, result)
        return result

    def publish(self, uri: str) -> None:
        if not uri.startswith("file:"):
            return  # an untitled buffer or a remote file: not ours to judge, not even empty
        try:
            analysis = self.analysis(uri)
            diagnostics = []
            if analysis is not None:
                index = LineIndex(analysis.source, self.encoding)
                diagnostics = [diagnostic(index, f) for f in analysis.findings]
            version = self.workspace.get_text_document(uri).version
        except Exception as error:  # never a traceback that ends the server
            self.log(types.MessageType.Error, f"{uri}: {type(error).__name__}: {error}")
            _logger.exception("analysing %s", uri)
            return
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version)
        )

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        analysis = self.analysis(uri)
        if analysis is None:
            return []
        index = LineIndex(analysis.source, self.encoding)
        version = self.workspace.get_text_document(uri).version
        only = params.context.only
        actions: list[types.CodeAction] = []

        def edit_to(rewritten: bytes) -> types.WorkspaceEdit:
            return self._workspace_edit(uri, version, text_edit(index, analysis.source, rewritten))

        def wanted(kind: str) -> bool:
            return only is None or any(kind == k or kind.startswith(f"{k}.") for k in only)

        for finding in analysis.findings:
            found_range = finding_range(index, finding)
            if not _overlaps(found_range, params.range):
                continue
            reported = [d for d in params.context.diagnostics if _is_ours(d, finding, found_range)]
            if wanted(types.CodeActionKind.QuickFix):
                fixed = fix_one(analysis, finding) if finding.fix is not None else None
                if fixed is not None and finding.fix is not None:
                    review = finding.safety is Safety.REVIEW
                    title = f"Fix{' (review)' if review else ''}: {finding.fix.description}"
                    actions.append(
                        types.CodeAction(
                            title=title,
                            kind=types.CodeActionKind.QuickFix,
                            diagnostics=reported,
                            edit=edit_to(fixed),
                            is_preferred=not review,
                        )
                    )
                ignored = with_ignore(analysis, finding)
                if ignored is not None:
                    actions.append(
                        types.CodeAction(
                            title=f"Ignore {finding.transform_id} here",
                            kind=types.CodeActionKind.QuickFix,
                            diagnostics=reported,
                            edit=edit_to(ignored),
                        )
                    )
        safe_fixable = any(f.fix is not None and f.safety is Safety.SAFE for f in analysis.findings)
        fix_all_kind = (
            FIX_ALL_KIND
            if only is not None and not wanted(types.CodeActionKind.QuickFix)
            else types.CodeActionKind.QuickFix
        )
        if safe_fixable and (wanted(FIX_ALL_KIND) or wanted(types.CodeActionKind.QuickFix)):
            rewritten = fix_all_safe(analysis)
            if rewritten is not None:
                actions.append(
                    types.CodeAction(
                        title=FIX_ALL_TITLE, kind=fix_all_kind, edit=edit_to(rewritten)
                    )
                )
        return actions

    def _workspace_edit(
        self, uri: str, version: int | None, edit: types.TextEdit
    ) -> types.WorkspaceEdit:
        capabilities = self.client_capabilities.workspace
        versioned = (
            capabilities is not None
            and capabilities.workspace_edit is not None
            and bool(capabilities.workspace_edit.document_changes)
        )
        if not versioned:
            return types.WorkspaceEdit(changes={uri: [edit]})
        document = types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version)
        return types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(text_document=document, edits=[edit])]
        )


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(position: types.Position) -> tuple[int, int]:
        return position.line, position.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _is_ours(reported: types.Diagnostic, finding: Finding, found_range: types.Range) -> bool:
    return (
        reported.source == SOURCE
        and reported.code == finding.transform_id
        and reported.range == found_range
    )


def build_server() -> UnleakServer:
    server = UnleakServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: UnleakServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: UnleakServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: UnleakServer, params: types.DidSaveTextDocumentParams) -> None:
        # The text is unchanged but go.mod, the config or a sibling file may have been.
        ls.analyses.pop(params.text_document.uri, None)
        ls.publish(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: UnleakServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.analyses.pop(params.text_document.uri, None)
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
        )

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND],
        ),
    )
    def code_action(ls: UnleakServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        try:
            return ls.code_actions(params)
        except Exception as error:  # an empty menu, not a dead server
            uri = params.text_document.uri
            ls.log(types.MessageType.Error, f"{uri}: {type(error).__name__}: {error}")
            _logger.exception("code actions for %s", uri)
            return []

    return server


@click.command("lsp")
def lsp() -> None:
    """Run the language server on stdin and stdout (editor setup: README, "In your editor")."""
    build_server().start_io()
