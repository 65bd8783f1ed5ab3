"""`[tool.unleak]` in pyproject.toml and `.unleak.toml`: found, checked, and overridden by flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.engine import RunOptions
from codemod.model import Safety
from codemod.outputs import merge, read_config
from codemod.pathglob import matches
from tests.cli_support import LEAKY, make_module, unleak
from transforms import ALL_TRANSFORMS


@pytest.fixture
def module(tmp_path: Path) -> Path:
    return make_module(tmp_path, {"a.go": LEAKY, "legacy/old.go": LEAKY, "gen/x_gen.go": LEAKY})


def found_files(output: str) -> list[str]:
    return sorted(line.split(":", 1)[0] for line in output.splitlines())


def test_no_config_reports_everything(module: Path) -> None:
    result = unleak("scan", ".", cwd=module)
    assert found_files(result.stdout) == ["a.go", "gen/x_gen.go", "legacy/old.go"]


def test_dot_unleak_toml_exclude_and_per_path_ignores(module: Path) -> None:
    (module / ".unleak.toml").write_text(
        'exclude = ["*_gen.go"]\n[per-path-ignores]\n"legacy/**" = ["close-producer-channel"]\n'
    )
    result = unleak("scan", ".", cwd=module)
    assert found_files(result.stdout) == ["a.go"], result.stderr
    fixed = unleak("fix", "--write", ".", cwd=module)
    assert fixed.returncode == 0  # the one finding left in play is fixed
    assert b"defer close" in (module / "a.go").read_bytes()
    assert (module / "legacy" / "old.go").read_bytes() == LEAKY  # ignored: not fixed either
    assert (module / "gen" / "x_gen.go").read_bytes() == LEAKY  # excluded


def test_pyproject_tool_unleak_from_a_subdirectory(module: Path) -> None:
    (module / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.unleak]\nignore = ["close-producer-channel"]\n'
    )
    result = unleak("scan", "./...", cwd=module / "legacy")
    assert (result.returncode, result.stdout) == (0, ""), result.stderr


def test_pyproject_without_unleak_table_is_not_a_config(module: Path) -> None:
    (module / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.other]\nselect = 1\n')
    assert unleak("scan", ".", cwd=module).returncode == 1


def test_flags_win_over_the_config(module: Path) -> None:
    (module / ".unleak.toml").write_text('ignore = ["close-producer-channel"]\n')
    assert unleak("scan", ".", cwd=module).returncode == 0
    other = next((t.id for t in ALL_TRANSFORMS if t.id != "close-producer-channel"), None)
    if other is None:
        pytest.skip("needs a second transform to ignore on the command line")
    flagged = unleak("scan", "--ignore", other, "a.go", cwd=module)
    assert flagged.returncode == 1 and flagged.stdout.startswith("a.go:5:2")


def test_bad_go_version_in_config_is_a_usage_error(module: Path) -> None:
    (module / ".unleak.toml").write_text('go-version = "one.two"\n')
    result = unleak("scan", ".", cwd=module)
    assert result.returncode == 2
    assert "go-version" in result.stderr and "not a Go version" in result.stderr


def test_config_values_merge_under_flags(module: Path) -> None:
    (module / ".unleak.toml").write_text(
        'go-version = "1.21"\nunsafe = true\nselect = ["close-producer-channel"]\n'
    )
    config = read_config((str(module),), None, [t.id for t in ALL_TRANSFORMS])
    merged = merge(RunOptions(), config, flags_given=set())
    assert merged.go_version == (1, 21)
    assert merged.apply_threshold is Safety.REVIEW
    assert merged.select == frozenset({"close-producer-channel"})
    flagged = RunOptions(go_version=(1, 23), select=frozenset({"x"}))
    kept = merge(flagged, config, flags_given={"go_version", "select", "unsafe"})
    assert (kept.go_version, kept.select, kept.apply_threshold) == (
        (1, 23),
        frozenset({"x"}),
        Safety.SAFE,
    )


def test_unknown_key_is_a_one_line_error_naming_it(module: Path) -> None:
    (module / ".unleak.toml").write_text('selct = ["close-producer-channel"]\n')
    result = unleak("scan", ".", cwd=module)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown key 'selct'" in lines[0] and ".unleak.toml" in lines[0]


def test_unknown_key_in_pyproject_names_the_table(module: Path) -> None:
    (module / "pyproject.toml").write_text("[tool.unleak]\nunsafe = true\nfoo = 1\n")
    result = unleak("fix", ".", cwd=module)
    assert result.returncode == 2
    assert "unknown key 'foo' in [tool.unleak]" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('select = "close-producer-channel"\n', "select must be a list of strings"),
        ('select = ["no-such-id"]\n', "unknown transform id 'no-such-id'"),
        ("unsafe = 1\n", "unsafe must be true or false"),
        ("select = [\n", "not valid TOML"),
    ],
)
def test_bad_values_are_usage_errors(module: Path, content: str, message: str) -> None:
    (module / ".unleak.toml").write_text(content)
    result = unleak("scan", ".", cwd=module)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_explicit_config_file(module: Path, tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('select = ["close-producer-channel"]\nexclude = ["a.go", "legacy"]\n')
    result = unleak("scan", "--config", str(config), str(module), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == [
        str(module / "gen" / "x_gen.go").removeprefix(str(tmp_path) + "/")
    ]


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("*_gen.go", "gen/x_gen.go", True),
        ("*_gen.go", "x_gen.go", True),
        ("legacy", "legacy/old.go", True),
        ("legacy/**", "legacy/deep/old.go", True),
        ("legacy/*.go", "legacy/deep/old.go", False),
        ("internal/legacy", "legacy/old.go", False),
        ("a.go", "b/a.go", True),
        ("/a.go", "b/a.go", False),
        ("/a.go", "a.go", True),
        ("**/x.go", "a/b/x.go", True),
        ("[ab].go", "b.go", True),
    ],
)
def test_glob_semantics(pattern: str, path: str, expected: bool) -> None:
    assert matches(pattern, path) is expected
