"""Gitea through its own REST API v1, with requests (Gitea's Python clients are unmaintained)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from codemod import __version__
from codemod.bot.forge import MAX_PULLS_READ, ForgeError, PullRequest, describe_reset
from codemod.bot.token import Token

TIMEOUT = 30
PAGE_SIZE = 50
MAX_PAGES = MAX_PULLS_READ // PAGE_SIZE


class GiteaForge:
    name = "Gitea"

    def __init__(self, api_url: str, repo: str, token: Token) -> None:
        self.api_url = api_url
        self.repo_name = repo
        self._token = token
        self._session = requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"token {token.reveal()}",
                "Accept": "application/json",
                "User-Agent": f"unleak/{__version__}",
            }
        )
        # Only our Authorization header: never ~/.netrc credentials, never proxies from .netrc.
        self._session.trust_env = False
        owner, name = repo.split("/", 1)
        self._repo_path = f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"

    def pulls(self, base: str) -> list[PullRequest]:
        action = f"list the pull requests of {self.repo_name}"
        found: list[PullRequest] = []
        for page in range(1, MAX_PAGES + 1):
            params = {
                "state": "all",
                "base_branch": base,
                "sort": "recentupdate",
                "page": str(page),
                "limit": str(PAGE_SIZE),
            }
            pulls = self._call("GET", f"{self._repo_path}/pulls", action, params=params)
            if not isinstance(pulls, list):
                raise ForgeError(f"Gitea answered an unexpected list of pull requests ({action})")
            for pull in pulls:
                head_repo = (pull.get("head") or {}).get("repo") or {}
                if head_repo.get("full_name", "").lower() == self.repo_name.lower():
                    found.append(_pull(pull))
            if len(pulls) < PAGE_SIZE:
                break
        return found

    def create_pull(self, branch: str, base: str, title: str, body: str) -> PullRequest:
        data = {"head": branch, "base": base, "title": title, "body": body}
        action = f"open a pull request from {branch} into {base}"
        return _pull(self._call("POST", f"{self._repo_path}/pulls", action, json=data))

    def update_pull(self, pull: PullRequest, title: str, body: str) -> PullRequest:
        path = f"{self._repo_path}/pulls/{pull.number}"
        action = f"update pull request #{pull.number}"
        return _pull(self._call("PATCH", path, action, json={"title": title, "body": body}))

    def has_comment(self, pull: PullRequest, marker: str) -> bool:
        path = f"{self._repo_path}/issues/{pull.number}/comments"
        comments = self._call("GET", path, f"read the comments of pull request #{pull.number}")
        return any(marker in (c.get("body") or "") for c in comments or [])

    def comment(self, pull: PullRequest, body: str) -> None:
        path = f"{self._repo_path}/issues/{pull.number}/comments"
        self._call("POST", path, f"comment on pull request #{pull.number}", json={"body": body})

    def _call(
        self,
        method: str,
        path: str,
        action: str,
        params: dict[str, str] | None = None,
        json: dict[str, str] | None = None,
    ) -> Any:
        try:
            response = self._session.request(
                method, self.api_url + path, params=params, json=json, timeout=TIMEOUT
            )
        except requests.RequestException as error:
            reason = type(error).__name__
            raise ForgeError(f"cannot reach the Gitea API at {self.api_url} ({reason})") from None
        if response.status_code >= 400:
            raise ForgeError(self._token.scrub(self._message(response, action)))
        try:
            return response.json() if response.content else None
        except ValueError:
            raise ForgeError(f"Gitea answered {action} with something that is not JSON") from None

    def _message(self, response: requests.Response, action: str) -> str:
        status = response.status_code
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        reason = str(payload.get("message") or "").strip() if isinstance(payload, dict) else ""
        reason = " ".join(reason.split())[:300]
        said = f" ({status} {reason})" if reason else f" ({status})"
        if status == 429 or response.headers.get("X-RateLimit-Remaining") == "0":
            retry_after = response.headers.get("Retry-After")
            when = (
                f"retry after {retry_after} s"
                if retry_after
                else describe_reset(response.headers.get("X-RateLimit-Reset"))
            )
            return f"Gitea API rate limit exceeded while trying to {action}; {when}"
        hint = ""
        if status == 401:
            hint = "; check GITEA_TOKEN or --token-file"
        elif status == 403:
            hint = f"; the token needs write:repository (and write:issue) on {self.repo_name}"
        elif status == 404:
            hint = f"; no repository {self.repo_name} at {self.api_url}, or the token cannot see it"
        return f"Gitea refused to {action}{said}{hint}"


def _pull(data: Any) -> PullRequest:
    if not isinstance(data, dict) or "number" not in data:
        raise ForgeError("Gitea answered with something that is not a pull request")
    return PullRequest(
        number=int(data["number"]),
        url=str(data.get("html_url") or ""),
        state=str(data.get("state") or ""),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        head=str((data.get("head") or {}).get("ref") or ""),
        merged=bool(data.get("merged")),
    )
