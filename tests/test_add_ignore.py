"""`scan --add-ignore[=REASON]`: a `//unleak:ignore ID REASON` above every remaining finding."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemod.add_ignore import IgnoreRefused, checked_with_ignores
from codemod.engine import RunOptions, process_file
from codemod.model import Finding, Position, Safety
from codemod.suppress import UNUSED_IGNORE_ID
from tests.cli_support import LEAKY, TWO_LEAKS, make_module, snapshot, unleak
from tests.conftest import FIXTURES

BEFORE_FILES = sorted(FIXTURES.glob("*/*/before.go"))
needs_gofmt = pytest.mark.skipif(shutil.which("gofmt") is None, reason="needs gofmt")


def _module_of_every_fixture(root: Path) -> Path:
    """Every fixture's before.go, each in its own package directory of one module."""
    files = {
        f"{before.parent.parent.name}_{before.parent.name}/x.go": before.read_bytes()
        for before in BEFORE_FILES
    }
    return make_module(root, files)


def test_add_ignore_silences_every_finding_of_every_fixture(tmp_path: Path) -> None:
    module = _module_of_every_fixture(tmp_path / "m")
    found = unleak("scan", ".", cwd=module)
    assert found.returncode == 1
    count = len(found.stdout.splitlines())
    added = unleak("scan", "--add-ignore=adopted; see #12", ".", cwd=module)
    assert added.returncode == 0, added.stderr
    assert f"added {count} ignores" in added.stderr
    after = unleak("scan", ".", cwd=module)
    assert after.returncode == 0 and after.stdout == "", after.stdout
    written = snapshot(module)
    again = unleak("scan", "--add-ignore=adopted; see #12", ".", cwd=module)
    assert again.returncode == 0 and "added 0 ignores" in again.stderr
    assert snapshot(module) == written  # idempotent


@needs_gofmt
def test_the_result_is_gofmt_clean(tmp_path: Path) -> None:
    module = _module_of_every_fixture(tmp_path / "m")
    before = subprocess.run(["gofmt", "-l", "."], cwd=module, capture_output=True, text=True)
    unleak("scan", "--add-ignore", ".", cwd=module)
    after = subprocess.run(["gofmt", "-l", "."], cwd=module, capture_output=True, text=True)
    assert after.returncode == 0 and after.stdout == before.stdout


def test_the_comment_goes_above_the_line_with_its_indent_and_reason(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": LEAKY})
    result = unleak("scan", "--add-ignore=legacy producer", ".", cwd=module)
    assert result.returncode == 0, result.stderr
    lines = (module / "a.go").read_bytes().splitlines()
    assert lines[4] == b"\t//unleak:ignore close-producer-channel legacy producer"
    assert lines[5] == b"\tgo func() {"


def test_a_bare_flag_adds_no_reason_and_keeps_the_path(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": LEAKY})
    result = unleak("scan", "--add-ignore", "a.go", cwd=module)
    assert result.returncode == 0, result.stderr
    assert b"\t//unleak:ignore close-producer-channel\n" in (module / "a.go").read_bytes()


def test_an_existing_directive_above_gains_the_id(tmp_path: Path) -> None:
    source = LEAKY.replace(b"\tgo func() {", b"\t//unleak:ignore lost-cancel old\n\tgo func() {")
    module = make_module(tmp_path, {"a.go": source})
    result = unleak("scan", "--add-ignore=new", ".", cwd=module)
    assert result.returncode == 0, result.stderr
    text = (module / "a.go").read_bytes()
    assert b"\t//unleak:ignore close-producer-channel,lost-cancel old\n\tgo func() {" in text
    assert text.count(b"unleak:ignore") == 1


def test_two_findings_in_one_file_each_get_theirs(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": TWO_LEAKS})
    unleak("scan", "--add-ignore", ".", cwd=module)
    assert (module / "a.go").read_bytes().count(b"//unleak:ignore close-producer-channel") == 2
    assert unleak("scan", ".", cwd=module).returncode == 0


def test_a_reason_on_several_lines_is_a_usage_error(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"a.go": LEAKY})
    result = unleak("scan", "--add-ignore=one\ntwo", ".", cwd=module)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (module / "a.go").read_bytes() == LEAKY


_REASONS = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30).map(
    str.strip
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before=st.sampled_from(BEFORE_FILES), reason=_REASONS)
def test_add_then_scan_finds_nothing(tmp_path: Path, before: Path, reason: str) -> None:
    module = make_module(tmp_path / "m", {"x.go": before.read_bytes()})
    path = module / "x.go"
    findings = process_file(path, RunOptions()).findings
    source = path.read_bytes()
    content, added = checked_with_ignores(source, findings, reason)
    assert added == len({(f.start.line, f.transform_id) for f in findings})
    path.write_bytes(content)
    left = [
        f for f in process_file(path, RunOptions()).findings if f.transform_id != UNUSED_IGNORE_ID
    ]
    assert left == []
    assert checked_with_ignores(content, left, reason) == (content, 0)
    if findings and reason:
        assert reason.encode("utf-8") in content


def test_a_comment_that_would_land_inside_a_raw_string_is_refused(tmp_path: Path) -> None:
    source = b"package p\n\nvar s = `first\nsecond\nthird`\n"
    finding = Finding(
        transform_id="close-producer-channel",
        path=tmp_path / "x.go",
        start=Position(4, 1),
        end=Position(4, 2),
        message="m",
        safety=Safety.SAFE,
    )
    with pytest.raises(IgnoreRefused, match="inside a string"):
        checked_with_ignores(source, [finding], "why", use_gofmt=False)
