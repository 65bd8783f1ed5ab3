"""go.mod and go.sum: after every file is fixed, require the modules the fixes import.

This is the one cross-file step of the pipeline: fixes in many files may need the same
module, and it must be required once, in the go.mod that governs them, at a version whose
own `go` line is not newer than the module's (so the module's Go version is not raised).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path

from codemod.gomod import add_requirement
from codemod.model import FileResult, FileStatus


def module_checksums(module: str, version: str) -> tuple[str, str] | str:
    """(h1 of the module zip, h1 of its go.mod) from the Go module proxy, or why not."""
    go = shutil.which("go")
    if go is None:
        return "no Go toolchain on PATH"
    with tempfile.TemporaryDirectory() as empty:
        # Outside any module, so the caller's go.mod (and its toolchain line) plays no part.
        env = {**os.environ, "GOFLAGS": "-mod=mod", "GO111MODULE": "on"}
        try:
            completed = subprocess.run(
                [go, "mod", "download", "-json", f"{module}@{version}"],
                cwd=empty,
                capture_output=True,
                text=True,
                timeout=300,
                env=env,
                check=False,
            )
        except (OSError, subprocess.SubprocessError) as error:
            return f"go mod download failed: {error}"
    try:
        info = json.loads(completed.stdout or "{}")
    except json.JSONDecodeError:
        info = {}
    if completed.returncode != 0 or "Sum" not in info or "GoModSum" not in info:
        reason = info.get("Error") or completed.stderr.strip().splitlines()[-1:] or ["?"]
        return f"go mod download {module}@{version} failed: {reason}"
    return str(info["Sum"]), str(info["GoModSum"])


def _with_sums(go_sum: str, module: str, version: str, sums: tuple[str, str]) -> str:
    lines = [line for line in go_sum.splitlines() if line.strip()]
    wanted = [f"{module} {version} {sums[0]}", f"{module} {version}/go.mod {sums[1]}"]
    merged = sorted(set(lines) | set(wanted))
    return "\n".join(merged) + "\n"


def gomod_results(results: Iterable[FileResult]) -> list[FileResult]:
    """Changed go.mod / go.sum files for the modules that the applied fixes require."""
    needed: dict[Path, set[tuple[str, str]]] = defaultdict(set)
    for result in results:
        if result.status is FileStatus.CHANGED and result.gomod is not None and result.requires:
            needed[result.gomod].update(result.requires)
    return module_updates(needed)


def module_updates(needed: Mapping[Path, Iterable[tuple[str, str]]]) -> list[FileResult]:
    """Changed go.mod / go.sum files adding these (module, version) requirements."""
    changed: list[FileResult] = []
    for gomod, requirements in sorted(needed.items()):
        changed.extend(_update_module(gomod, set(requirements)))
    return changed


def _update_module(gomod: Path, requirements: set[tuple[str, str]]) -> list[FileResult]:
    try:
        original = gomod.read_bytes()
    except OSError as error:
        return [FileResult(gomod, FileStatus.FAILED, reason=f"cannot read: {error.strerror}")]
    text = original.decode("utf-8")
    added: list[tuple[str, str]] = []
    for module, version in sorted(requirements):
        updated = add_requirement(text, module, version)
        if updated != text:
            added.append((module, version))
            text = updated
    if not added:
        return []
    results = [FileResult(gomod, FileStatus.CHANGED, original=original, rewritten=text.encode())]
    go_sum = gomod.with_name("go.sum")
    try:
        sum_before = go_sum.read_bytes() if go_sum.exists() else b""
    except OSError as error:
        results[0].notes.append(f"go.sum not updated: cannot read it ({error.strerror})")
        return results
    sum_text = sum_before.decode("utf-8")
    for module, version in added:
        sums = module_checksums(module, version)
        if isinstance(sums, str):
            results[0].notes.append(
                f"go.sum not updated for {module} {version} ({sums}); run `go mod tidy`"
            )
            continue
        sum_text = _with_sums(sum_text, module, version, sums)
    if sum_text.encode() != sum_before:
        results.append(
            FileResult(
                go_sum,
                FileStatus.CHANGED,
                original=sum_before,
                rewritten=sum_text.encode(),
                created=not go_sum.exists(),
            )
        )
    return results
