"""action.yml (the composite GitHub Action) and the workflows of docs/bot.md.

The action's script is run for real with bash, its `${{ }}` expressions evaluated as Actions
would, against a real bare remote and the loopback GitHub of tests/fake_github.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bot_support import TOKEN, Project, assert_no_secret, git, make_project
from tests.conftest import ROOT
from tests.fake_github import FakeGitHub, serving

ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def pr_flags() -> set[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "codemod.cli", "pr", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return set(re.findall(r"(--[a-z][a-z-]+)", completed.stdout))


def test_action_is_composite_and_safe_from_script_injection() -> None:
    assert ACTION["runs"]["using"] == "composite"
    steps = ACTION["runs"]["steps"]
    declared = set(ACTION["inputs"])
    for step in steps:
        if "run" in step:
            assert step.get("shell") == "bash"
            assert "${{" not in step["run"], "inputs must reach scripts through env only"
        text = yaml.safe_dump(step)
        used = set(re.findall(r"inputs\.([a-z-]+)", text))
        assert used <= declared, f"undeclared inputs {used - declared}"
    script = steps[-1]["run"]
    flags = set(re.findall(r"(--[a-z][a-z-]+)", script))
    assert flags <= pr_flags(), f"flags unleak pr does not have: {flags - pr_flags()}"
    assert "unleak pr" in script


def evaluate(expression: str, context: dict[str, Any]) -> str:
    """The subset of Actions expressions the action uses: dotted names and `a || b`."""
    for alternative in expression.split("||"):
        value: Any = context
        for part in alternative.strip().split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        if value:
            return str(value)
    return ""


def substitute(text: str, context: dict[str, Any]) -> str:
    return EXPRESSION.sub(lambda m: evaluate(m.group(1), context), text)


def run_action(
    project: Project, inputs: dict[str, str], api_url: str, tmp_path: Path
) -> tuple[subprocess.CompletedProcess[str], str]:
    github = {
        "token": TOKEN,
        "repository": "acme/widgets",
        "api_url": api_url,
        "event": {"repository": {"default_branch": "main"}},
    }
    context: dict[str, Any] = {"github": github, "inputs": {}}
    for name, spec in ACTION["inputs"].items():
        given = inputs.get(name, str(spec.get("default", "")))
        context["inputs"][name] = substitute(given, context)
    step = ACTION["runs"]["steps"][-1]
    env = {name: substitute(str(value), context) for name, value in step["env"].items()}
    shims = tmp_path / "bin"
    shims.mkdir(exist_ok=True)
    unleak = shims / "unleak"
    unleak.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m codemod.cli "$@"\n')
    unleak.chmod(0o755)
    output = tmp_path / "github_output"
    output.write_text("")
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("GIT_AUTHOR", "GIT_COMMITTER"))
    }
    environment.update(env)
    environment.update(
        {
            "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
            "GITHUB_OUTPUT": str(output),
        }
    )
    completed = subprocess.run(
        ["bash", "-c", step["run"]],
        cwd=project.work,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert_no_secret(completed.stdout, completed.stderr, output.read_text())
    return completed, output.read_text()


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)


def test_the_action_opens_a_pull_request(project: Project, tmp_path: Path) -> None:
    with serving(FakeGitHub(TOKEN, "acme/widgets")) as fake:
        completed, output = run_action(project, {}, fake.url, tmp_path)
        assert completed.returncode == 0, completed.stderr
        assert output == "url=https://github.example/acme/widgets/pull/1\n"
        assert list(fake.pulls) == [1]
    author = git(project.remote, "log", "-1", "--format=%an <%ae>", "unleak/fixes")
    assert author == "github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"


def test_the_action_dry_run_and_extra_args(project: Project, tmp_path: Path) -> None:
    inputs = {"dry-run": "true", "args": "--select lost-cancel"}
    completed, output = run_action(project, inputs, "http://127.0.0.1:9", tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert output == "url=\n"
    assert "nothing to fix" in completed.stderr  # lost-cancel finds nothing in this project
    assert project.remote_branch() is None


def workflows() -> list[dict[str, Any]]:
    text = (ROOT / "docs" / "bot.md").read_text(encoding="utf-8")
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def unleak_steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        step
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("OWNER/unleak@")
    ]


def test_documented_workflows_use_the_actions_inputs() -> None:
    found = workflows()
    assert len(found) == 2
    for workflow in found:
        steps = unleak_steps(workflow)
        assert len(steps) == 1
        assert set(steps[0].get("with", {})) <= set(ACTION["inputs"])


def test_the_fleet_workflow_is_a_matrix_over_repositories() -> None:
    fleet = workflows()[1]
    job = fleet["jobs"]["unleak"]
    include = job["strategy"]["matrix"]["include"]
    assert len(include) >= 2 and all("repository" in entry for entry in include)
    assert job["strategy"]["fail-fast"] is False
    text = yaml.safe_dump(job)
    for name in set(re.findall(r"matrix\.([a-z]+)", text)):
        assert any(name in entry for entry in include), f"matrix.{name} is in no entry"
    checkout = next(
        s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/checkout")
    )
    assert checkout["with"]["repository"] == "${{ matrix.repository }}"
    assert unleak_steps(fleet)[0]["with"]["repository"] == "${{ matrix.repository }}"
