"""TERM and kill -9 leave no debris: every file old or new, no temporary file, no worker, no
`pr` worktree. A gofmt stand-in on PATH slows each rewrite down, so the signal always lands
while the run is under way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from codemod.engine import RunOptions, process_file
from codemod.sinks.write import STALE_TEMPORARY_SECONDS
from tests.bot_support import IDENTITY, git, make_project, state_of
from tests.cli_support import LEAKY, env, make_module

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="reads processes from /proc"
)
FILES = 96  # above the engine's threshold for a process pool (64)


def slow_gofmt(folder: Path, marker: Path, then: str = "sleep 0.15; exec cat") -> dict[str, str]:
    """An environment whose gofmt touches marker, then does `then` (by default: a slow no-op)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "gofmt"
    script.write_text(f'#!/bin/sh\ntouch "{marker}"\n{then}\n')
    script.chmod(0o755)
    return {**env(), "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


def big_module(root: Path) -> Path:
    files = {
        f"p{i % 4}/f{i}.go": LEAKY.replace(b"package p", b"package p%d" % (i % 4))
        .replace(b"Numbers", b"Numbers%d" % i)
        .replace(b"Sum(", b"Sum%d(" % i)
        for i in range(FILES)
    }
    return make_module(root, files)


def start_fix_write(module: Path, environment: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "codemod.cli", "fix", "--write", "-j", "2", "."],
        cwd=module,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def children(pid: int) -> list[int]:
    found = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat_file.parent.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def temporaries(root: Path) -> list[Path]:
    return sorted(root.rglob("*.unleak"))


def fixed_versions(module: Path) -> dict[Path, bytes]:
    options = RunOptions(fix=True, use_gofmt=False)  # the stand-in gofmt changes nothing
    fixed = {}
    for path in module.rglob("*.go"):
        result = process_file(path, options)
        assert result.rewritten is not None
        fixed[path] = result.rewritten
    return fixed


def test_term_during_fix_write_exits_cleanly_and_leaves_each_file_old_or_new(
    tmp_path: Path,
) -> None:
    module = big_module(tmp_path / "m")
    before = {p: p.read_bytes() for p in module.rglob("*.go")}
    after = fixed_versions(module)
    process = start_fix_write(module, slow_gofmt(tmp_path / "bin", tmp_path / "started"))
    wait_for(lambda: any(p.read_bytes() != before[p] for p in before))  # writing has begun
    workers = children(process.pid)
    assert workers
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "interrupted:" in stderr and "Traceback" not in stderr
    assert temporaries(module) == []
    assert not [w for w in workers if running(w)]
    written = [p for p in before if p.read_bytes() == after[p]]
    assert all(p.read_bytes() in (before[p], after[p]) for p in before)
    assert 0 < len(written) < FILES  # stopped part way, not run to the end


def test_workers_exit_when_their_parent_is_killed_with_9(tmp_path: Path) -> None:
    module = big_module(tmp_path / "m")
    marker = tmp_path / "started"
    process = start_fix_write(module, slow_gofmt(tmp_path / "bin", marker))
    wait_for(marker.exists)
    wait_for(lambda: len(children(process.pid)) >= 2)
    workers = children(process.pid)
    process.kill()
    process.communicate(timeout=30)
    wait_for(lambda: not [w for w in workers if running(w)], seconds=20)


def test_next_write_sweeps_the_temporaries_killed_runs_left_and_only_those(
    tmp_path: Path,
) -> None:
    module = make_module(tmp_path / "m", {"leaky.go": LEAKY, "sub/clean.go": b"package sub\n"})
    dead = subprocess.Popen(["true"])  # a pid that has certainly exited
    dead.wait()
    old = time.time() - STALE_TEMPORARY_SECONDS - 60
    debris = {
        module / f".leaky.go.{dead.pid}-a1b2c3d4.unleak": None,  # its writer is gone
        module / "sub" / f".clean.go.{dead.pid}-zzzzzzzz.unleak": None,  # nothing to write there
        module / ".leaky.go.k3j2_x9q.unleak": old,  # unleak before pids, an hour old
    }
    kept = {
        module / f".leaky.go.{os.getpid()}-abcdefgh.unleak": None,  # a live writer's
        module / ".leaky.go.k3j2_x9z.unleak": None,  # no pid and recent: may be in use
        module / ".notes.unleak": old,  # not a name unleak makes
        module / "sub" / f".clean.go.{dead.pid}-a1b2c3d4.unleak.bak": old,
    }
    for path, mtime in {**debris, **kept}.items():
        path.write_bytes(b"half a file")
        if mtime is not None:
            os.utime(path, (mtime, mtime))
    completed = subprocess.run(
        [sys.executable, "-m", "codemod.cli", "fix", "--write", "."],
        cwd=module,
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr  # every finding fixed
    assert [p for p in debris if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []


def start_pr_dry_run(work: Path, environment: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "codemod.cli", "pr", "--base", "main", "--dry-run"],
        cwd=work,
        env={**environment, **IDENTITY},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_term_during_pr_dry_run_removes_its_worktree_and_temp_dir(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    checkout = state_of(project.work)
    temp = tmp_path / "tmp"
    temp.mkdir()
    marker = tmp_path / "started"
    environment = {**slow_gofmt(tmp_path / "bin", marker, "exec sleep 60"), "TMPDIR": str(temp)}
    process = start_pr_dry_run(project.work, environment)
    wait_for(marker.exists)  # gofmt runs on a rewrite, inside the temporary worktree
    assert list(temp.glob("unleak-pr-*"))
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0 and "Traceback" not in stderr, stderr
    assert list(temp.iterdir()) == []
    assert state_of(project.work) == checkout  # worktree list included


def test_pr_removes_the_worktree_of_a_run_killed_with_9(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    checkout = state_of(project.work)
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = tmp_path / "tmp" / f"unleak-pr-{dead.pid}-abc123" / "worktree"
    orphan.parent.mkdir(parents=True)
    git(project.work, "worktree", "add", "--quiet", "--detach", str(orphan), "main")
    environment = {**env(), "TMPDIR": str(tmp_path / "tmp")}
    process = start_pr_dry_run(project.work, environment)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode in (0, 1), stderr
    assert not orphan.parent.exists()
    assert state_of(project.work) == checkout


def test_term_during_scan_exits_143_in_one_line_and_ends_its_workers(tmp_path: Path) -> None:
    module = big_module(tmp_path / "m")
    marker = tmp_path / "started"
    process = subprocess.Popen(
        [sys.executable, "-m", "codemod.cli", "scan", "--format", "diff", "-j", "2", "."],
        cwd=module,
        env=slow_gofmt(tmp_path / "bin", marker),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(marker.exists)
    wait_for(lambda: len(children(process.pid)) >= 2)
    workers = children(process.pid)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert (process.returncode, stderr) == (128 + signal.SIGTERM, "unleak: terminated\n")
    assert not [w for w in workers if running(w)]
