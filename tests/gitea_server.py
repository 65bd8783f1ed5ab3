"""A real Gitea server on 127.0.0.1 for the bot's end-to-end tests.

Gitea is built from its Go module (code.gitea.io/gitea, through the Go module proxy) into
~/.cache/unleak-tests/gitea-<version> the first time (about 4 minutes on 2 cores with empty
Go caches), then started per test module with SQLite in a temporary directory, a fixed admin
user made with `gitea admin user create`, and tokens made with `gitea admin user
generate-access-token`. `go install code.gitea.io/gitea@VERSION` cannot be used: Gitea's
go.mod has `replace` directives, which `go install pkg@version` refuses, so the module's
source is downloaded with `go mod download` and built with `go build` inside it.

    python -m tests.gitea_server build    # build into the cache (CI may call this up front)
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

# The newest release the Go module proxy serves as code.gitea.io/gitea (1.27 moved its module
# path to gitea.dev, which the proxy does not serve under the old path).
GITEA_MODULE = "code.gitea.io/gitea"
GITEA_VERSION = "v1.26.0"
CACHE = Path.home() / ".cache" / "unleak-tests" / f"gitea-{GITEA_VERSION}"
BUILD_TAGS = "sqlite sqlite_unlock_notify"
# The Go that builds it, whatever GOTOOLCHAIN the suite runs with (CI: go1.27.3, for the leak
# proofs): the release Gitea 1.26 was made for, also the suite's timer toolchain.
BUILD_TOOLCHAIN = "go1.26.8"
ADMIN = "unleak-admin"
ADMIN_PASSWORD = "unleak-Admin-pw-1"
STATIC_DIRS = ("options", "templates", "public")


class GiteaUnavailable(Exception):
    """Gitea cannot be built or started here; the message says exactly why."""


def _run(argv: list[str], cwd: Path | None = None, timeout: int = 1800, **env: str) -> str:
    completed = subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if completed.returncode != 0:
        tail = "\n".join((completed.stderr or completed.stdout).strip().splitlines()[-15:])
        raise GiteaUnavailable(f"`{' '.join(argv[:4])} ...` failed:\n{tail}")
    return completed.stdout


def ensure_gitea() -> Path:
    """The cache directory holding the `gitea` binary and its static files; builds it once."""
    if (CACHE / "gitea").is_file():
        return CACHE
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with open(CACHE.parent / f"gitea-{GITEA_VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test process may be building it
        if not (CACHE / "gitea").is_file():
            _build()
    return CACHE


def _build() -> None:
    go = shutil.which("go")
    if go is None:
        raise GiteaUnavailable("no `go` on PATH to build Gitea with")
    if shutil.which("gcc") is None and shutil.which("cc") is None:
        raise GiteaUnavailable("no C compiler: Gitea's SQLite driver needs cgo")
    started = time.monotonic()
    info = json.loads(
        _run(
            [go, "mod", "download", "-json", f"{GITEA_MODULE}@{GITEA_VERSION}"], GOFLAGS="-mod=mod"
        )
    )
    source = Path(info["Dir"])
    with tempfile.TemporaryDirectory(prefix="gitea-build-") as scratch:
        tree = Path(scratch) / "src"
        shutil.copytree(source, tree)
        for path in [tree, *tree.rglob("*")]:  # the module cache is read-only
            path.chmod(path.stat().st_mode | 0o200)
        version = GITEA_VERSION.removeprefix("v")
        _run(
            [
                go,
                "build",
                "-trimpath",
                "-tags",
                BUILD_TAGS,
                "-ldflags",
                f"-s -w -X main.Version={version}",
                "-o",
                str(tree / "gitea"),
                ".",
            ],
            cwd=tree,
            CGO_ENABLED="1",
            GOTOOLCHAIN=BUILD_TOOLCHAIN,
        )
        staging = CACHE.with_name(CACHE.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for name in STATIC_DIRS:
            shutil.copytree(tree / name, staging / name)
        shutil.copy2(tree / "gitea", staging / "gitea")
        shutil.rmtree(CACHE, ignore_errors=True)
        staging.rename(CACHE)
    minutes = (time.monotonic() - started) / 60
    print(f"built Gitea {GITEA_VERSION} in {minutes:.1f} min into {CACHE}", file=sys.stderr)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


APP_INI = """\
APP_NAME = unleak-test
RUN_MODE = prod
RUN_USER = {user}
WORK_PATH = {work}
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true

[database]
DB_TYPE = sqlite3
PATH = {work}/data/gitea.db

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = {port}
ROOT_URL = http://127.0.0.1:{port}/
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
STATIC_ROOT_PATH = {static}
APP_DATA_PATH = {work}/data

[security]
INSTALL_LOCK = true
SECRET_KEY = unleak-test-secret-key-not-a-secret
INTERNAL_TOKEN = {internal_token}

[oauth2]
ENABLED = false

[service]
DISABLE_REGISTRATION = true

[repository]
ROOT = {work}/repositories
DEFAULT_BRANCH = main

[log]
MODE = file
LEVEL = warn
ROOT_PATH = {work}/log

[mailer]
ENABLED = false

[cron]
ENABLED = false

[actions]
ENABLED = false

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false
"""
# A JWT-shaped value Gitea accepts as its internal token; nothing outside the test uses it.
INTERNAL_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYmYiOjE3MDAwMDAwMDB9."
    "bm90LWEtcmVhbC10b2tlbi1mb3ItdW5sZWFrLXRlc3Rz"
)


@dataclass
class GiteaServer:
    url: str  # http://127.0.0.1:PORT
    token: str  # the admin's token, every scope
    binary: Path
    config: Path
    work: Path

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v1"

    def api(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        response = requests.request(
            method,
            self.api_url + path,
            headers={"Authorization": f"token {token or self.token}"},
            timeout=60,
            **kwargs,
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def new_token(self, name: str, scopes: str) -> str:
        output = self._admin(
            "generate-access-token",
            "--username",
            ADMIN,
            "--token-name",
            name,
            "--scopes",
            scopes,
            "--raw",
        )
        # Gitea may log warnings around the token (running as root, say): take the token line.
        tokens = re.findall(r"^\s*([0-9a-f]{40})\s*$", output, re.MULTILINE)
        if not tokens:
            raise RuntimeError(f"no access token in gitea's output:\n{output}")
        return tokens[-1]

    def create_repo(self, name: str, private: bool = True) -> str:
        """An empty repository of the admin user; returns its clone URL."""
        self.api("POST", "/user/repos", json={"name": name, "private": private})
        return f"{self.url}/{ADMIN}/{name}.git"

    def _admin(self, *args: str) -> str:
        return _run(
            [str(self.binary), "admin", "user", *args, "--config", str(self.config)],
            cwd=self.work,
            timeout=120,
            **_gitea_env(self.work),
        )


def _gitea_env(work: Path) -> dict[str, str]:
    return {"GITEA_WORK_DIR": str(work), "GITEA_CUSTOM": str(work / "custom"), "GITEA_TOKEN": ""}


@contextmanager
def running_gitea(install: Path, work: Path) -> Iterator[GiteaServer]:
    """Gitea on a free loopback port with a fresh SQLite database; stopped on exit."""
    port = _free_port()
    config = work / "custom" / "conf" / "app.ini"
    config.parent.mkdir(parents=True)
    user = subprocess.run(["id", "-un"], capture_output=True, text=True, check=True).stdout.strip()
    config.write_text(
        APP_INI.format(
            user=user,
            work=work,
            port=port,
            static=install,
            internal_token=INTERNAL_TOKEN,
        )
    )
    binary = install / "gitea"
    env = _gitea_env(work)
    _run([str(binary), "migrate", "--config", str(config)], cwd=work, timeout=300, **env)
    server = GiteaServer(f"http://127.0.0.1:{port}", "", binary, config, work)
    server._admin(
        "create",
        "--admin",
        "--username",
        ADMIN,
        "--password",
        ADMIN_PASSWORD,
        "--email",
        "admin@example.com",
        "--must-change-password=false",
    )
    server.token = server.new_token("unleak-tests", "all")
    log = open(work / "web.log", "wb")  # noqa: SIM115 - closed after the process ends
    process = subprocess.Popen(
        [str(binary), "web", "--config", str(config)],
        cwd=work,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        _wait_healthy(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)
        log.close()


def _wait_healthy(server: GiteaServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (server.work / "web.log").read_text(errors="replace")[-2000:]
            raise GiteaUnavailable(f"gitea web exited with {process.returncode}:\n{log}")
        try:
            if requests.get(f"{server.url}/api/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise GiteaUnavailable("gitea web did not become healthy within 120 s")


if __name__ == "__main__":
    if sys.argv[1:] != ["build"]:
        sys.exit("usage: python -m tests.gitea_server build")
    print(ensure_gitea())
