"""`unleak pr` from start to end: check, fix in a worktree, commit, push, open or update the PR.

Order matters for safety: everything that can be refused (a dirty work tree, a branch that
is the base or holds someone else's commits, a token the forge rejects) is refused before
anything is pushed; once a push has happened, a failed API call puts the branch back as it
was (deleted, or reset to its previous tip), so the remote is never left half-done.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from codemod.bot import body
from codemod.bot.changes import (
    FixRunError,
    Rejected,
    TransformChange,
    fix_steps,
    ordered_transforms,
)
from codemod.bot.fingerprint import read_fingerprints
from codemod.bot.forge import (
    Forge,
    ForgeError,
    ForgeTarget,
    PullRequest,
    access_hint,
    resolve_target,
)
from codemod.bot.git import (
    BOT_IDENTITY,
    Git,
    GitError,
    auth_entries,
    commit_all,
    config_env,
    dirty_paths,
    fetch,
    foreign_commits,
    identity_env,
    ls_remote,
    merge_base,
    patch_id,
    push,
    remote_url,
    rev_parse,
    temporary_worktree,
    toplevel,
)
from codemod.bot.proof import Check, go_version, gofmt_check, vet_check
from codemod.bot.token import Token, TokenError, read_token
from codemod.config import ConfigError
from codemod.engine import RunOptions
from codemod.outputs import merge, read_config
from transforms import ALL_TRANSFORMS


class BotError(Exception):
    """Why the bot stopped: one line, exit 2."""


@dataclass(frozen=True)
class PrRequest:
    """The `unleak pr` command line, parsed."""

    path: Path
    base: str
    branch: str
    remote: str = "origin"
    forge: str | None = None
    repo: str | None = None
    api_url: str | None = None
    token_file: Path | None = None
    dry_run: bool = False
    options: RunOptions = field(default_factory=lambda: RunOptions(fix=True))
    flags_given: frozenset[str] = frozenset()
    config_file: str | None = None
    jobs: int | None = None
    author: tuple[str, str] = BOT_IDENTITY


@dataclass
class Console:
    """Where the bot speaks: `out` is stdout (the PR URL, or the dry-run report), `say` stderr."""

    out: Callable[[str], None]
    say: Callable[[str], None]


@dataclass
class Remote:
    """What the remote holds, read before anything is pushed."""

    forge: Forge
    target: ForgeTarget
    base_sha: str
    branch: str  # the branch this run pushes to: --branch, or --branch-N past closed PRs
    old_tip: str | None  # that branch's tip on the remote, if it exists
    open_pull: PullRequest | None
    rejected: list[PullRequest] = field(default_factory=list)  # closed unmerged, newest first


def make_forge(target: ForgeTarget, token: Token) -> Forge:
    # Imported here: a dry run never loads an HTTP client.
    if target.kind == "github":
        from codemod.bot.github import GitHubForge

        return GitHubForge(target.api_url, target.repo, token)
    from codemod.bot.gitea import GiteaForge

    return GiteaForge(target.api_url, target.repo, token)


def open_pull_request(request: PrRequest, console: Console) -> int:
    """Run the bot; returns the exit code. Raises BotError with a one-line reason."""
    try:
        return _run(request, console)
    except (GitError, ForgeError, TokenError, FixRunError, ConfigError) as error:
        raise BotError(str(error)) from None


def _run(request: PrRequest, console: Console) -> int:
    repository = toplevel(request.path)
    user = Git(repository)
    _check_names(user, request)
    dirty = dirty_paths(user)
    if dirty:
        shown = ", ".join(dirty[:3]) + (", ..." if len(dirty) > 3 else "")
        raise BotError(
            f"{repository}: the work tree has uncommitted changes ({shown}); "
            "commit or stash them first"
        )
    target_path = request.path.resolve().relative_to(repository).as_posix()
    remote: Remote | None = None
    if request.dry_run:
        base_sha = _local_base(user, request)
    else:
        user, remote = _read_remote(user, request)
        base_sha = remote.base_sha
        request = replace(request, branch=remote.branch)
    rejected = Rejected(frozenset().union(*(read_fingerprints(p.body) for p in _rejected(remote))))
    with temporary_worktree(user, base_sha) as worktree:
        commits, facts = _fix_and_commit(
            worktree, user, request, base_sha, target_path, console, rejected
        )
        tip = worktree.out("rev-parse", "HEAD")
        changes = [change for change, _, _ in commits]
        checks = _checks(worktree, base_sha, tip, changes, offline=request.dry_run)
    title = body.pull_title(changes)
    text = body.pull_body(changes, checks, facts)
    for check in checks:
        if check.ok is False:
            console.say(f"{check.name}: {check.summary}")
    if request.dry_run:
        if not commits:
            console.say(f"nothing to fix on {request.base} at {base_sha[:12]}; no branch needed")
            return 0
        console.out(
            body.dry_run_report(
                request.branch,
                request.base,
                base_sha,
                commits,
                title,
                text,
            )
        )
        return 0
    assert remote is not None
    if rejected.left_out:
        numbers = ", ".join(
            f"#{p.number}" for p in remote.rejected if read_fingerprints(p.body) & rejected.left_out
        )
        console.say(
            f"left out {_count(len(rejected.left_out), 'fix', 'fixes')} rejected in closed pull "
            f"request {numbers} (reopen it to have them proposed again)"
        )
    left_out = len(rejected.left_out)
    return _publish(user, request, remote, tip, changes, title, text, console, left_out)


def _rejected(remote: Remote | None) -> list[PullRequest]:
    return remote.rejected if remote is not None else []


def _count(number: int, word: str, plural: str) -> str:
    return f"{number} {word if number == 1 else plural}"


def _fix_and_commit(
    worktree: Git,
    user: Git,
    request: PrRequest,
    base_sha: str,
    target_path: str,
    console: Console,
    rejected: Rejected,
) -> tuple[list[tuple[TransformChange, str, str]], body.RunFacts]:
    """One commit per transform in the worktree: [(change, message, diffstat)], and the facts."""
    target = worktree.directory / target_path
    # The config is the base commit's: what the pull request will be merged into.
    config = read_config((str(target),), request.config_file, [t.id for t in ALL_TRANSFORMS])
    options = replace(merge(request.options, config, set(request.flags_given)), fix=True)
    notes: list[str] = []
    commits = []
    identity = identity_env(request.author)
    steps = fix_steps(worktree.directory, target, options, config, request.jobs, notes, rejected)
    for change in steps:
        message = body.commit_message(change)
        sha = commit_all(worktree, message, identity)
        stat = worktree.out("show", "--format=", "--stat=100", sha)
        commits.append((change, message, stat))
    for note in notes:
        console.say(note)
    facts = body.RunFacts(
        base=request.base,
        base_sha=base_sha,
        branch=request.branch,
        path=target_path,
        transforms=tuple(t.id for t in ordered_transforms(options)),
        threshold=options.apply_threshold,
        go_version=go_version(),
    )
    return commits, facts


def _check_names(git: Git, request: PrRequest) -> None:
    for flag, name in (("--base", request.base), ("--branch", request.branch)):
        if not git.succeeds("check-ref-format", "--branch", name) or name.startswith("-"):
            raise BotError(f"{flag} {name!r} is not a valid branch name")
    if request.branch == request.base:
        raise BotError(f"--branch {request.branch} is the base branch; the bot never pushes there")


def _local_base(git: Git, request: PrRequest) -> str:
    """A dry run reads no remote: the last-fetched remote base, else the local branch."""
    for ref in (f"refs/remotes/{request.remote}/{request.base}", f"refs/heads/{request.base}"):
        sha = rev_parse(git, ref)
        if sha:
            return sha
    tracking = f"{request.remote}/{request.base}"
    raise BotError(f"no branch {request.base!r} here (neither local nor {tracking})")


def _read_remote(git: Git, request: PrRequest) -> tuple[Git, Remote]:
    url = remote_url(git, request.remote)
    target = resolve_target(url, request.forge, request.repo, request.api_url)
    token = read_token(target.kind, request.token_file)
    network = config_env(auth_entries(url, token), os.environ)
    git = Git(git.directory, network, token.scrub)
    with _access_errors(target, request.remote, "read"):
        refs = ls_remote(git, request.remote, [request.base, request.branch, f"{request.branch}-*"])
    if request.base not in refs.heads:
        raise BotError(f"{request.remote} has no branch {request.base!r} (--base)")
    forge = make_forge(target, token)
    # The first API call checks the token and its permissions before anything is pushed.
    ours = [p for p in forge.pulls(request.base) if _in_family(p.head, request.branch)]
    ours.sort(key=lambda p: -p.number)
    open_pull = next((p for p in ours if p.state == "open"), None)
    rejected = [p for p in ours if p.rejected]
    branch = open_pull.head if open_pull is not None else _fresh_branch(request.branch, rejected)
    if branch == refs.default_branch:
        raise BotError(
            f"--branch {branch} is the default branch of {request.remote}; "
            "the bot only pushes to a branch of its own"
        )
    with _access_errors(target, request.remote, "read"):
        fetch(git, request.remote, [b for b in (request.base, branch) if b in refs.heads])
    old_tip = refs.heads.get(branch)
    base_sha = refs.heads[request.base]
    if old_tip is not None:
        foreign = foreign_commits(git, base_sha, old_tip)
        if foreign:
            told = _tell_once(forge, open_pull, body.foreign_commits_comment(branch, foreign))
            raise BotError(
                f"branch {branch} on {request.remote} holds commits unleak did not make "
                f"({foreign[0]}); the bot will not overwrite them{told} (pass another "
                "--branch, or delete that branch)"
            )
    remote = Remote(forge, target, base_sha, branch, old_tip, open_pull, rejected)
    return git, remote


def _in_family(head: str, branch: str) -> bool:
    """`branch` itself or `branch-N`: the names the bot gives its pull requests' branches."""
    suffix = head.removeprefix(f"{branch}-")
    return head == branch or (suffix != head and suffix.isdigit())


def _fresh_branch(branch: str, rejected: list[PullRequest]) -> str:
    """The first of branch, branch-2, branch-3, ... that no closed pull request came from: a
    rejected pull request's branch is the human's record of it, never rewritten."""
    taken = {p.head for p in rejected}
    name, number = branch, 1
    while name in taken:
        number += 1
        name = f"{branch}-{number}"
    return name


def _tell_once(forge: Forge, pull: PullRequest | None, comment: str) -> str:
    """Comment on the open pull request unless a comment with the same marker is there; says
    what it did, for the error line."""
    if pull is None:
        return ""
    marker = comment.split("\n", 1)[0]
    if forge.has_comment(pull, marker):
        return f" (as said on pull request #{pull.number})"
    forge.comment(pull, comment)
    return f" (said so on pull request #{pull.number})"


@contextmanager
def _access_errors(target: ForgeTarget, remote: str, wanted: str) -> Iterator[None]:
    """git's own words for a refused token ("could not read Username", "error: 403") become
    what to do about it."""
    try:
        yield
    except GitError as error:
        if error.http_status is None:
            raise
        hint = access_hint(target, error.http_status, wanted)
        status = error.http_status
        raise BotError(f"{error.command} {remote} failed (HTTP {status}): {hint}") from None


def _checks(
    worktree: Git, base: str, tip: str, changes: list[TransformChange], offline: bool
) -> list[Check]:
    if not changes:
        return []
    go_files = sorted({f.path for c in changes for f in c.files if f.path.endswith(".go")})
    return [
        gofmt_check(worktree, base, go_files),
        vet_check(worktree, base, tip, go_files, offline),
    ]


def _publish(
    git: Git,
    request: PrRequest,
    remote: Remote,
    tip: str,
    changes: list[TransformChange],
    title: str,
    text: str,
    console: Console,
    left_out: int = 0,
) -> int:
    forge, branch, base = remote.forge, request.branch, request.base
    if not changes:
        nothing = "nothing new to propose" if left_out else "nothing left to fix"
        console.say(f"{nothing} on {base} at {remote.base_sha[:12]}")
        pull = remote.open_pull
        if pull is not None:
            if forge.has_comment(pull, body.OBSOLETE_MARKER):
                console.say(f"pull request #{pull.number} is already marked obsolete")
            else:
                forge.comment(pull, body.obsolete_comment(base, remote.base_sha))
                console.say(f"commented on pull request #{pull.number} that it is obsolete")
            console.out(pull.url)
        return 0
    new_change = patch_id(git, remote.base_sha, tip)
    if remote.old_tip is not None:
        old_base = merge_base(git, remote.base_sha, remote.old_tip) or remote.base_sha
        if patch_id(git, old_base, remote.old_tip) == new_change:
            return _already_pushed(request, remote, title, text, console)
    with _access_errors(remote.target, request.remote, "push"):
        push(git, request.remote, tip, branch, expected=remote.old_tip)
    try:
        if remote.open_pull is not None:
            pull = forge.update_pull(remote.open_pull, title, text)
            verb = "updated"
        else:
            pull = forge.create_pull(branch, base, title, text)
            verb = "opened"
    except ForgeError as error:
        raise BotError(f"{error}; {_roll_back(git, request, remote, tip)}") from None
    pushed = "force-updated" if remote.old_tip else "pushed"
    commits = f"{len(changes)} commit{'s' if len(changes) != 1 else ''}"
    console.say(f"{pushed} {branch} ({commits}) to {request.remote}")
    console.say(f"{verb} pull request #{pull.number}: {pull.title}")
    console.out(pull.url)
    return 0


def _already_pushed(
    request: PrRequest, remote: Remote, title: str, text: str, console: Console
) -> int:
    """The remote branch already holds exactly these changes: at most open the missing PR."""
    branch = request.branch
    if remote.open_pull is not None:
        console.say(
            f"up to date: branch {branch} and pull request #{remote.open_pull.number} "
            "already hold these changes"
        )
        console.out(remote.open_pull.url)
        return 0
    pull = remote.forge.create_pull(branch, request.base, title, text)
    console.say(f"opened pull request #{pull.number}: {pull.title}")
    console.out(pull.url)
    return 0


def _roll_back(git: Git, request: PrRequest, remote: Remote, tip: str) -> str:
    """Put the branch back as it was before our push; says what happened, for the error line."""
    try:
        push(git, request.remote, remote.old_tip or "", request.branch, expected=tip)
    except GitError as error:
        return f"could not undo the push of {request.branch} ({error}): fix it by hand"
    if remote.old_tip is None:
        return f"deleted the branch {request.branch} it had pushed"
    return f"reset {request.branch} to its previous tip {remote.old_tip[:12]}"
