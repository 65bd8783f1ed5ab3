"""Triage output: text for people, JSON for tools (docs/triage.md), or one combined patch."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from codemod import __version__
from codemod.go.parse import parse_source
from codemod.hunks import FixesConflict, rewrite_with
from codemod.model import Finding, Safety
from codemod.patch import display_path, unified_diff
from codemod.triage.mapping import Module, Origin, local_file, origin
from codemod.triage.model import Frame, Report
from codemod.triage.sites import LeakSite
from codemod.verify import RewriteRejected

TRIAGE_FORMAT_VERSION = 1
STACK_FRAMES_SHOWN = 12
FORMATS = ("text", "json", "diff")
STATUSES = ("fix", "finding", "no-known-fix", "outside-module")


def site_location(site: LeakSite) -> str:
    if site.local is not None:
        return f"{display_path(site.local)}:{site.frame.line}"
    return f"{site.frame.file}:{site.frame.line}"


def _goroutines(count: int) -> str:
    return f"{count} goroutine{'s' if count != 1 else ''}"


def write_text(stream: TextIO, sites: Sequence[LeakSite], module: Module) -> None:
    for index, site in enumerate(sites):
        if index:
            stream.write("\n")
        verb = "leaked" if site.leaked else "blocked"
        waited = f" for {site.waited}" if site.waited else ""
        stream.write(
            f"{site_location(site)}: {_goroutines(site.count)} {verb} in {site.state_text}"
            f"{waited}, in {site.frame.function}\n"
        )
        for line in site.source:
            marker = ">" if line.number == site.frame.line else " "
            stream.write(f"  {marker}{line.number:5d} | {line.text}\n")
        stream.write(_verdict(site, module))
        _write_stack(stream, site, module)


def no_known_fix(site: LeakSite) -> str:
    """The line a blocked site with no matching transform gets, so the user lands on it."""
    state = site.state or "wait"
    text = f"no known fix: {state} at {site_location(site)} in {site.frame.function}"
    if site.waited:
        text += f", blocked {site.waited}"
    return text + (", leaked" if site.leaked else "")


def _verdict(site: LeakSite, module: Module) -> str:
    if site.local is None:
        return f"  outside {module.path} ({site.origin.value}): shown, not patched\n"
    if site.note:
        return f"  not analysed: {site.note}\n  {no_known_fix(site)}\n"
    if not site.findings:
        return f"  {no_known_fix(site)}\n"
    parts = []
    for matched in site.findings:
        finding = matched.finding
        parts.append(
            f"  {finding.transform_id} [{finding.safety.label}] at line {finding.start.line}: "
            f"{finding.message}\n"
        )
        if matched.diff is None:
            parts.append(
                "  no fix offered: the idiom is reported, but cannot be rewritten safely here\n"
            )
            continue
        needs = (
            " (needs review: `unleak fix --unsafe` applies it)"
            if finding.safety is Safety.REVIEW
            else ""
        )
        description = finding.fix.description if finding.fix else ""
        parts.append(f"  proposed fix{needs}: {description}\n")
        parts.extend(f"    {line}\n" for line in matched.diff.splitlines())
    return "".join(parts)


def _write_stack(stream: TextIO, site: LeakSite, module: Module) -> None:
    stream.write("  stack:\n")
    for frame in site.stack[:STACK_FRAMES_SHOWN]:
        stream.write(f"    {frame.function}  {_frame_place(frame, module)}\n")
    if len(site.stack) > STACK_FRAMES_SHOWN:
        stream.write(f"    ... {len(site.stack) - STACK_FRAMES_SHOWN} more frames\n")
    if site.created_by is not None:
        created = site.created_by
        stream.write(f"    created by {created.function}  {_frame_place(created, module)}\n")


def _frame_place(frame: Frame, module: Module) -> str:
    local = local_file(frame, module)
    if local is not None:
        return f"{display_path(local)}:{frame.line}"
    kind = origin(frame, module)
    label = "" if kind is Origin.MODULE else f"  ({kind.value})"
    return f"{frame.file}:{frame.line}{label}"


def summary_line(report: Report, sites: Sequence[LeakSite]) -> str:
    blocked = sum(site.count for site in sites)
    if not sites:
        return f"{report.label}: {_goroutines(report.goroutines)}, none blocked"
    by_status = Counter(site.status for site in sites)
    words = {
        "fix": "with a fix",
        "finding": "with a finding but no fix",
        "no-known-fix": "with no known fix",
        "outside-module": "outside the module",
    }
    details = ", ".join(f"{by_status[s]} {words[s]}" for s in STATUSES if by_status[s])
    noun = "leak site" if len(sites) == 1 else "leak sites"
    return f"{report.label}: {_goroutines(blocked)} blocked at {len(sites)} {noun} ({details})"


def write_json(
    stream: TextIO, source: str, report: Report, sites: Sequence[LeakSite], module: Module
) -> None:
    document = {
        "version": TRIAGE_FORMAT_VERSION,
        "tool": {"name": "unleak", "version": __version__},
        "command": "triage",
        "report": {
            "source": source,
            "format": report.format,
            "label": report.label,
            "goroutines": report.goroutines,
        },
        "module": {"path": module.path, "root": display_path(module.root)},
        "sites": [_site_json(site, module) for site in sites],
        "summary": {
            "blocked_goroutines": sum(site.count for site in sites),
            "sites": len(sites),
            "by_status": {s: sum(1 for x in sites if x.status == s) for s in STATUSES},
        },
    }
    json.dump(document, stream, indent=2)
    stream.write("\n")


def _site_json(site: LeakSite, module: Module) -> dict[str, Any]:
    return {
        "count": site.count,
        "state": site.state,
        "state_from_source": site.state_from_source,
        "leaked": site.leaked,
        "wait_minutes": site.wait_minutes,
        "function": site.frame.function,
        "file": display_path(site.local) if site.local else site.frame.file,
        "line": site.frame.line,
        "origin": site.origin.value,
        "status": site.status,
        "message": no_known_fix(site) if site.status == "no-known-fix" else None,
        "note": site.note,
        "source": [{"line": line.number, "text": line.text} for line in site.source],
        "findings": [
            {
                "id": m.finding.transform_id,
                "title": m.title,
                "safety": m.finding.safety.label,
                "message": m.finding.message,
                "line": m.finding.start.line,
                "column": m.finding.start.column,
                "end_line": m.finding.end.line,
                "end_column": m.finding.end.column,
                "fix": m.diff,
            }
            for m in site.findings
        ],
        "stack": [_frame_json(frame, module) for frame in site.stack],
        "created_by": _frame_json(site.created_by, module) if site.created_by else None,
    }


def _frame_json(frame: Frame, module: Module) -> dict[str, Any]:
    local = local_file(frame, module)
    return {
        "function": frame.function,
        "file": frame.file,
        "line": frame.line,
        "origin": origin(frame, module).value,
        "local_file": display_path(local) if local else None,
    }


def combined_patch(sites: Sequence[LeakSite], threshold: Safety, use_gofmt: bool) -> str:
    """One patch with every site's fixes at or above the threshold, file by file."""
    by_file: dict[Path, list[Finding]] = {}
    for site in sites:
        for matched in site.findings:
            finding = matched.finding
            if matched.diff and finding.safety >= threshold and site.local is not None:
                chosen = by_file.setdefault(site.local, [])
                if finding not in chosen:
                    chosen.append(finding)
    patches = []
    for path in sorted(by_file):
        source = path.read_bytes()
        parsed = parse_source(source)
        kept: list[Finding] = []
        rewritten = source
        for finding in by_file[path]:  # one by one: a fix that collides waits for a re-run
            try:
                rewritten = rewrite_with(parsed, [*kept, finding], use_gofmt)
            except (FixesConflict, RewriteRejected, ValueError):
                continue
            kept.append(finding)
        patches.append(unified_diff(path, source, rewritten))
    return "".join(patches)
