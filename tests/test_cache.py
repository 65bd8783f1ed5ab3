"""The scan cache: a warm run answers from it, any change to the input is analysed again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from codemod import cache
from tests.cli_support import LEAKY, env, unleak

LEAKY_TEXT = LEAKY.decode()


@pytest.fixture
def module(tmp_path: Path) -> Path:
    root = tmp_path / "mod"
    root.mkdir()
    (root / "go.mod").write_text("module example\n\ngo 1.22\n")
    (root / "leaky.go").write_bytes(LEAKY)
    (root / "clean.go").write_text("package p\n\nfunc Add(a, b int) int { return a + b }\n")
    return root


def entries() -> list[Path]:
    return sorted(p for p in cache.cache_dir().rglob("*") if p.is_file())


def scan(module: Path, *flags: str) -> tuple[int, str]:
    completed = unleak("scan", "--format", "json", *flags, ".", cwd=module)
    assert completed.returncode in (0, 1), completed.stderr
    return completed.returncode, completed.stdout


def test_cache_lives_under_xdg_cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache.cache_dir() == tmp_path / "x" / "unleak"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.cache_dir() == Path.home() / ".cache" / "unleak"


def test_warm_run_prints_exactly_what_the_cold_run_printed(module: Path) -> None:
    cold = scan(module)
    assert cold[0] == 1 and "close-producer-channel" in cold[1]
    assert len(entries()) == 2  # one per analysed file
    written = {p: p.stat().st_mtime_ns for p in entries()}
    warm = scan(module)
    assert warm == cold
    assert {p: p.stat().st_mtime_ns for p in entries()} == written  # read, not rewritten


def test_warm_text_and_sarif_output_are_identical_too(module: Path) -> None:
    for output in ("text", "sarif", "diff"):
        cold = unleak("scan", "--format", output, ".", cwd=module)
        warm = unleak("scan", "--format", output, ".", cwd=module)
        assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout), output


def test_changed_file_is_analysed_again(module: Path) -> None:
    _, before = scan(module)
    (module / "leaky.go").write_text(
        LEAKY_TEXT.replace("package p\n", "package p\n\n// Moved down.\n")
    )
    code, after = scan(module)
    assert after != before
    assert code == 1 and len(entries()) == 3  # the new bytes have their own entry
    (module / "leaky.go").write_text("package p\n")
    assert scan(module)[0] == 0


def test_corrupted_entry_is_ignored_and_rewritten(module: Path) -> None:
    _, cold = scan(module)
    for number, entry in enumerate(entries()):
        entry.write_bytes([b"", b"{not json", b'{"key": 1}'][number % 3])
    assert scan(module)[1] == cold
    assert all(entry.read_bytes().startswith(b'{"key":"') for entry in entries())
    assert scan(module)[1] == cold


def test_no_cache_neither_reads_nor_writes(module: Path) -> None:
    _, cold = scan(module, "--no-cache")
    assert entries() == []
    scan(module)
    # A poisoned entry would show if --no-cache read it.
    for entry in entries():
        entry.write_bytes(entry.read_bytes().replace(b"close-producer-channel", b"poisoned"))
    assert "poisoned" in scan(module)[1]
    assert scan(module, "--no-cache")[1] == cold


def test_other_transform_selection_does_not_reuse_entries(module: Path) -> None:
    scan(module)
    first = set(entries())
    code, selected = scan(module, "--select", "time-tick-leak")
    assert code == 0 and "close-producer-channel" not in selected
    assert set(entries()) > first
    code, ignored = scan(module, "--ignore", "close-producer-channel")
    assert "close-producer-channel" not in ignored


def test_other_go_version_does_not_reuse_entries(module: Path) -> None:
    scan(module)
    count = len(entries())
    scan(module, "--go-version", "1.21")
    assert len(entries()) == count + 2


def test_fix_does_not_use_the_cache(module: Path) -> None:
    completed = unleak("fix", "--dry-run", ".", cwd=module)
    assert completed.returncode == 1, completed.stderr
    assert entries() == []


def test_unwritable_cache_only_costs_speed(
    module: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    completed = unleak("scan", ".", cwd=module)
    assert completed.returncode == 1, completed.stderr
    assert "close-producer-channel" in completed.stdout


def test_entries_are_written_whole(module: Path) -> None:
    scan(module)
    leftovers = [p for p in cache.cache_dir().rglob(".tmp-*")]
    assert leftovers == []
    assert all(os.path.getsize(p) > 0 for p in entries())


def test_moved_checkout_reuses_entries_and_reports_its_own_paths(
    module: Path, tmp_path: Path
) -> None:
    scan(module)
    written = set(entries())
    moved = tmp_path / "elsewhere"
    module.rename(moved)
    completed = unleak("scan", str(moved), cwd=tmp_path)
    assert completed.returncode == 1, completed.stderr
    assert "elsewhere/leaky.go:" in completed.stdout
    assert set(entries()) == written


def test_concurrent_runs_share_the_cache_safely(module: Path) -> None:
    for number in range(30):
        (module / f"leaky{number}.go").write_text(LEAKY_TEXT.replace("Numbers", f"Numbers{number}"))
    _, expected = scan(module, "--no-cache")
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "codemod.cli", "scan", "--format", "json", "-j2", "."],
            cwd=module,
            env=env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert outputs == [expected] * 3
    assert not list(cache.cache_dir().rglob(".tmp-*"))
    assert scan(module)[1] == expected
