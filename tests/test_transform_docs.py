"""Each transform documents itself in ruff's sections, and its own example is executed: its
findings (position, safety, message) are pinned in fixtures/<id>/documented-example.golden,
and it rewrites into "Use instead" under `fix`, or `fix --unsafe` when the golden says review."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from codemod.cli import main
from codemod.gomod import parse_gomod
from codemod.model import Safety
from codemod.transform import DOC_SECTIONS, Transform
from tests.conftest import FIXTURES, run_codemod
from tests.expectations import (
    against_golden,
    describe,
    golden_lines,
    golden_needs_unsafe,
    read_golden,
    unified,
    updating,
    write_golden,
)
from transforms import ALL_TRANSFORMS

MODULE = parse_gomod("module example\n\ngo 1.21\n", Path("go.mod"))
EXAMPLE_FILE = "example.go"  # the Example block under `package example`, as the golden names it


def _golden(transform: Transform) -> Path:
    return FIXTURES / transform.id / "documented-example.golden"


def _as_file(code: str) -> bytes:
    return f"package example\n\n{code}".encode()


@pytest.mark.parametrize("transform", ALL_TRANSFORMS, ids=lambda t: t.id)
def test_docstring_has_every_section(transform: Transform) -> None:
    sections = transform.documentation()
    assert list(sections)[: len(DOC_SECTIONS)] == list(DOC_SECTIONS)
    assert all(sections[name] for name in DOC_SECTIONS)


@pytest.mark.parametrize("transform", ALL_TRANSFORMS, ids=lambda t: t.id)
def test_example_findings_match_golden(transform: Transform) -> None:
    before = _as_file(transform.example_code("Example"))
    result = run_codemod(before, MODULE, select=transform.id)
    actual = golden_lines(result.findings, EXAMPLE_FILE)
    golden = _golden(transform)
    if updating():
        write_golden(golden, actual)
    expected = read_golden(golden)
    problems = against_golden(expected, actual)
    assert actual, "the documented example is not reported"
    assert not problems, (
        describe(problems, before, f"{transform.id} {EXAMPLE_FILE}")
        + "\n\n"
        + unified(
            "".join(f"{line}\n" for line in expected),
            "".join(f"{line}\n" for line in actual),
            str(golden.relative_to(FIXTURES.parent)),
            "today's findings",
        )
    )


@pytest.mark.parametrize("transform", ALL_TRANSFORMS, ids=lambda t: t.id)
def test_example_rewrites_to_use_instead(transform: Transform) -> None:
    before = _as_file(transform.example_code("Example"))
    after = _as_file(transform.example_code("Use instead"))
    # The golden's safety decides the command: a safe example is what plain `fix` rewrites, so
    # a fix that slips to review no longer produces "Use instead".
    unsafe = golden_needs_unsafe(read_golden(_golden(transform)))
    result = run_codemod(before, MODULE, select=transform.id, unsafe=unsafe)
    if transform.safety is Safety.REPORT_ONLY:
        # A transform that only reports finds its example and leaves the rewrite to the author;
        # what the author would write is no finding.
        assert result.findings and result.rewritten is None
        assert not run_codemod(after, MODULE, select=transform.id, unsafe=True).findings
        return
    command = "fix --unsafe" if unsafe else "fix"
    assert result.rewritten is not None, f"Wrong fix: `{command}` leaves the example as it is"
    assert result.rewritten.decode() == after.decode(), f"Wrong fix: `{command}`\n" + unified(
        after.decode(), result.rewritten.decode(), "Use instead", f"`{command}` of Example"
    )
    if unsafe:
        plain = run_codemod(before, MODULE, select=transform.id)
        assert plain.rewritten is None, "Wrong safety: plain `fix` applies a review example"


@pytest.mark.parametrize("transform", ALL_TRANSFORMS, ids=lambda t: t.id)
def test_explain_prints_the_documentation(transform: Transform) -> None:
    output = CliRunner().invoke(main, ["explain", transform.id])
    assert output.exit_code == 0
    for section in DOC_SECTIONS:
        assert f"## {section}" in output.stdout
    assert transform.example_code("Use instead").splitlines()[0] in output.stdout.replace(
        "    ", "\t"
    )
