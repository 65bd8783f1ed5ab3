"""The proof that the tool ran: gofmt on every rewritten file and `go vet` on touched packages."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from codemod.bot.git import Git

VET_TIMEOUT = 900
MAX_OUTPUT_LINES = 40


@dataclass(frozen=True)
class Check:
    """One check's outcome: `ok` is None when it could not run."""

    name: str
    ok: bool | None
    summary: str  # one line, for the pull request body and the terminal
    output: str = ""  # the tool's own words, when it complained


def go_version() -> str | None:
    go = shutil.which("go")
    if go is None:
        return None
    try:
        completed = subprocess.run(
            [go, "env", "GOVERSION"], capture_output=True, text=True, timeout=300, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() or None if completed.returncode == 0 else None


def gofmt_check(worktree: Git, base: str, go_files: list[str]) -> Check:
    """Every rewritten Go file parses for gofmt and is formatted (unless it was not before)."""
    gofmt = shutil.which("gofmt")
    if gofmt is None:
        return Check(
            "gofmt",
            None,
            "gofmt is not on PATH: the rewrites were re-parsed with tree-sitter-go only",
        )
    if not go_files:
        return Check("gofmt", True, "no Go file was rewritten")
    completed = _run([gofmt, "-l", "-e", *go_files], worktree.directory, os.environ, 300)
    if completed.returncode != 0 and not completed.stdout.strip():
        return Check("gofmt", False, "gofmt rejects a rewritten file", _tail(completed.stderr))
    listed = [line for line in completed.stdout.splitlines() if line.strip()]
    unformatted_before = [path for path in listed if not _formatted_at(worktree, base, path)]
    new_problems = sorted(set(listed) - set(unformatted_before))
    count = (
        "the rewritten Go file parses"
        if len(go_files) == 1
        else f"all {len(go_files)} rewritten Go files parse"
    )
    if new_problems:
        return Check(
            "gofmt",
            False,
            f"gofmt would reformat {', '.join(new_problems)}",
            _tail(completed.stdout),
        )
    if unformatted_before:
        return Check(
            "gofmt",
            True,
            f"{count}; not gofmt-formatted before unleak either, and left so: "
            + ", ".join(unformatted_before),
        )
    return Check(
        "gofmt", True, f"{count} and {'is' if len(go_files) == 1 else 'are'} gofmt-formatted"
    )


def _formatted_at(worktree: Git, revision: str, path: str) -> bool:
    """Whether gofmt leaves the file at `revision` as it is (new files count as not)."""
    shown = worktree.run("show", f"{revision}:{path}", check=False)
    gofmt = shutil.which("gofmt")
    if shown.returncode != 0 or gofmt is None:
        return False
    completed = subprocess.run(
        [gofmt, "-l"], input=shown.stdout, capture_output=True, text=True, timeout=300, check=False
    )
    return completed.returncode == 0 and not completed.stdout.strip()


def vet_check(worktree: Git, base: str, tip: str, go_files: list[str], offline: bool) -> Check:
    """`go vet` on the packages holding rewritten files, per module; compared with the base."""
    go = shutil.which("go")
    if go is None:
        return Check("go vet", None, "not run: no Go toolchain on PATH")
    if not go_files:
        return Check("go vet", True, "no Go package was touched")
    modules = _packages_by_module(worktree.directory, go_files)
    # A dry run must not reach the network: modules come from the local cache or not at all.
    env = {**os.environ, "GOPROXY": "off"} if offline else dict(os.environ)
    failures = _vet(go, worktree.directory, modules, env)
    command = "; ".join(
        f"`go vet {' '.join(packages)}`" + (f" in `{module}/`" if module != "." else "")
        for module, packages in modules.items()
    )
    if not failures:
        return Check("go vet", True, f"{command}: passed")
    # Did it fail before our change too? Then the failure is not ours to explain.
    worktree.run("checkout", "--quiet", "--detach", base)
    try:
        before = _vet(go, worktree.directory, _existing(worktree.directory, modules), env)
    finally:
        worktree.run("checkout", "--quiet", "--detach", tip)
    output = "\n".join(failures)
    if before:
        return Check(
            "go vet", None, f"{command}: fails on the base commit too, not from unleak", output
        )
    return Check("go vet", False, f"{command}: FAILED (it passes on the base commit)", output)


def _packages_by_module(root: Path, go_files: list[str]) -> dict[str, list[str]]:
    """{module directory (relative, '.' for the root): ['./pkg', ...]}."""
    modules: dict[str, set[str]] = defaultdict(set)
    for name in go_files:
        directory = PurePosixPath(name).parent
        module = _module_of(root, directory)
        if module is None:
            continue
        package = directory.relative_to(module)
        modules[str(module)].add("./" + str(package) if str(package) != "." else ".")
    return {m: sorted(p) for m, p in sorted(modules.items())}


def _module_of(root: Path, directory: PurePosixPath) -> PurePosixPath | None:
    for candidate in (directory, *directory.parents):
        if (root / candidate / "go.mod").is_file():
            return candidate
    return None


def _existing(root: Path, modules: dict[str, list[str]]) -> dict[str, list[str]]:
    kept: dict[str, list[str]] = {}
    for module, packages in modules.items():
        present = [p for p in packages if (root / module / p).is_dir()]
        if present and (root / module / "go.mod").is_file():
            kept[module] = present
    return kept


def _vet(go: str, root: Path, modules: dict[str, list[str]], env: Mapping[str, str]) -> list[str]:
    """go vet's complaints, one block per failing module; empty when every module passed."""
    failures: list[str] = []
    for module, packages in modules.items():
        completed = _run([go, "vet", *packages], root / module, env, VET_TIMEOUT)
        if completed.returncode != 0:
            failures.append(f"# {module}\n{_tail(completed.stderr or completed.stdout)}")
    return failures


def _run(
    argv: list[str], cwd: Path, env: Mapping[str, str], timeout: int
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 1, "", f"{argv[0]} took longer than {timeout}s")
    except OSError as error:
        return subprocess.CompletedProcess(argv, 1, "", f"{argv[0]} could not run: {error}")


def _tail(text: str) -> str:
    lines = text.strip().splitlines()
    if len(lines) > MAX_OUTPUT_LINES:
        lines = [*lines[:MAX_OUTPUT_LINES], f"... ({len(lines) - MAX_OUTPUT_LINES} more lines)"]
    return "\n".join(lines)
