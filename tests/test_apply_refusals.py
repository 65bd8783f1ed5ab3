"""`unleak apply` writes only regular files inside the tree it runs in, and all or nothing.

Each case is a patch someone could hand over for review: it must not plant a file outside the
tree or a git hook, nor hang on a FIFO, nor leave half of itself applied.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemod.applypatch import PatchRefused, apply_patch
from codemod.sinks.write import ChangedUnderneath
from tests.cli_support import unleak

ONE_LINE_ERROR = re.compile(r"^unleak: [^\n]+; nothing was written\n$")


def everything(root: Path) -> dict[str, bytes | str]:
    """Every file under root, .git included, symbolic links by their target."""
    state: dict[str, bytes | str] = {}
    for directory, subdirectories, files in os.walk(root):
        for name in subdirectories + files:
            path = Path(directory, name)
            key = str(path.relative_to(root))
            if path.is_symlink():
                state[key] = f"-> {os.readlink(path)}"
            elif path.is_file():
                state[key] = path.read_bytes()
            elif path.is_dir():
                state[key] = "dir"
            else:
                state[key] = "special"
    return state


@pytest.fixture
def world(tmp_path: Path) -> Path:
    """tmp_path/tree (a git work tree, where apply runs) next to tmp_path/victim."""
    tree, victim = tmp_path / "tree", tmp_path / "victim"
    tree.mkdir()
    victim.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=tree, check=True)
    (tree / "a.go").write_text("package a\n")
    (victim / "v.go").write_text("package v\n")
    (tree / "lnk.go").symlink_to("../victim/v.go")
    (tree / "hooks").symlink_to(".git/hooks")
    os.mkfifo(tree / "pipe.go")
    (tree / "dir.go").mkdir()
    return tmp_path


def new_file(name: str) -> str:
    return f"--- /dev/null\n+++ {name}\n@@ -0,0 +1 @@\n+planted\n"


def changed_file(name: str, old: str = "package v") -> str:
    return f"--- a/{name}\n+++ b/{name}\n@@ -1 +1 @@\n-{old}\n+planted\n"


# name -> (patch, what the one-line message says); {victim} is the folder outside the tree.
OUTSIDE_CASES: dict[str, tuple[str, str]] = {
    "absolute": (new_file("{victim}/x.go"), "{victim}/x.go: an absolute path"),
    "dotdot": (changed_file("../victim/v.go"), "../victim/v.go: `..` leads out of the tree"),
    "b-dotdot": (new_file("b/../../victim/created.sh"), "`..` leads out of the tree"),
    "symlink-out": (changed_file("lnk.go"), "lnk.go: a symbolic link leads out of the tree"),
    "git-hook": (new_file("b/.git/hooks/post-commit"), "inside .git"),
    "git-hook-case": (new_file("b/.GIT/hooks/post-commit"), "inside .git"),
    "symlink-into-git": (new_file("b/hooks/post-commit"), "a symbolic link leads into .git"),
    "fifo": (changed_file("pipe.go"), "pipe.go: not a regular file"),
    "directory": (changed_file("dir.go"), "dir.go: not a regular file"),
}
# git apply --check refuses these too; it reads an absolute +++ name as a path inside the tree
# (minus its first component), and lets the directory case pass its check.
GIT_REFUSES = {
    "dotdot",
    "b-dotdot",
    "symlink-out",
    "git-hook",
    "git-hook-case",
    "symlink-into-git",
    "fifo",
}


@pytest.mark.parametrize("case", OUTSIDE_CASES)
def test_apply_refuses_to_write_outside_the_tree(world: Path, case: str) -> None:
    patch, expected = (text.format(victim=world / "victim") for text in OUTSIDE_CASES[case])
    (world / "p.diff").write_text(patch)
    before = everything(world)
    result = unleak("apply", "../p.diff", cwd=world / "tree")
    assert result.returncode == 2, result.stderr
    assert ONE_LINE_ERROR.match(result.stderr), result.stderr
    assert expected in result.stderr
    assert everything(world) == before
    if case in GIT_REFUSES:
        git = subprocess.run(
            ["git", "apply", "--check", "../p.diff"],
            cwd=world / "tree",
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert git.returncode != 0


def test_a_symbolic_link_is_judged_by_where_it_leads(world: Path) -> None:
    tree = world / "tree"
    (tree / "alias.go").symlink_to("a.go")
    apply_patch(changed_file("alias.go", "package a"), tree)
    assert (tree / "a.go").read_text() == "planted\n"  # inside: written through the link
    assert (tree / "alias.go").is_symlink()
    with pytest.raises(PatchRefused, match=r"lnk\.go: a symbolic link leads out of the tree"):
        apply_patch(changed_file("lnk.go"), tree)
    assert (world / "victim" / "v.go").read_text() == "package v\n"


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        (new_file("b/nodir/new.go"), "nodir/new.go: its directory does not exist"),
        (changed_file("a.go", "package a"), "a.go: changed twice in the patch"),
        (changed_file("alias.go", "package a"), "alias.go: changed twice in the patch (also as"),
    ],
    ids=["missing-directory", "same-file-twice", "same-file-by-a-link"],
)
def test_a_second_file_that_cannot_be_written_leaves_the_first_as_it_was(
    world: Path, second: str, expected: str
) -> None:
    tree = world / "tree"
    (tree / "alias.go").symlink_to("a.go")
    (world / "p.diff").write_text(changed_file("a.go", "package a") + second)
    before = everything(world)
    result = unleak("apply", "../p.diff", cwd=tree)
    assert result.returncode == 2
    assert ONE_LINE_ERROR.match(result.stderr) and expected in result.stderr, result.stderr
    assert everything(world) == before


def two_files(tree: Path) -> str:
    (tree / "b.go").write_text("package b\n")
    return changed_file("a.go", "package a") + changed_file("b.go", "package b")


def fail_on_call(number: int, real: Callable[..., Any]) -> Callable[..., Any]:
    calls = []

    def maybe_fail(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == number:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*args, **kwargs)

    return maybe_fail


def test_every_replacement_is_prepared_before_any_rename(
    world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = world / "tree"
    patch = two_files(tree)
    before = everything(world)
    # The disk fills up while the second file's new content is written.
    monkeypatch.setattr(tempfile, "mkstemp", fail_on_call(2, tempfile.mkstemp))
    with pytest.raises(OSError, match="No space left"):
        apply_patch(patch, tree)
    assert everything(world) == before  # no temp file either


def test_a_failed_rename_puts_back_the_files_renamed_before_it(
    world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = world / "tree"
    patch = two_files(tree)
    before = everything(world)
    monkeypatch.setattr(os, "replace", fail_on_call(2, os.replace))
    with pytest.raises(OSError):
        apply_patch(patch, tree)
    assert everything(world) == before


SEGMENTS = st.sampled_from(["..", ".", "a.go", "sub", ".git", ".GIT", "lnk", "hooks", "x.go", ""])
DEPTH = 6  # the tree sits this deep in the temporary folder: `..` never leaves that folder


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    segments=st.lists(SEGMENTS, min_size=1, max_size=DEPTH),
    prefix=st.sampled_from(["b/", "", "absolute"]),
    created=st.booleans(),
)
def test_random_patch_paths_never_write_outside_the_tree_or_into_git(
    segments: list[str], prefix: str, created: bool
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        world = Path(directory)
        tree = world.joinpath(*["up"] * (DEPTH - 1), "tree")
        for folder in (tree / ".git" / "hooks", tree / "sub", world / "outside"):
            folder.mkdir(parents=True)
            (folder / "a.go").write_text("old\n")
        (tree / "lnk").symlink_to(world / "outside")
        (tree / "hooks").symlink_to(".git/hooks")
        name = (f"{world}/outside/" if prefix == "absolute" else prefix) + "/".join(segments)
        patch = new_file(name) if created else changed_file(name, "old")

        def protected() -> dict[str, bytes | str]:
            state = everything(world)
            return {k: v for k, v in state.items() if "tree/" not in k or "tree/.git" in k}

        before, protected_before = everything(world), protected()
        try:
            written = apply_patch(patch, tree)
        except (PatchRefused, ChangedUnderneath, OSError):
            assert everything(world) == before  # a refusal changes nothing at all
            return
        assert protected() == protected_before
        for path in written:
            relative = path.relative_to(tree.resolve())
            assert ".git" not in [part.lower() for part in relative.parts]
