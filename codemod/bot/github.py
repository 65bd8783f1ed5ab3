"""GitHub (REST v3, github.com or a GitHub Enterprise Server base URL) through PyGithub."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import requests
from github import (
    Auth,
    BadCredentialsException,
    Github,
    GithubException,
    RateLimitExceededException,
    UnknownObjectException,
)
from github.PullRequest import PullRequest as GithubPull
from github.Repository import Repository

from codemod import __version__
from codemod.bot.forge import MAX_PULLS_READ, ForgeError, PullRequest, describe_reset
from codemod.bot.token import Token

TIMEOUT = 30


class GitHubForge:
    name = "GitHub"

    def __init__(self, api_url: str, repo: str, token: Token) -> None:
        self.api_url = api_url
        self.repo_name = repo
        self.owner = repo.split("/", 1)[0]
        self._token = token
        # retry=None: PyGithub would otherwise sleep through a rate limit (up to an hour);
        # the bot reports the reset time instead and leaves the retry to the user's schedule.
        self._github = Github(
            auth=Auth.Token(token.reveal()),
            base_url=api_url,
            timeout=TIMEOUT,
            user_agent=f"unleak/{__version__}",
            per_page=100,
            retry=None,
        )
        self._repo: Repository = self._github.withLazy(True).get_repo(repo)
        self._pulls: dict[int, GithubPull] = {}

    def pulls(self, base: str) -> list[PullRequest]:
        found: list[PullRequest] = []
        with self._errors(f"list the pull requests of {self.repo_name}"):
            for read, pull in enumerate(self._repo.get_pulls(state="all", base=base)):
                if read == MAX_PULLS_READ:
                    break
                head_repo = pull.head.repo
                if head_repo is not None and head_repo.full_name.lower() == self.repo_name.lower():
                    found.append(self._keep(pull))
        return found

    def create_pull(self, branch: str, base: str, title: str, body: str) -> PullRequest:
        with self._errors(f"open a pull request from {branch} into {base}"):
            return self._keep(
                self._repo.create_pull(base=base, head=branch, title=title, body=body)
            )

    def update_pull(self, pull: PullRequest, title: str, body: str) -> PullRequest:
        with self._errors(f"update pull request #{pull.number}"):
            original = self._pulls[pull.number]
            original.edit(title=title, body=body)
            return self._keep(original)

    def has_comment(self, pull: PullRequest, marker: str) -> bool:
        with self._errors(f"read the comments of pull request #{pull.number}"):
            return any(
                marker in (c.body or "") for c in self._pulls[pull.number].get_issue_comments()
            )

    def comment(self, pull: PullRequest, body: str) -> None:
        with self._errors(f"comment on pull request #{pull.number}"):
            self._pulls[pull.number].create_issue_comment(body)

    def _keep(self, pull: GithubPull) -> PullRequest:
        self._pulls[pull.number] = pull
        # merged_at, not merged: a listed pull request lacks `merged`, and reading it costs a call.
        merged = pull.merged_at is not None
        body = pull.body or ""
        return PullRequest(
            pull.number, pull.html_url, pull.state, pull.title, body, pull.head.ref, merged
        )

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except GithubException as error:
            raise ForgeError(self._token.scrub(github_message(error, action, self))) from None
        except requests.RequestException as error:
            reason = type(error).__name__
            raise ForgeError(f"cannot reach the GitHub API at {self.api_url} ({reason})") from None


def github_message(error: GithubException, action: str, forge: GitHubForge) -> str:
    """One line for a failed call: what failed, GitHub's reason, and what to do."""
    data = error.data if isinstance(error.data, dict) else {}
    reason = str(data.get("message") or "").strip()
    details = [
        str(e.get("message") or e.get("code") or "")
        for e in data.get("errors") or []
        if isinstance(e, dict)
    ]
    if details:
        reason = f"{reason}: {'; '.join(d for d in details if d)}" if reason else "; ".join(details)
    said = f" ({error.status} {reason})" if reason else f" ({error.status})"
    headers = {k.lower(): v for k, v in (error.headers or {}).items()}
    limited = headers.get("x-ratelimit-remaining") == "0" or (
        error.status in (403, 429) and "retry-after" in headers  # a secondary rate limit
    )
    if isinstance(error, RateLimitExceededException) or limited:
        retry_after = headers.get("retry-after")
        when = (
            f"retry after {retry_after} s"
            if retry_after
            else describe_reset(headers.get("x-ratelimit-reset"))
        )
        return f"GitHub API rate limit exceeded while trying to {action}; {when}"
    hint = ""
    if isinstance(error, BadCredentialsException) or error.status == 401:
        hint = "; check GITHUB_TOKEN or --token-file"
    elif error.status == 403:
        hint = f"; the token needs contents: write and pull-requests: write on {forge.repo_name}"
    elif isinstance(error, UnknownObjectException) or error.status == 404:
        hint = f"; no repository {forge.repo_name} at {forge.api_url}, or the token cannot see it"
    return f"GitHub refused to {action}{said}{hint}"
