"""A loopback HTTP server that answers the bot's calls as GitHub's REST API does, and records them.

Its answers are GitHub's own examples from the OpenAPI description (URLs, numbers and the
fields the test cares about replaced), and tests can make any call fail with GitHub's error
shapes: 401 Bad credentials, 403, 404, 422 validation errors, rate limits.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.github_openapi import Recorded, description

DOCS = "https://docs.github.com/rest"


@dataclass
class Failure:
    """Answer the next matching call(s) with this error instead."""

    method: str
    path_pattern: str  # a regex, matched against the path without query
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


@dataclass
class FakeGitHub:
    token: str
    repo: str  # owner/name
    prefix: str = ""  # "/api/v3" for GitHub Enterprise Server
    description_name: str = "api.github.com"
    records: list[Recorded] = field(default_factory=list)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    port: int = 0
    next_number: int = 1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.prefix}"

    def fail(
        self,
        method: str,
        path_pattern: str,
        status: int,
        message: str,
        headers: dict[str, str] | None = None,
        errors: list[dict[str, str]] | None = None,
        times: int = 1,
    ) -> None:
        body: dict[str, Any] = {"message": message, "documentation_url": DOCS}
        if errors is not None:
            body["errors"] = errors
        self.failures.append(Failure(method, path_pattern, status, body, headers or {}, times))

    def calls(self, method: str | None = None) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.records if method in (None, r.method)]

    # --- answers -------------------------------------------------------------------------

    def _example(self, name: str) -> Any:
        examples = description(self.description_name)["components"]["examples"]
        value = copy.deepcopy(examples[name]["value"])
        text = json.dumps(value)
        text = text.replace("https://api.github.com", self.url)
        text = text.replace("octocat/Hello-World", self.repo)
        return json.loads(text)

    def _pull_json(self, pull: dict[str, Any], simple: bool) -> dict[str, Any]:
        value = self._example("pull-request-simple-items")[0] if simple else None
        if value is None:
            value = self._example("pull-request")
        number = pull["number"]
        text = json.dumps(value).replace("/1347", f"/{number}")
        value = json.loads(text)
        owner = self.repo.split("/")[0]
        value.update(
            number=number,
            state=pull["state"],
            title=pull["title"],
            body=pull["body"],
            html_url=f"https://github.example/{self.repo}/pull/{number}",
        )
        merged = bool(pull.get("merged"))
        value.update(merged_at="2026-12-01T00:00:00Z" if merged else None)
        if "merged" in value:
            value["merged"] = merged
        # GitHub's own example lists a requested team without its required `type`.
        value.update(requested_teams=[], requested_reviewers=[])
        value["head"].update(ref=pull["head"], label=f"{owner}:{pull['head']}")
        value["base"].update(ref=pull["base"], label=f"{owner}:{pull['base']}")
        return value

    def handle(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        auth = headers.get("authorization", "")
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            return 401, {"message": "Bad credentials", "documentation_url": DOCS}, {}
        for failure in self.failures:
            if (
                failure.times
                and failure.method == method
                and re.fullmatch(failure.path_pattern, path)
            ):
                failure.times -= 1
                return failure.status, failure.body, failure.headers
        base = f"/repos/{self.repo}"
        if not path.startswith(base + "/"):
            return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
        rest = path[len(base) :]
        if rest == "/pulls" and method == "GET":
            return 200, self._list_pulls(query), {}
        if rest == "/pulls" and method == "POST":
            return self._create_pull(body)
        match = re.fullmatch(r"/pulls/(\d+)", rest)
        if match and method == "PATCH" and int(match.group(1)) in self.pulls:
            pull = self.pulls[int(match.group(1))]
            pull.update({k: body[k] for k in ("title", "body", "state") if k in body})
            return 200, self._pull_json(pull, simple=False), {}
        match = re.fullmatch(r"/issues/(\d+)/comments", rest)
        if match and int(match.group(1)) in self.pulls:
            number = int(match.group(1))
            if method == "GET":
                return 200, self.comments.get(number, []), {}
            if method == "POST":
                comment = self._example("issue-comment")
                comment.update(body=body["body"], id=len(self.comments.get(number, [])) + 1)
                self.comments.setdefault(number, []).append(comment)
                return 201, comment, {}
        return 404, {"message": "Not Found", "documentation_url": DOCS}, {}

    def _list_pulls(self, query: dict[str, str]) -> list[dict[str, Any]]:
        state = query.get("state", "open")
        owner = self.repo.split("/")[0]
        found = []
        for pull in sorted(self.pulls.values(), key=lambda p: -p["number"]):
            if state != "all" and pull["state"] != state:
                continue
            if "head" in query and query["head"] != f"{owner}:{pull['head']}":
                continue
            if "base" in query and query["base"] != pull["base"]:
                continue
            found.append(self._pull_json(pull, simple=True))
        return found

    def _create_pull(self, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
        owner = self.repo.split("/")[0]
        for pull in self.pulls.values():
            if pull["state"] == "open" and pull["head"] == body["head"]:
                message = f"A pull request already exists for {owner}:{body['head']}."
                error = {"resource": "PullRequest", "code": "custom", "message": message}
                return 422, {"message": "Validation Failed", "errors": [error]}, {}
        number = self.next_number
        self.next_number += 1
        pull = {
            "number": number,
            "state": "open",
            "title": body["title"],
            "body": body.get("body", ""),
            "head": body["head"],
            "base": body["base"],
        }
        self.pulls[number] = pull
        return 201, self._pull_json(pull, simple=False), {}


def _handler(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            path = parts.path
            if fake.prefix and path.startswith(fake.prefix):
                path = path[len(fake.prefix) :]
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            record = Recorded(
                self.command,
                path + (f"?{parts.query}" if parts.query else ""),
                dict(self.headers.items()),
                raw,
            )
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = {}
            status, answer, extra = fake.handle(self.command, path, query, body, headers)
            payload = json.dumps(answer).encode()
            response_headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Content-Length": str(len(payload)),
                "X-RateLimit-Limit": "5000",
                "X-RateLimit-Remaining": "4999",
                **extra,
            }
            record.status, record.response_headers, record.response_body = (
                status,
                response_headers,
                payload,
            )
            fake.records.append(record)
            self.send_response(status)
            for key, value in response_headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(fake: FakeGitHub) -> Iterator[FakeGitHub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
