"""Machine-readable reports on stdout: JSON (docs/json-format.md), SARIF 2.1.0, GitHub annotations.

Each sink collects what it needs per file (files are independent) and prints one document
when the run closes; every finding carries its fix alone, checked as a real rewrite would be.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from codemod import __version__
from codemod.edits import OverlappingEdits, apply_edits, normalize
from codemod.engine import choose_fixes, drop_unused_imports
from codemod.go.parse import ParsedFile, parse_source
from codemod.hunks import fix_diff
from codemod.model import Edit, FileResult, FileStatus, Finding, Safety
from codemod.patch import display_path, line_opcodes, split_lines
from codemod.suppress import UNUSED_IGNORE_ID
from codemod.verify import RewriteRejected, check_rewrite

JSON_FORMAT_VERSION = 1
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
UNUSED_IGNORE_TITLE = "An //unleak:ignore comment that silences nothing"


@dataclass
class _Tally:
    """What every report's summary counts, the same way the stderr summary line does."""

    files: int = 0
    changed: int = 0
    findings: Counter[str] = field(default_factory=Counter)
    applied: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def add(self, result: FileResult) -> None:
        self.files += 1
        self.changed += result.status is FileStatus.CHANGED
        self.findings.update(f.transform_id for f in result.findings)
        self.applied.update(f.transform_id for f in result.applied)
        if result.status in (FileStatus.SKIPPED, FileStatus.FAILED):
            self.skipped.append((display_path(result.path), result.reason or ""))


def _parsed(result: FileResult) -> ParsedFile | None:
    return parse_source(result.original) if result.original is not None else None


class JsonSink:
    """The versioned JSON report (schema in docs/json-format.md)."""

    def __init__(self, stream: TextIO, command: str, use_gofmt: bool = True) -> None:
        self.stream = stream
        self.command = command
        self.use_gofmt = use_gofmt
        self.tally = _Tally()
        self.findings: list[dict[str, Any]] = []

    def accept(self, result: FileResult) -> None:
        self.tally.add(result)
        parsed = _parsed(result) if result.findings else None
        for finding in result.findings:
            diff = fix_diff(finding.path, parsed, finding, self.use_gofmt) if parsed else None
            self.findings.append(
                {
                    "file": display_path(finding.path),
                    "line": finding.start.line,
                    "column": finding.start.column,
                    "end_line": finding.end.line,
                    "end_column": finding.end.column,
                    "id": finding.transform_id,
                    "title": _title(finding.transform_id),
                    "safety": finding.safety.label,
                    "message": finding.message,
                    "fix": diff,
                    "applied": finding in result.applied,
                }
            )

    def close(self) -> None:
        document = {
            "version": JSON_FORMAT_VERSION,
            "tool": {"name": "unleak", "version": __version__},
            "command": self.command,
            "findings": self.findings,
            "summary": {
                "files": self.tally.files,
                "findings": sum(self.tally.findings.values()),
                "by_id": dict(sorted(self.tally.findings.items())),
                "fixes_applied": sum(self.tally.applied.values()),
                "files_changed": self.tally.changed,
                "skipped": [{"file": f, "reason": r} for f, r in self.tally.skipped],
            },
        }
        json.dump(document, self.stream, indent=2)
        self.stream.write("\n")
        self.stream.flush()


def _title(transform_id: str) -> str:
    from transforms import transform_by_id

    if transform_id == UNUSED_IGNORE_ID:
        return UNUSED_IGNORE_TITLE
    transform = transform_by_id(transform_id)
    return transform.title if transform else transform_id


def utf16_column(source: bytes | None, line: int, byte_column: int) -> int:
    """A 1-based byte column as SARIF's default column kind counts it (UTF-16 code units)."""
    if source is None:
        return byte_column
    lines = source.split(b"\n")
    if not 1 <= line <= len(lines):
        return byte_column
    prefix = lines[line - 1][: byte_column - 1].decode("utf-8", "replace")
    return len(prefix.encode("utf-16-le")) // 2 + 1


class SarifSink:
    """SARIF 2.1.0 for GitHub code scanning: rules with help text, results with fixes."""

    def __init__(self, stream: TextIO, use_gofmt: bool = True) -> None:
        self.stream = stream
        self.use_gofmt = use_gofmt
        self.results: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []

    def accept(self, result: FileResult) -> None:
        if result.status in (FileStatus.SKIPPED, FileStatus.FAILED):
            self.notifications.append(
                {
                    "level": "error" if result.status is FileStatus.FAILED else "note",
                    "message": {"text": f"skipped: {result.reason}"},
                    "locations": [{"physicalLocation": _artifact(result.path)}],
                }
            )
        parsed = _parsed(result) if result.findings else None
        for finding in result.findings:
            self.results.append(self._result(finding, result.original, parsed))

    def _result(
        self, finding: Finding, source: bytes | None, parsed: ParsedFile | None
    ) -> dict[str, Any]:
        region = {
            "startLine": finding.start.line,
            "startColumn": utf16_column(source, finding.start.line, finding.start.column),
            "endLine": finding.end.line,
            "endColumn": utf16_column(source, finding.end.line, finding.end.column),
        }
        entry: dict[str, Any] = {
            "ruleId": finding.transform_id,
            "level": "warning",
            "message": {"text": finding.message},
            "locations": [{"physicalLocation": {**_artifact(finding.path), "region": region}}],
            "properties": {"safety": finding.safety.label},
        }
        fix = self._fix(finding, parsed)
        if fix is not None:
            entry["fixes"] = [fix]
        return entry

    def _fix(self, finding: Finding, parsed: ParsedFile | None) -> dict[str, Any] | None:
        if finding.fix is None or parsed is None:
            return None
        try:
            replacements = fix_replacements(parsed, finding, self.use_gofmt)
        except (RewriteRejected, OverlappingEdits, ValueError):
            return None
        if not replacements:
            return None
        return {
            "description": {"text": finding.fix.description},
            "artifactChanges": [
                {"artifactLocation": _artifact(finding.path)["artifactLocation"], **replacements}
            ],
        }

    def close(self) -> None:
        from transforms import ALL_TRANSFORMS

        rules = [_rule(t.id, t.title, t.documentation(), t.tags) for t in ALL_TRANSFORMS]
        if any(r["ruleId"] == UNUSED_IGNORE_ID for r in self.results):
            rules.append(_unused_ignore_rule())
        index = {rule["id"]: number for number, rule in enumerate(rules)}
        for entry in self.results:
            if entry["ruleId"] in index:
                entry["ruleIndex"] = index[entry["ruleId"]]
        document = {
            "$schema": SARIF_SCHEMA_URI,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "unleak",
                            "version": __version__,
                            "semanticVersion": __version__,
                            "rules": rules,
                        }
                    },
                    "originalUriBaseIds": {
                        "%SRCROOT%": {"uri": Path.cwd().resolve().as_uri() + "/"}
                    },
                    "columnKind": "utf16CodeUnits",
                    "invocations": [
                        {
                            "executionSuccessful": not any(
                                n["level"] == "error" for n in self.notifications
                            ),
                            "toolExecutionNotifications": self.notifications,
                        }
                    ],
                    "results": self.results,
                }
            ],
        }
        json.dump(document, self.stream, indent=2)
        self.stream.write("\n")
        self.stream.flush()


def _artifact(path: Path) -> dict[str, Any]:
    return {"artifactLocation": {"uri": quote(display_path(path)), "uriBaseId": "%SRCROOT%"}}


def _rule(
    rule_id: str, title: str, documentation: dict[str, str], tags: tuple[str, ...]
) -> dict[str, Any]:
    markdown = "\n\n".join(f"## {section}\n{body}" for section, body in documentation.items())
    what = documentation.get("What it does", title)
    why = documentation.get("Why is this bad?", "")
    return {
        "id": rule_id,
        "name": "".join(part.capitalize() for part in rule_id.split("-")),
        "shortDescription": {"text": title},
        "fullDescription": {"text": " ".join(f"{what} {why}".split())},
        "help": {"text": markdown, "markdown": markdown},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["goroutine-leak", *tags]},
    }


def _unused_ignore_rule() -> dict[str, Any]:
    text = (
        "An `//unleak:ignore` comment that silences no finding on its line or the next: the "
        "idiom was fixed or the id is wrong. Delete the comment."
    )
    rule = _rule(UNUSED_IGNORE_ID, UNUSED_IGNORE_TITLE, {"What it does": text}, ())
    rule["defaultConfiguration"] = {"level": "note"}
    return rule


def fix_replacements(parsed: ParsedFile, finding: Finding, use_gofmt: bool) -> dict[str, Any]:
    """SARIF `replacements` for this finding's fix alone, checked as `fix` checks a rewrite.

    The fix's own edits (imports included) are emitted as they are; only when the check
    changed more (gofmt, an import left unused) are the two files compared.
    """
    accepted, edits, notes = choose_fixes([finding], Safety.REPORT_ONLY, parsed)
    if notes or not accepted:
        raise RewriteRejected("; ".join(notes) or "no fix")
    edited = apply_edits(parsed.source, edits)
    rewritten = check_rewrite(parsed, drop_unused_imports(edited, accepted), use_gofmt).source
    if rewritten == edited:
        return edit_replacements(edits)
    return byte_replacements(parsed.source, rewritten)


def edit_replacements(edits: list[Edit]) -> dict[str, Any]:
    """Byte-range edits as SARIF `replacements`; edits that touch are merged into one, so no
    two replacements share an offset (their order would be unknown)."""
    merged: list[Edit] = []
    for edit in normalize(edits):
        if merged and merged[-1].end == edit.start:
            last = merged.pop()
            edit = Edit(last.start, edit.end, last.text + edit.text)
        merged.append(edit)
    replacements = [_replacement(e.start, e.end - e.start, e.text) for e in merged]
    return {"replacements": replacements} if replacements else {}


def _replacement(offset: int, length: int, text: str) -> dict[str, Any]:
    replacement: dict[str, Any] = {"deletedRegion": {"byteOffset": offset, "byteLength": length}}
    if text:
        replacement["insertedContent"] = {"text": text}
    return replacement


def byte_replacements(before: bytes, after: bytes) -> dict[str, Any]:
    """SARIF `replacements`: line-granular changes from before to after, as byte regions."""
    old = split_lines(before)
    new = split_lines(after)
    offsets = [0]
    for line in old:
        offsets.append(offsets[-1] + len(line))
    replacements = []
    for tag, old_start, old_end, new_start, new_end in line_opcodes(old, new):
        if tag == "equal":
            continue
        inserted = b"".join(new[new_start:new_end]).decode("utf-8")
        length = offsets[old_end] - offsets[old_start]
        replacements.append(_replacement(offsets[old_start], length, inserted))
    return {"replacements": replacements} if replacements else {}


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubSink:
    """GitHub workflow commands: `::warning file=...,line=...,col=...,title=...::message`."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def accept(self, result: FileResult) -> None:
        for finding in result.findings:
            properties = {
                "file": display_path(finding.path),
                "line": str(finding.start.line),
                "col": str(finding.start.column),
                "endLine": str(finding.end.line),
                "endColumn": str(finding.end.column),
                "title": f"unleak {finding.transform_id} [{finding.safety.label}]",
            }
            rendered = ",".join(f"{k}={_escape_property(v)}" for k, v in properties.items())
            level = "notice" if finding.transform_id == UNUSED_IGNORE_ID else "warning"
            self.stream.write(f"::{level} {rendered}::{_escape_data(finding.message)}\n")

    def close(self) -> None:
        self.stream.flush()
