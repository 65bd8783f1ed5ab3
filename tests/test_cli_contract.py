"""The command-line contract: exit codes, option validation, messages and paths (issue 20)."""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import pytest

from codemod.bot.github import GitHubForge
from codemod.bot.token import Token
from tests.cli_support import LEAKY, make_module, unleak


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
