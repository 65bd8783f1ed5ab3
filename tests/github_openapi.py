"""GitHub's official OpenAPI description of its REST API, from the npm package @octokit/openapi.

Fetched with `npm pack` into ~/.cache/unleak-tests on first use (never committed), and used to
validate every request the bot sends to the fake GitHub (and every answer the fake gives).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

PACKAGE = "@octokit/openapi@23.0.2"
CACHE = Path.home() / ".cache" / "unleak-tests" / "octokit-openapi-23.0.2"
# github.com, and the newest GitHub Enterprise Server the package describes.
DESCRIPTIONS = {
    "api.github.com": ("package/generated/api.github.com.json", "https://api.github.com"),
    "ghes-3.19": ("package/generated/ghes-3.19.json", "https://ghe.example.com/api/v3"),
}


def description_path(name: str) -> Path:
    """The description's JSON file, downloaded once per machine."""
    member, _ = DESCRIPTIONS[name]
    cached = CACHE / Path(member).name
    if cached.exists():
        return cached
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed to fetch GitHub's OpenAPI description from the npm registry")
    CACHE.mkdir(parents=True, exist_ok=True)
    packed = subprocess.run(
        [npm, "pack", "--silent", PACKAGE],
        cwd=CACHE,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    tarball = CACHE / packed.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as archive:
        for wanted, _ in DESCRIPTIONS.values():
            extracted = archive.extractfile(wanted)
            assert extracted is not None
            partial = CACHE / (Path(wanted).name + ".part")
            partial.write_bytes(extracted.read())
            partial.replace(CACHE / Path(wanted).name)
    tarball.unlink()
    return cached


@cache
def description(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(description_path(name).read_text(encoding="utf-8"))
    return loaded


@cache
def openapi(name: str) -> OpenAPI:
    # The description is GitHub's own: validating all of it (13 MB) once more takes ~15 s.
    from openapi_core import Config

    return OpenAPI.from_dict(description(name), config=Config(spec_validator_cls=None))


@dataclass
class Recorded:
    """One request the fake received, and the answer it gave."""

    method: str
    path: str  # without the API prefix (/api/v3), with the query string
    headers: dict[str, str]
    body: bytes
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""


def _prepared(record: Recorded, server: str) -> requests.PreparedRequest:
    headers = {
        k: v for k, v in record.headers.items() if k.lower() not in ("host", "content-length")
    }
    return requests.Request(
        record.method, server + record.path, headers=headers, data=record.body or None
    ).prepare()


def validation_errors(records: list[Recorded], name: str) -> list[str]:
    """Every request, and the fake's successful answers, checked against the description."""
    api = openapi(name)
    _, server = DESCRIPTIONS[name]
    errors = []
    for record in records:
        request = RequestsOpenAPIRequest(_prepared(record, server))
        try:
            api.validate_request(request)
        except Exception as error:  # openapi-core raises a family of validation errors
            errors.append(f"request {record.method} {record.path}: {_explain(error)}")
            continue
        if record.status >= 400:
            continue  # injected errors: the description documents few error statuses per call
        response = requests.Response()
        response.status_code = record.status
        response.headers.update(record.response_headers)
        response._content = record.response_body
        try:
            api.validate_response(request, RequestsOpenAPIResponse(response))
        except Exception as error:
            errors.append(
                f"response {record.status} to {record.method} {record.path}: {_explain(error)}"
            )
    return errors


def _explain(error: Exception) -> str:
    """The error's class and its schema errors by path (the values themselves are long)."""
    details = [type(error).__name__]
    cause: BaseException | None = error
    while cause is not None:
        for schema_error in getattr(cause, "schema_errors", ()):
            path = "/".join(str(p) for p in schema_error.absolute_path)
            details.append(f"at /{path}: {schema_error.message[:200]}")
        cause = cause.__cause__
    if len(details) == 1:
        details.append(str(error)[:300])
    return "; ".join(details)


def query(params: dict[str, str]) -> str:
    return "?" + urlencode(params) if params else ""
