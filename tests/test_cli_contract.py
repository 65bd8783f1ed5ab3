"""The command-line contract: exit codes, option validation, messages and paths (issue 20)."""

from __future__ import annotations

import warnings
from pathlib import Path

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
