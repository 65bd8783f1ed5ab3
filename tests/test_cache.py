"""The scan cache: a warm run answers from it, any change to the input is analysed again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    files = cache.cache_dir().rglob("*")
    return sorted(p for p in files if p.is_file() and p.name != cache.TRIM_MARKER)


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


DAY = 24 * 3600


def age(path: Path, seconds: float, now: float) -> None:
    os.utime(path, (now - seconds, now - seconds))


def test_a_hit_older_than_an_hour_is_marked_used(module: Path) -> None:
    scan(module)
    now = time.time()
    for entry in entries():
        age(entry, 2 * 3600, now)
    scan(module)
    assert all(now - p.stat().st_mtime < 600 for p in entries())


@settings(max_examples=25, deadline=None)
@given(ages=st.lists(st.integers(0, 12 * DAY).filter(lambda s: abs(s - 5 * DAY) > 60), max_size=12))
def test_trim_deletes_exactly_the_entries_unused_for_five_days(
    tmp_path_factory: pytest.TempPathFactory, ages: list[int]
) -> None:
    directory = tmp_path_factory.mktemp("cache") / "unleak"
    now = time.time()
    paths = []
    for number, seconds in enumerate(ages):
        key = f"{number:040x}"
        cache.store(directory, key, [], 0)
        path = directory / f"v{cache.ENTRY_FORMAT}" / key[:2] / key[2:]
        age(path, seconds, now)
        paths.append(path)
    removed = cache.trim(directory, now)
    kept = [p for p, seconds in zip(paths, ages, strict=True) if seconds < cache.TRIM_AGE_SECONDS]
    assert removed == len(paths) - len(kept)
    assert sorted(p for p in directory.rglob("*") if p.is_file() and p.name != "trim.txt") == (
        sorted(kept)
    )
    assert all(p.parent.is_dir() for p in kept)


def test_trim_runs_once_a_day_and_drops_old_formats_and_stale_temporaries(tmp_path: Path) -> None:
    directory = tmp_path / "unleak"
    now = time.time()
    old_format = directory / "v0" / "ab" / "cdef"
    fresh_temporary = directory / f"v{cache.ENTRY_FORMAT}" / "ab" / ".tmp-writing"
    stale_temporary = directory / f"v{cache.ENTRY_FORMAT}" / "ab" / ".tmp-crashed"
    for path in (old_format, fresh_temporary, stale_temporary):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    age(stale_temporary, 2 * 3600, now)
    assert cache.trim(directory, now) == 2
    assert fresh_temporary.exists() and not old_format.exists() and not stale_temporary.exists()
    assert not (directory / "v0").exists()  # emptied folders go too
    age(fresh_temporary, 10 * DAY, now)
    assert cache.trim(directory, now - 0.4) == 0  # a marker a moment ahead is recent too
    assert cache.trim(directory, now + 3600) == 0  # trimmed an hour ago: not again today
    assert cache.trim(directory, now + DAY + 1) == 1


def test_a_scan_trims_and_cache_commands_report_and_empty_it(module: Path) -> None:
    scan(module)
    marker = cache.cache_dir() / cache.TRIM_MARKER
    assert marker.exists()
    forgotten = cache.cache_dir() / f"v{cache.ENTRY_FORMAT}" / "zz" / "an-old-revision"
    forgotten.parent.mkdir()
    forgotten.write_text("{}")
    age(forgotten, 6 * DAY, time.time())
    scan(module)
    assert forgotten.exists()  # trimmed less than a day ago
    marker.write_text(f"{time.time() - 2 * DAY:.0f}\n")
    scan(module)
    assert not forgotten.exists() and len(entries()) == 2  # the files scanned stay
    info = unleak("cache", "info", cwd=module)
    assert info.returncode == 0, info.stderr
    assert str(cache.cache_dir()) in info.stdout and "2 entries" in info.stdout
    cleaned = unleak("cache", "clean", cwd=module)
    assert cleaned.returncode == 0 and "removed 2 entries" in cleaned.stdout
    assert entries() == [] and not cache.cache_dir().exists()


def test_a_change_to_another_file_of_the_package_is_seen_when_it_was_consulted(
    tmp_path: Path,
) -> None:
    """ctx-done-arm asks the rest of the package who receives on a field: its cached answer
    holds only while those files are unchanged; a file that never asked keeps its entry."""
    fixture = Path(__file__).resolve().parent.parent / "fixtures/ctx-done-arm"
    root = tmp_path / "mod"
    root.mkdir()
    (root / "go.mod").write_text("module example\n\ngo 1.22\n")
    case = fixture / "field-consumer-in-package"
    (root / "feed.go").write_bytes((case / "before.go").read_bytes())
    listen = root / "listen.go"
    listen.write_bytes((case / "package/listen.go").read_bytes())

    def safety() -> list[str]:
        completed = unleak("scan", "--format", "json", "--select", "ctx-done-arm", ".", cwd=root)
        assert completed.returncode in (0, 1), completed.stderr
        return [f["safety"] for f in json.loads(completed.stdout)["findings"]]

    assert safety() == ["safe"]  # the listener selects on ctx.Done()
    listen_entries = [p for p in entries() if b'"package":null' in p.read_bytes()]
    assert safety() == ["safe"]  # warm
    # The listener now takes every reading: the send can no longer block forever.
    listen.write_text(
        "package fixture\n\nfunc NewFeed() *Feed { return &Feed{updates: make(chan int)} }\n\n"
        "func (f *Feed) Drain() {\n\tfor range f.updates {\n\t}\n}\n"
    )
    assert safety() == []
    assert listen_entries and all(p.exists() for p in listen_entries)


def test_a_change_to_a_test_of_the_package_is_seen_when_its_callers_were_read(
    tmp_path: Path,
) -> None:
    """detached-context reads the package's calls, tests included, to know whether anyone can
    cancel a context: its cached answer holds only while those test files are unchanged."""
    root = tmp_path / "mod"
    root.mkdir()
    (root / "go.mod").write_text("module example\n\ngo 1.22\n")
    (root / "work.go").write_text(
        'package p\n\nimport "context"\n\n'
        "type Store interface{ Query(ctx context.Context, q string) error }\n\n"
        "func warm(ctx context.Context, s Store) error {\n"
        '\tif err := s.Query(context.Background(), "SELECT 1"); err != nil {\n'
        "\t\treturn err\n\t}\n\treturn nil\n}\n"
    )
    test = root / "work_test.go"

    def caller(context: str) -> None:
        test.write_text(
            'package p\n\nimport (\n\t"context"\n\t"testing"\n)\n\n'
            f"func TestWarm(t *testing.T) {{\n\t_ = warm({context}, nil)\n\t_ = context.TODO\n}}\n"
        )

    def lines() -> list[int]:
        completed = unleak(
            "scan", "--format", "json", "--select", "detached-context", ".", cwd=root
        )
        assert completed.returncode in (0, 1), completed.stderr
        return [f["line"] for f in json.loads(completed.stdout)["findings"]]

    caller("context.Background()")
    assert lines() == []  # the only caller passes a context nobody cancels
    assert lines() == []  # warm
    caller("t.Context()")
    assert lines() == [8]  # the test's context is cancelled: the detached call is reported


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "1e400"])
def test_entry_with_a_non_finite_number_is_ignored_and_rewritten(module: Path, number: str) -> None:
    _, cold = scan(module)
    poisoned = 0
    for entry in entries():
        text = entry.read_text()
        data = json.loads(text)
        if data["findings"]:
            line = data["findings"][0]["start"][0]
            entry.write_text(text.replace(f'"start":[{line},', f'"start":[{number},', 1))
            poisoned += 1
    assert poisoned
    completed = unleak("scan", "--format", "json", ".", cwd=module)
    assert (completed.returncode, completed.stdout) == (1, cold), completed.stderr
    assert number not in "".join(entry.read_text() for entry in entries())
