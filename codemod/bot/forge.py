"""What the bot needs from a forge (GitHub, Gitea), and where the forge is, from the git remote."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import urlsplit

FORGES = ("github", "gitea")
GITHUB_HOST = "github.com"
GITHUB_API = "https://api.github.com"

# Pull requests read to find the bot's own (open and closed) among a repository's.
MAX_PULLS_READ = 1000


class ForgeError(Exception):
    """An API call failed: one line saying what failed and what to do (never the token)."""


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str
    state: str
    title: str
    body: str
    head: str = ""  # the branch it merges from
    merged: bool = False

    @property
    def rejected(self) -> bool:
        """Closed by a human without merging: its changes were turned down."""
        return self.state == "closed" and not self.merged


class Forge(Protocol):
    """The pull-request operations of one repository on one forge."""

    name: str  # "GitHub", "Gitea": how messages call it

    def pulls(self, base: str) -> list[PullRequest]:
        """Pull requests from this repository's branches into `base`, open and closed, newest
        first (at most MAX_PULLS_READ)."""

    def create_pull(self, branch: str, base: str, title: str, body: str) -> PullRequest: ...

    def update_pull(self, pull: PullRequest, title: str, body: str) -> PullRequest: ...

    def has_comment(self, pull: PullRequest, marker: str) -> bool:
        """Whether a comment on the pull request contains `marker`."""

    def comment(self, pull: PullRequest, body: str) -> None: ...


@dataclass(frozen=True)
class RemoteLocation:
    """Where a git remote URL points: scheme, host (with port) and the repository path."""

    scheme: str  # https, http, or ssh
    host: str  # host[:port]
    path: str  # owner/name, without .git

    @property
    def full_name(self) -> str | None:
        parts = self.path.split("/")
        return self.path if len(parts) == 2 and all(parts) else None


_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?([^:/]+):(?!//)(.+)$")


def parse_remote_url(url: str) -> RemoteLocation | None:
    """https://host/o/r.git, ssh://git@host/o/r.git or git@host:o/r.git; None for local paths."""
    if "://" in url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https", "ssh", "git") or not parts.hostname:
            return None
        host = parts.hostname + (f":{parts.port}" if parts.port and parts.scheme != "ssh" else "")
        return RemoteLocation(parts.scheme, host, _repo_path(parts.path))
    match = _SCP_LIKE.match(url)
    if match and not url.startswith(("/", ".")):
        return RemoteLocation("ssh", match.group(1), _repo_path(match.group(2)))
    return None


def _repo_path(path: str) -> str:
    return path.strip("/").removesuffix(".git")


@dataclass(frozen=True)
class ForgeTarget:
    """The resolved --forge, --repo and --api-url."""

    kind: str
    repo: str  # owner/name
    api_url: str

    @property
    def owner(self) -> str:
        return self.repo.split("/", 1)[0]


def resolve_target(
    url: str, forge: str | None, repo: str | None, api_url: str | None
) -> ForgeTarget:
    """Fill in what the flags left out from the remote URL, or say which flag is missing."""
    location = parse_remote_url(url)
    if forge is None:
        if location is None or location.host != GITHUB_HOST:
            where = location.host if location else "a local path"
            raise ForgeError(f"the remote points to {where}: pass --forge github or --forge gitea")
        forge = "github"
    if repo is None:
        repo = location.full_name if location else None
        if repo is None:
            raise ForgeError(
                "cannot tell the repository from the remote URL: pass --repo owner/name"
            )
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        raise ForgeError(f"--repo {repo!r}: expected owner/name")
    if api_url is None:
        api_url = _default_api_url(forge, location)
    return ForgeTarget(forge, repo, api_url.rstrip("/"))


def _default_api_url(forge: str, location: RemoteLocation | None) -> str:
    if location is None:
        raise ForgeError("cannot tell the API URL from a local remote: pass --api-url URL")
    if forge == "github" and location.host == GITHUB_HOST:
        return GITHUB_API
    # The web server's scheme; an ssh remote's host is assumed to serve https.
    scheme = location.scheme if location.scheme in ("http", "https") else "https"
    suffix = "/api/v3" if forge == "github" else "/api/v1"  # GitHub Enterprise Server, Gitea
    return f"{scheme}://{location.host}{suffix}"


# What a token needs, per forge: to read (fetch) and to push, and where it comes from.
_TOKEN_SOURCES = {"github": "GITHUB_TOKEN (or GH_TOKEN)", "gitea": "GITEA_TOKEN"}
_PUSH_PERMISSIONS = {
    "github": "Contents: write (and Pull requests: write)",
    "gitea": "the write:repository scope (and write:issue)",
}


def access_hint(target: ForgeTarget, status: int, wanted: str) -> str:
    """What to do when the forge's git server refused the token with `status`; `wanted` is
    "read" or "push"."""
    source = f"{_TOKEN_SOURCES[target.kind]} or --token-file"
    if status == 401:
        return f"the token was refused: check {source}"
    if status == 403 and wanted == "push":
        return (
            f"the token may read {target.repo} but not push to it: it needs "
            f"{_PUSH_PERMISSIONS[target.kind]} on {target.repo}"
        )
    if status == 403:
        return f"the token may not read {target.repo}: it needs {_PUSH_PERMISSIONS[target.kind]}"
    return f"no repository {target.repo} there, or the token ({source}) cannot see it"


def describe_reset(epoch: str | None, now: datetime | None = None) -> str:
    """'resets at 12:34:56 UTC (in 5 min)' from an X-RateLimit-Reset value (epoch seconds)."""
    try:
        moment = datetime.fromtimestamp(int(epoch or ""), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return "try again later"
    now = now or datetime.now(tz=UTC)
    minutes = max(0, round((moment - now).total_seconds() / 60))
    return f"resets at {moment:%Y-%m-%d %H:%M:%S} UTC (in {minutes} min)"
