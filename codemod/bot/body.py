"""The words of the bot: commit messages, the pull request's title and body, the obsolete note.

Pure functions of the changes and the checks, so a dry run prints exactly what a real run
sends, and tests can read them without a repository.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from dataclasses import dataclass

from codemod import __version__
from codemod.bot.changes import FileChange, TransformChange
from codemod.bot.fingerprint import fingerprints_comment
from codemod.bot.git import TRAILER
from codemod.bot.proof import Check
from codemod.model import Safety
from codemod.transform import Transform

PULL_MARKER = "<!-- unleak:pull-request -->"
OBSOLETE_MARKER = "<!-- unleak:obsolete -->"
FOREIGN_MARKER = "<!-- unleak:foreign-commits -->"
MAX_FILES_LISTED = 50  # per transform; GitHub caps a body at 65,536 characters
WRAP = 72

SAFETY_MEANING = {
    Safety.SAFE: "behaviour-preserving except that the leak goes away",
    Safety.REVIEW: "changes behaviour beyond the leak: applied because of --unsafe, needs a look",
    Safety.REPORT_ONLY: "reported only",
}


@dataclass(frozen=True)
class RunFacts:
    """What was run, on what: the header of the proof."""

    base: str
    base_sha: str
    branch: str
    path: str  # what `unleak fix` ran on, relative to the repository root
    transforms: tuple[str, ...]
    threshold: Safety
    go_version: str | None


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


def _paragraphs(text: str, width: int = WRAP) -> str:
    """Re-wrap the documentation's paragraphs (they are wrapped for 100 columns)."""
    blocks = [" ".join(block.split()) for block in text.split("\n\n") if block.strip()]
    return "\n\n".join(textwrap.fill(b, width, break_on_hyphens=False) for b in blocks)


def _lines(change: FileChange) -> str:
    lines = sorted({line for line, _ in change.fixes})
    return ", ".join(str(line) for line in lines)


def _safety_label(safeties: list[Safety]) -> str:
    return " / ".join(s.label for s in safeties) or "safe"


def commit_message(change: TransformChange) -> str:
    """Subject: the transform's title; then the why, the files, and the trailer."""
    transform = change.transform
    docs = transform.documentation()
    safety = _safety_label(change.safeties)
    parts = [
        transform.title,
        "",
        textwrap.fill(
            f"{transform.id} ({safety}): {_plural(change.fix_count, 'fix', 'fixes')} in "
            f"{_plural(len(change.files), 'file')}.",
            WRAP,
        ),
        "",
        _paragraphs(docs.get("Why is this bad?", "")),
        "",
        "Files:",
    ]
    for file in change.files:
        if file.fixes:
            parts.append(f"- {file.path} (line {_lines(file)})")
        else:
            parts.append(f"- {file.path} ({'new, ' if file.created else ''}module requirements)")
    parts += ["", f"Run `unleak explain {transform.id}` for the full explanation.", ""]
    parts.append(f"{TRAILER}: {transform.id}")
    return "\n".join(parts) + "\n"


def merged(changes: list[TransformChange]) -> list[tuple[Transform, list[FileChange]]]:
    """Changes grouped by transform, in first-commit order (a transform may commit twice)."""
    grouped: dict[str, list[FileChange]] = defaultdict(list)
    transforms: dict[str, Transform] = {}
    for change in changes:
        transforms.setdefault(change.transform.id, change.transform)
        grouped[change.transform.id].extend(change.files)
    return [(transforms[key], grouped[key]) for key in transforms]


def pull_title(changes: list[TransformChange]) -> str:
    fixes = sum(c.fix_count for c in changes)
    return f"unleak: fix {_plural(fixes, 'goroutine-leak-prone idiom')}"


def pull_body(changes: list[TransformChange], checks: list[Check], facts: RunFacts) -> str:
    fixes = sum(c.fix_count for c in changes)
    files = {f.path for c in changes for f in c.files}
    groups = merged(changes)
    out = [
        PULL_MARKER,
        "unleak rewrote "
        f"**{_plural(fixes, 'goroutine-leak-prone idiom')}** in "
        f"**{_plural(len(files), 'file')}**, with "
        f"{_plural(len(changes), 'commit')} (one per transform). Each section says which "
        "idiom it found, why it leaks in Go, and how far the fix can be trusted.",
        "",
    ]
    for number, (transform, file_changes) in enumerate(groups, start=1):
        out += _section(number, transform, file_changes)
    out += _proof(checks, facts)
    out += [
        "",
        "---",
        f"Opened by `unleak pr` from branch `{facts.branch}`; running it again updates this "
        f"pull request (it never pushes to `{facts.base}`). Leave a fix out with "
        "`//unleak:ignore ID reason` on the line, or `ignore = [...]` in `[tool.unleak]`. "
        "Closing this pull request unmerged rejects its fixes: later runs leave them out "
        "(reopen it to have them proposed again).",
        "",
        # Which fixes this is, for the runs after a human closed it.
        fingerprints_comment([fp for c in changes for fp in c.fingerprints]),
    ]
    return "\n".join(out) + "\n"


def _section(number: int, transform: Transform, changes: list[FileChange]) -> list[str]:
    docs = transform.documentation()
    safeties = sorted({s for c in changes for _, s in c.fixes}, reverse=True) or [transform.safety]
    count = sum(len(c.fixes) for c in changes)
    out = [
        f"### {number}. {transform.title}",
        "",
        f"`{transform.id}`, {_plural(count, 'fix', 'fixes')}, safety: "
        + ", ".join(f"**{s.label}** ({SAFETY_MEANING[s]})" for s in safeties),
        "",
        "**The idiom.** " + " ".join(docs.get("What it does", "").split()),
        "",
        "**Why it leaks.** " + " ".join(docs.get("Why is this bad?", "").split()),
        "",
        "**Fix safety.** " + " ".join(docs.get("Fix safety", "").split()),
        "",
        "| file | fixes at lines |",
        "| --- | --- |",
    ]
    for change in changes[:MAX_FILES_LISTED]:
        where = _lines(change) if change.fixes else "module requirements"
        out.append(f"| `{change.path}` | {where} |")
    if len(changes) > MAX_FILES_LISTED:
        out.append(f"| ... and {len(changes) - MAX_FILES_LISTED} more | |")
    out += [
        "",
        f"Before/after example: `unleak explain {transform.id}`.",
        "",
    ]
    return out


def _proof(checks: list[Check], facts: RunFacts) -> list[str]:
    where = f" `{facts.path}`" if facts.path not in ("", ".") else ""
    out = [
        "### Checks",
        "",
        f"- unleak {__version__} ran `unleak fix{where}` on `{facts.base}` at "
        f"`{facts.base_sha[:12]}` with {_plural(len(facts.transforms), 'transform')} "
        f"({', '.join(facts.transforms)}), applying fixes marked `{facts.threshold.label}`"
        + (" or safer" if facts.threshold < Safety.SAFE else "")
        + "; every rewrite re-parsed with no new syntax errors.",
    ]
    for check in checks:
        mark = {True: "passed", False: "FAILED", None: "not conclusive"}[check.ok]
        out.append(f"- {check.name} ({mark}): {check.summary}")
    if facts.go_version:
        out.append(f"- Go toolchain: {facts.go_version}")
    for check in checks:
        if check.output:
            out += [
                "",
                f"<details><summary>{check.name} output</summary>",
                "",
                "```",
                check.output.replace("```", "'''"),
                "```",
                "</details>",
            ]
    return out


def obsolete_comment(base: str, base_sha: str) -> str:
    return (
        f"{OBSOLETE_MARKER}\n"
        f"unleak found nothing left to fix on `{base}` at `{base_sha[:12]}`: every change in "
        "this pull request is already there or no longer applies. It is obsolete and can be "
        "closed.\n"
    )


def foreign_commits_comment(branch: str, commits: list[str]) -> str:
    shown = "; ".join(commits[:3]) + ("; ..." if len(commits) > 3 else "")
    return (
        f"{FOREIGN_MARKER}\n"
        f"unleak stopped updating this pull request: its branch `{branch}` now holds commits "
        f"unleak did not make ({shown}), and it will not overwrite them: the pull request is "
        "yours now. To hand it back to unleak, remove those commits from the branch (a merge "
        "of the base branch, as the *Update branch* button makes, is fine).\n"
    )


def dry_run_report(
    branch: str,
    base: str,
    base_sha: str,
    commits: list[tuple[TransformChange, str, str]],
    title: str,
    body: str,
) -> str:
    """What `--dry-run` prints: the branch, each commit (message and diffstat), and the PR."""
    out = [
        f"branch: {branch} (from {base} at {base_sha[:12]}), "
        f"{_plural(len(commits), 'commit')}; nothing was pushed",
        "",
    ]
    for number, (_, message, stat) in enumerate(commits, start=1):
        out.append(f"commit {number}/{len(commits)}:")
        out += ["    " + line if line else "" for line in message.rstrip("\n").splitlines()]
        out += ["", *("    " + line for line in stat.rstrip("\n").splitlines()), ""]
    out += [f"pull request: {title}", "", body]
    return "\n".join(out)
