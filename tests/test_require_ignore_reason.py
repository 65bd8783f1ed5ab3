"""`--require-ignore-reason` (config `require-ignore-reason`): a reasonless ignore is a finding."""

from __future__ import annotations

from pathlib import Path

from tests.cli_support import LEAKY, make_module, unleak

BARE = LEAKY.replace(b"\tgo func() {", b"\t//unleak:ignore close-producer-channel\n\tgo func() {")
GIVEN = LEAKY.replace(
    b"\tgo func() {", b"\t//unleak:ignore close-producer-channel Sum reads all\n\tgo func() {"
)


def test_a_reasonless_ignore_is_a_finding_on_request(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"bare.go": BARE, "given.go": GIVEN})
    assert unleak("scan", ".", cwd=module).returncode == 0
    result = unleak("scan", "--require-ignore-reason", ".", cwd=module)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        "bare.go:5:2: ignore-without-reason [report-only] "
        "`//unleak:ignore close-producer-channel` gives no reason; say why it is safe: "
        "`//unleak:ignore close-producer-channel REASON`"
    ]


def test_the_config_key_requires_it_too(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"bare.go": BARE})
    (module / ".unleak.toml").write_text("require-ignore-reason = true\n")
    result = unleak("scan", ".", cwd=module)
    assert result.returncode == 1 and "ignore-without-reason" in result.stdout


def test_a_bad_config_value_is_a_one_line_error(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"bare.go": BARE})
    (module / ".unleak.toml").write_text('require-ignore-reason = "yes"\n')
    result = unleak("scan", ".", cwd=module)
    assert result.returncode == 2
    assert "require-ignore-reason must be true or false" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_cached_scan_does_not_hide_it(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"bare.go": BARE})
    assert unleak("scan", ".", cwd=module).returncode == 0  # fills the cache
    assert unleak("scan", "--require-ignore-reason", ".", cwd=module).returncode == 1


def test_add_ignore_with_a_reason_satisfies_it(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": LEAKY, "b.go": LEAKY.replace(b"Numbers", b"N")})
    unleak("scan", "--add-ignore", "a.go", cwd=module)
    unleak("scan", "--add-ignore=the consumer drains it", "b.go", cwd=module)
    result = unleak("scan", "--require-ignore-reason", ".", cwd=module)
    assert [line.split(": ")[0] for line in result.stdout.splitlines()] == ["a.go:5:2"]
