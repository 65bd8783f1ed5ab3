"""`unleak fix -i`: a real pseudo-terminal, a real Go module, real answers typed at the prompt."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.cli_support import (
    LEAKY,
    LETTERS_FIXED,
    NUMBERS_FIXED,
    TWO_LEAKS,
    env,
    gofmt_accepts,
    make_module,
    unleak,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PROMPT = "Apply this change [y,n,a,d,q,e,?]? "


def spawn(module: Path, *args: str, editor: Path | None = None, **variables: str) -> pexpect.spawn:
    environment = {**env(), **variables}
    if editor is not None:
        environment["EDITOR"] = str(editor)
        environment.pop("VISUAL", None)
    return pexpect.spawn(
        sys.executable,
        ["-m", "codemod.cli", "fix", "-i", *args, "."],
        cwd=str(module),
        env=environment,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 200),
    )


def answer(child: pexpect.spawn, *replies: str) -> None:
    for reply in replies:
        child.expect_exact(PROMPT)
        child.sendline(reply)


def finish(child: pexpect.spawn) -> tuple[int | None, str]:
    child.expect(pexpect.EOF)
    output = child.before
    child.close()
    return child.exitstatus, output


@pytest.fixture
def two(tmp_path: Path) -> Path:
    """a.go with two leaks (two hunks), b.go with one."""
    return make_module(tmp_path, {"a.go": TWO_LEAKS, "b.go": LEAKY})


def test_yes_then_no_applies_only_the_first_fix(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": TWO_LEAKS})
    child = spawn(module, "--color", "never")
    child.expect_exact("a.go:5:2: close-producer-channel [safe] Close the channel")
    child.expect_exact("why: goroutine is the only sender on `out` but never closes it")
    child.expect_exact("+\t\tdefer close(out)")
    answer(child, "y")
    child.expect_exact("(2/2) ")
    answer(child, "n")
    status, output = finish(child)
    assert status == 1
    assert "wrote a.go (1 change)" in output
    written = (module / "a.go").read_bytes()
    assert NUMBERS_FIXED in written and LETTERS_FIXED not in written
    assert written.count(b"defer close") == 1 and gofmt_accepts(written)


def test_no_then_yes_gives_valid_go_with_only_the_second_fix(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": TWO_LEAKS})
    child = spawn(module, "--color", "never")
    answer(child, "n", "y")
    status, _ = finish(child)
    written = (module / "a.go").read_bytes()
    assert status == 1 and LETTERS_FIXED in written and NUMBERS_FIXED not in written
    assert gofmt_accepts(written)


def test_all_applies_the_rest_of_the_file_and_done_skips_the_rest(two: Path) -> None:
    child = spawn(two, "--color", "never")
    answer(child, "a")  # a.go: both hunks, with a single question
    child.expect_exact("b.go:5:2")
    assert PROMPT not in child.before  # a.go's second hunk was not asked about
    assert "wrote a.go (2 changes)" in child.before
    answer(child, "d")
    status, _ = finish(child)
    assert status == 1
    assert (two / "a.go").read_bytes().count(b"defer close(out)") == 2
    assert (two / "b.go").read_bytes() == LEAKY


def test_quit_keeps_what_was_accepted_and_stops(two: Path) -> None:
    child = spawn(two, "--color", "never")
    answer(child, "y", "q")
    status, output = finish(child)
    assert status == 1
    assert "b.go" not in output  # never offered
    written = (two / "a.go").read_bytes()
    assert NUMBERS_FIXED in written and LETTERS_FIXED not in written
    assert (two / "b.go").read_bytes() == LEAKY


def test_ctrl_c_quits_like_q_keeping_what_was_accepted(tmp_path: Path) -> None:
    """As in `git add -p`: the accepted hunks of the current file are written too."""
    module = make_module(tmp_path, {"a.go": LEAKY, "b.go": TWO_LEAKS, "c.go": LEAKY})
    child = spawn(module, "--color", "never")
    answer(child, "y")  # a.go's only hunk: a.go is written now
    child.expect_exact("b.go:5:2")
    answer(child, "y")  # b.go's first hunk, accepted but not yet written
    child.expect_exact("(2/2) " + PROMPT)
    child.sendintr()
    status, output = finish(child)
    assert status == 130
    assert "interrupted: 2 files written" in output and "Traceback" not in output
    assert "c.go" not in output  # never offered
    assert (module / "a.go").read_bytes().count(b"defer close(out)") == 1
    written = (module / "b.go").read_bytes()
    assert NUMBERS_FIXED in written and LETTERS_FIXED not in written and gofmt_accepts(written)
    assert (module / "c.go").read_bytes() == LEAKY
    assert not list(module.glob(".*.unleak"))


def test_end_of_input_keeps_what_was_accepted(two: Path) -> None:
    child = spawn(two, "--color", "never")
    answer(child, "n")
    child.expect_exact("(2/2) " + PROMPT)
    child.sendline("y")
    child.expect_exact("b.go:5:2")
    child.expect_exact(PROMPT)
    child.sendeof()
    status, _ = finish(child)
    assert status == 1
    written = (two / "a.go").read_bytes()
    assert LETTERS_FIXED in written and NUMBERS_FIXED not in written
    assert (two / "b.go").read_bytes() == LEAKY


def test_help_lists_every_answer(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": LEAKY})
    child = spawn(module, "--color", "never")
    answer(child, "?")
    for line in ("y - apply this change", "d - do not apply", "e - edit this change"):
        child.expect_exact(line)
    answer(child, "n")
    status, _ = finish(child)
    assert status == 1 and (module / "a.go").read_bytes() == LEAKY  # the finding remains


def editor_script(tmp_path: Path, replacement: str) -> Path:
    """An $EDITOR that rewrites the added line of the hunk it is given."""
    script = tmp_path / "edit.sh"
    script.write_text(f"#!/bin/sh\nsed -i 's/^+\\t\\tdefer close(out)$/{replacement}/' \"$1\"\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_edit_uses_the_edited_hunk(tmp_path: Path) -> None:
    module = make_module(tmp_path / "m", {"a.go": LEAKY})
    editor = editor_script(tmp_path, "+\\t\\tdefer close(out) \\/\\/ closed by hand")
    child = spawn(module, "--color", "never", editor=editor)
    answer(child, "e")
    status, output = finish(child)
    assert status == 0, output  # the only finding is fixed
    written = (module / "a.go").read_bytes()
    assert b"\t\tdefer close(out) // closed by hand\n\t\tfor i := 0" in written
    assert gofmt_accepts(written)


def test_edit_that_breaks_the_code_is_refused_and_asked_again(tmp_path: Path) -> None:
    module = make_module(tmp_path / "m", {"a.go": LEAKY})
    editor = editor_script(tmp_path, "+\\t\\tdefer close(out")
    child = spawn(module, "--color", "never", editor=editor)
    answer(child, "e")
    child.expect_exact("edited change not used")
    answer(child, "n")
    status, _ = finish(child)
    assert status == 1 and (module / "a.go").read_bytes() == LEAKY


def test_hunks_are_coloured_on_a_terminal(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": LEAKY})
    child = spawn(module)  # --color auto, and stdout is a terminal
    child.expect_exact(PROMPT)
    assert "\x1b[" in child.before
    child.sendline("n")
    finish(child)


def test_without_a_terminal_it_points_to_dry_run_and_write(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": LEAKY})
    result = unleak("fix", "-i", ".", cwd=module)  # stdin is /dev/null
    assert result.returncode == 2
    assert "--dry-run" in result.stderr and "--write" in result.stderr
    assert result.stdout == "" and (module / "a.go").read_bytes() == LEAKY


@pytest.mark.parametrize("reply", ["y", "n"])
def test_accepted_errgroup_change_brings_its_go_mod_requirement(tmp_path: Path, reply: str) -> None:
    """go.mod and go.sum follow the accepted hunks only: with them the module builds."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("needs the go command and the module proxy")
    case = FIXTURES / "waitgroup-to-errgroup" / "first-error-fetch"
    module = make_module(tmp_path, {"fetch.go": (case / "before.go").read_bytes()})
    gomod = (module / "go.mod").read_text()
    child = spawn(module)
    answer(child, reply)
    status, output = finish(child)
    if reply == "n":
        assert (module / "go.mod").read_text() == gomod and not (module / "go.sum").exists()
        return
    assert status == 0, output  # every finding is fixed: none remains
    assert "1 change applied in 1 file" in output
    assert "wrote go.mod" in output and "wrote go.sum" in output
    assert "golang.org/x/sync v0.11.0" in (module / "go.mod").read_text()
    readonly = {**os.environ, "GOFLAGS": "-mod=readonly"}  # go.sum must already be complete
    for command in (["build", "./..."], ["vet", "./..."]):
        done = subprocess.run(
            [go, *command], cwd=module, env=readonly, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr


def test_accepting_every_hunk_exits_0(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": TWO_LEAKS})
    child = spawn(module, "--color", "never")
    answer(child, "y", "y")
    status, output = finish(child)
    assert status == 0, output  # a successful apply: no finding remains
    assert "2 changes applied in 1 file" in output


def test_review_fixes_held_back_are_mentioned(tmp_path: Path) -> None:
    generator = (
        FIXTURES / "close-producer-channel" / "generator-returned" / "before.go"
    ).read_bytes()
    module = make_module(
        tmp_path, {"a.go": LEAKY, "g.go": generator.replace(b"package fixture", b"package p")}
    )
    child = spawn(module, "--color", "never")
    answer(child, "y")
    status, output = finish(child)
    assert "1 review fix not offered: use --unsafe" in output
    assert status == 1  # the review finding remains
    assert PROMPT not in output  # g.go was not asked about


def test_no_color_is_honoured(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": LEAKY})
    child = spawn(module, NO_COLOR="1")  # --color auto on a terminal
    child.expect_exact(PROMPT)
    assert "\x1b[" not in child.before and "+\t\tdefer close(out)" in child.before
    child.sendline("n")
    finish(child)


def test_hunk_header_names_the_enclosing_function_like_git(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": TWO_LEAKS})
    child = spawn(module, "--color", "never")
    child.expect_exact("@@ -3,6 +3,7 @@ func Numbers(n int) <-chan int {\r\n")
    answer(child, "n")
    child.expect_exact("@@ -21,6 +21,7 @@ func Letters(s string) <-chan rune {\r\n")
    answer(child, "n")
    finish(child)


def test_question_mark_shows_help_then_the_hunk_again(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": LEAKY})
    child = spawn(module, "--color", "never")
    answer(child, "?")
    child.expect_exact("? - print help")
    child.expect_exact("a.go:5:2: close-producer-channel [safe]")  # the hunk once more
    child.expect_exact("+\t\tdefer close(out)")
    answer(child, "n")
    finish(child)


def test_empty_enter_asks_again_without_the_help(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": LEAKY})
    child = spawn(module, "--color", "never")
    answer(child, "")
    child.expect_exact(PROMPT)
    assert "apply this change" not in child.before  # no help text in between
    child.sendline("n")
    status, _ = finish(child)
    assert status == 1


def test_ctrl_c_after_an_errgroup_hunk_still_writes_go_mod(tmp_path: Path) -> None:
    """The accepted errgroup file is written; go.mod and go.sum follow, so the module builds."""
    go = shutil.which("go")
    if go is None:
        pytest.skip("needs the go command and the module proxy")
    case = FIXTURES / "waitgroup-to-errgroup" / "first-error-fetch"
    later = LEAKY.replace(b"package p", b"package fixture")
    module = make_module(tmp_path, {"fetch.go": (case / "before.go").read_bytes(), "z.go": later})
    child = spawn(module, "--color", "never")
    child.expect_exact("go.mod (and go.sum): require golang.org/x/sync v0.11.0")
    answer(child, "y")
    child.expect_exact("z.go:5:2")
    child.expect_exact(PROMPT)
    child.sendintr()
    status, output = finish(child)
    assert status == 130, output
    assert "wrote go.mod" in output and "wrote go.sum" in output
    assert (module / "z.go").read_bytes() == later
    readonly = {**os.environ, "GOFLAGS": "-mod=readonly"}
    done = subprocess.run(
        [go, "build", "./..."], cwd=module, env=readonly, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_ctrl_c_in_the_editor_quits_like_q(tmp_path: Path) -> None:
    module = make_module(tmp_path / "m", {"a.go": TWO_LEAKS})
    editor = tmp_path / "slow.sh"
    editor.write_text("#!/bin/sh\necho editing\nsleep 30\n")
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)
    child = spawn(module, "--color", "never", editor=editor)
    answer(child, "y", "e")
    child.expect_exact("editing")
    child.sendintr()
    status, output = finish(child)
    assert status == 130, output
    written = (module / "a.go").read_bytes()  # the first hunk, accepted before the editor
    assert NUMBERS_FIXED in written and LETTERS_FIXED not in written
