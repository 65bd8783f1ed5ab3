"""`--statistics` (counts per rule, like ruff's) and `--exit-zero` on scan and fix."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli_support import LEAKY, TWO_LEAKS, make_module, unleak
from transforms import transform_by_id


def _counts_from_json(module: Path) -> dict[str, int]:
    report = json.loads(unleak("scan", "--format", "json", ".", cwd=module).stdout)
    counts: dict[str, int] = {}
    for finding in report["findings"]:
        counts[finding["id"]] = counts.get(finding["id"], 0) + 1
    return counts


def test_scan_statistics_prints_one_line_per_rule(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": TWO_LEAKS, "b.go": LEAKY.replace(b"Numbers", b"N")})
    expected = _counts_from_json(module)
    result = unleak("scan", "--statistics", ".", cwd=module)
    assert result.returncode == 1, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert {row[1]: int(row[0]) for row in rows} == expected
    for line, row in zip(result.stdout.splitlines(), rows, strict=True):
        transform = transform_by_id(row[1])
        assert transform is not None and line.endswith(transform.title)
        assert row[3] == "fixable" and 0 <= int(row[2]) <= int(row[0])


def test_statistics_fixable_counts_what_fix_would_apply(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": TWO_LEAKS})
    before = (module / "a.go").read_bytes()
    stats = unleak("fix", "--statistics", ".", cwd=module)
    assert stats.returncode == 1, stats.stderr
    assert (module / "a.go").read_bytes() == before  # a dry run: nothing written, no patch
    assert "@@" not in stats.stdout
    fixable = sum(int(line.split()[2]) for line in stats.stdout.splitlines())
    written = unleak("fix", "--write", ".", cwd=module)
    assert written.returncode in (0, 1), written.stderr
    # every fixable finding was fixed: a second statistics run counts only the rest
    after = unleak("scan", "--statistics", ".", cwd=module)
    total_before = sum(int(line.split()[0]) for line in stats.stdout.splitlines())
    total_after = sum(int(line.split()[0]) for line in after.stdout.splitlines())
    assert fixable > 0 and total_after == total_before - fixable


def test_statistics_on_a_clean_tree_prints_nothing(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": b"package p\n"})
    result = unleak("scan", "--statistics", ".", cwd=module)
    assert result.returncode == 0 and result.stdout == ""


def test_exit_zero_with_findings(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": LEAKY})
    assert unleak("scan", ".", cwd=module).returncode == 1
    result = unleak("scan", "--exit-zero", ".", cwd=module)
    assert result.returncode == 0 and "a.go:5:2" in result.stdout
    assert unleak("fix", "--exit-zero", ".", cwd=module).returncode == 0


def test_exit_zero_keeps_errors_at_two(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": LEAKY})
    result = unleak("scan", "--exit-zero", "missing.go", ".", cwd=module)
    assert result.returncode == 2, result.stderr
    assert "missing.go" in result.stderr and "no such option" not in result.stderr
    bad_rev = unleak("scan", "--exit-zero", "--diff-base", "nope", ".", cwd=module)
    assert bad_rev.returncode == 2 and "--diff-base nope" in bad_rev.stderr
