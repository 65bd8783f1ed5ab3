"""go.mod and go.sum follow the fixes: a rewrite that imports errgroup requires x/sync."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from codemod.gomod import add_requirement, required_modules
from tests.cli_support import unleak
from tests.conftest import FIXTURES
from transforms.waitgroup_to_errgroup import SYNC_VERSIONS, sync_version_for

GOMODS = {
    "no require": (
        "module m\n\ngo 1.22\n",
        "module m\n\ngo 1.22\n\nrequire golang.org/x/sync v0.11.0\n",
    ),
    "require block": (
        "module m\n\ngo 1.22\n\nrequire (\n\texample.com/a v1.0.0\n\texample.com/z v1.0.0\n)\n",
        "module m\n\ngo 1.22\n\nrequire (\n\texample.com/a v1.0.0\n"
        "\texample.com/z v1.0.0\n\tgolang.org/x/sync v0.11.0\n)\n",
    ),
    "already required": (
        "module m\n\ngo 1.22\n\nrequire golang.org/x/sync v0.1.0\n",
        "module m\n\ngo 1.22\n\nrequire golang.org/x/sync v0.1.0\n",
    ),
}


@pytest.mark.parametrize(("before", "after"), GOMODS.values(), ids=GOMODS.keys())
def test_add_requirement(before: str, after: str) -> None:
    assert add_requirement(before, "golang.org/x/sync", "v0.11.0") == after
    assert "golang.org/x/sync" in required_modules(after)


@pytest.mark.parametrize("go_version", [(1, minor) for minor in range(12, 28)])
def test_x_sync_version_never_needs_a_newer_go(go_version: tuple[int, int]) -> None:
    chosen = sync_version_for(go_version)
    needs = next(minimum for minimum, version in SYNC_VERSIONS if version == chosen)
    assert needs <= go_version
    # and it is the newest such version in the table
    assert all(m > go_version or m <= needs for m, _ in SYNC_VERSIONS)


def test_fix_write_requires_x_sync_and_the_module_builds(tmp_path: Path) -> None:
    go = shutil.which("go")
    if go is None:
        pytest.skip("needs the go command and the module proxy")
    case = FIXTURES / "waitgroup-to-errgroup" / "first-error-fetch"
    (tmp_path / "go.mod").write_text("module example.com/fetch\n\ngo 1.22\n")
    shutil.copyfile(case / "before.go", tmp_path / "fetch.go")
    dry = unleak("fix", "--color", "never", ".", cwd=tmp_path)
    assert "+require golang.org/x/sync v0.11.0" in dry.stdout
    assert not (tmp_path / "go.sum").exists()  # a dry run writes nothing
    result = unleak("fix", "--write", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr  # fixed: no finding remains
    assert required_modules((tmp_path / "go.mod").read_text()) == {"golang.org/x/sync": "v0.11.0"}
    assert "golang.org/x/sync v0.11.0/go.mod h1:" in (tmp_path / "go.sum").read_text()
    env = {**os.environ, "GOFLAGS": "-mod=readonly"}  # go.sum must already be complete
    for command in (["build", "./..."], ["vet", "./..."]):
        done = subprocess.run([go, *command], cwd=tmp_path, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert unleak("fix", "--write", ".", cwd=tmp_path).returncode == 0  # second run: no-op
