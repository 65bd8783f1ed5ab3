"""The command-line contract: exit codes, option validation, messages and paths (issue 20)."""

from __future__ import annotations

import warnings

from codemod.bot.github import GitHubForge
from codemod.bot.token import Token


def test_github_forge_is_built_without_deprecation_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # PyGithub's "Argument lazy is deprecated" fails here
        forge = GitHubForge("https://api.github.invalid", "owner/repo", Token("t0ken"))
    assert forge.repo_name == "owner/repo"
