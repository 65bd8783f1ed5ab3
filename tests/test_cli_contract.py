"""The command-line contract: exit codes, option validation, messages and paths (issue 20)."""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

import pytest

from codemod.bot.github import GitHubForge
from codemod.bot.token import Token
from codemod.go.parse import error_ranges, parse_source
from codemod.verify import RewriteRejected, check_rewrite
from tests.cli_support import LEAKY, make_module, unleak
from tests.conftest import ROOT


def test_github_forge_is_built_without_deprecation_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyGithub's "Argument lazy is deprecated" fails here
        forge = GitHubForge("https://api.github.invalid", "owner/repo", Token("t0ken"))
    assert forge.repo_name == "owner/repo"


def test_a_path_outside_the_current_directory_prints_as_given(tmp_path: Path) -> None:
    module = make_module(tmp_path / "other" / "x", {"worker.go": LEAKY})
    here = tmp_path / "a" / "b" / "c"
    here.mkdir(parents=True)
    given = str(module / "worker.go")
    scanned = unleak("scan", given, cwd=here)
    assert scanned.stdout.startswith(f"{given}:5:2: close-producer-channel"), scanned.stdout
    relative = unleak("scan", "../../../other/x", cwd=here)
    assert relative.stdout.startswith("../../../other/x/worker.go:5:2: "), relative.stdout
    inside = unleak("scan", str(module), cwd=module.parent)
    assert inside.stdout.startswith("x/worker.go:5:2: "), inside.stdout  # inside: relative


@pytest.mark.parametrize("command", ["scan", "fix"])
def test_an_empty_select_is_a_usage_error_not_a_gate_that_passes(
    tmp_path: Path, command: str
) -> None:
    module = make_module(tmp_path, {"leaky.go": LEAKY})
    for empty in ("", ","):
        result = unleak(command, "--select", empty, ".", cwd=module)
        assert result.returncode == 2, result.stderr
        assert "--select names no transform id" in result.stderr and result.stdout == ""


@pytest.mark.parametrize("version", ["2.0", "1.99", "0.9"])
def test_go_version_must_be_a_go_release(tmp_path: Path, version: str) -> None:
    module = make_module(tmp_path, {"leaky.go": LEAKY})
    result = unleak("scan", "--go-version", version, ".", cwd=module)
    assert result.returncode == 2 and "--go-version" in result.stderr, result.stderr
    assert unleak("scan", "--go-version", "1.22", ".", cwd=module).returncode == 1


def test_an_unknown_diff_base_names_the_revision(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"leaky.go": LEAKY})
    subprocess.run(["git", "init", "-q"], cwd=module, check=True)
    result = unleak("scan", "--diff-base", "nosuchrev", ".", cwd=module)
    assert result.returncode == 2
    assert "no commit named 'nosuchrev'" in result.stderr, result.stderr


GENERATOR = (
    ROOT / "fixtures" / "close-producer-channel" / "generator-returned" / "before.go"
).read_bytes()
CLEAN = b"package p\n\nfunc Add(a, b int) int { return a + b }\n"


def _exit_codes(tmp_path: Path) -> dict[str, int]:
    """Each command in each situation of the README's exit-code table, and its exit code."""
    codes: dict[str, int] = {}

    def run(name: str, files: dict[str, bytes], *args: str) -> None:
        module = make_module(tmp_path / name, files)
        codes[name] = unleak(*args, cwd=module).returncode

    review = {"a.go": LEAKY, "g.go": GENERATOR.replace(b"package fixture", b"package p")}
    run("scan-clean", {"a.go": CLEAN}, "scan", ".")
    run("scan-found", {"a.go": LEAKY}, "scan", ".")
    run("scan-missing", {}, "scan", "nosuch")
    run("dry-run-clean", {"a.go": CLEAN}, "fix", ".")
    run("dry-run-found", {"a.go": LEAKY}, "fix", ".")
    run("dry-run-review-only", {"g.go": review["g.go"]}, "fix", "--format", "json", ".")
    run("patch-file-found", {"a.go": LEAKY}, "fix", "--patch-file", "out.patch", ".")
    run("write-all-fixed", {"a.go": LEAKY}, "fix", "--write", ".")
    run("write-review-remains", review, "fix", "--write", ".")
    run("write-unsafe-all-fixed", review, "fix", "--write", "--unsafe", ".")
    run("write-missing", {}, "fix", "--write", "nosuch")
    run("apply-missing", {}, "apply", "nosuch.patch")
    run("list", {}, "list")
    run("explain", {}, "explain", "lost-cancel")
    run("explain-unknown", {}, "explain", "nosuch")
    run("cache-info", {}, "cache", "info")
    return codes


def test_exit_codes_follow_the_documented_contract(tmp_path: Path) -> None:
    """scan and fix exit 1 while findings remain (after fix --write: the ones it could not
    fix), 0 when none remain, 2 on an error; the README's table says the same."""
    assert _exit_codes(tmp_path) == {
        "scan-clean": 0,
        "scan-found": 1,
        "scan-missing": 2,
        "dry-run-clean": 0,
        "dry-run-found": 1,
        "dry-run-review-only": 1,  # nothing is written: the finding remains
        "patch-file-found": 1,
        "write-all-fixed": 0,
        "write-review-remains": 1,
        "write-unsafe-all-fixed": 0,
        "write-missing": 2,
        "apply-missing": 2,
        "list": 0,
        "explain": 0,
        "explain-unknown": 2,
        "cache-info": 0,
    }
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for command in ("`scan", "`fix --dry-run", "`fix --write", "`apply", "`triage", "`pr"):
        assert f"| {command}" in table


def test_readme_explains_the_first_commands_exit_and_the_test_commands_needs(
    tmp_path: Path,
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    try_it = readme.split("## Try it", 1)[1].split("\n## ", 1)[0]
    first, second = (part for part in try_it.split("```sh")[1:3])
    after_first = first.split("```", 1)[1]
    assert "exits 1" in after_first and "leaks" in after_first
    after_second = second.split("```", 1)[1]
    for need in ("npm", "C compiler", "Go module proxy", "Gitea"):
        assert need in after_second, need
    # And it does exit 1, for the reason given.
    example = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", example)
    assert unleak("fix", "--dry-run", "--color", "always", ".", cwd=example).returncode == 1


BROKEN_ELSEWHERE = b"""package p

import (
\t"context"
\t"time"
)

func Broken() int {
\treturn 08
}

func WithDeadline(parent context.Context, d time.Duration, work func(context.Context) error) error {
\tctx, _ := context.WithTimeout(parent, d)
\treturn work(ctx)
}
"""


@pytest.mark.skipif(shutil.which("gofmt") is None, reason="needs gofmt")
def test_a_file_that_does_not_parse_as_it_is_is_not_blamed_on_the_rewrite(
    tmp_path: Path,
) -> None:
    module = make_module(tmp_path, {"a.go": BROKEN_ELSEWHERE})
    scanned = unleak("scan", ".", cwd=module)
    assert "a.go:13:2: lost-cancel [safe]" in scanned.stdout
    fixed = unleak("fix", "--write", ".", cwd=module)
    assert "gofmt rejects the rewrite" not in fixed.stderr
    assert "a.go: the file does not parse as it is (gofmt: 9:10: invalid digit" in fixed.stderr
    written = (module / "a.go").read_bytes()  # fixed as scan promised, the error left alone
    assert b"\tctx, cancel := context.WithTimeout(parent, d)\n\tdefer cancel()\n" in written
    assert b"\treturn 08\n" in written and fixed.returncode == 0


@pytest.mark.skipif(shutil.which("gofmt") is None, reason="needs gofmt")
def test_a_rewrite_with_an_error_of_its_own_is_still_rejected() -> None:
    original = parse_source(BROKEN_ELSEWHERE)
    # gofmt: "expression in defer must be function call"; tree-sitter sees no error in it.
    own_error = BROKEN_ELSEWHERE.replace(
        b"\treturn work(ctx)\n", b"\tdefer 1\n\treturn work(ctx)\n"
    )
    assert len(error_ranges(parse_source(own_error).tree)) == len(original.error_ranges())
    with pytest.raises(RewriteRejected, match="gofmt rejects the rewrite"):
        check_rewrite(original, own_error)
