"""Each transform documents itself in ruff's sections, and its own example is executed."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from codemod.cli import main
from codemod.gomod import parse_gomod
from codemod.model import Safety
from codemod.transform import DOC_SECTIONS, Transform
from tests.conftest import run_codemod
from transforms import ALL_TRANSFORMS

MODULE = parse_gomod("module example\n\ngo 1.21\n", Path("go.mod"))


def _as_file(code: str) -> bytes:
    return f"package example\n\n{code}".encode()


@pytest.mark.parametrize("transform", ALL_TRANSFORMS, ids=lambda t: t.id)
def test_docstring_has_every_section(transform: Transform) -> None:
    sections = transform.documentation()
    assert list(sections)[: len(DOC_SECTIONS)] == list(DOC_SECTIONS)
    assert all(sections[name] for name in DOC_SECTIONS)


@pytest.mark.parametrize("transform", ALL_TRANSFORMS, ids=lambda t: t.id)
def test_example_rewrites_to_use_instead(transform: Transform) -> None:
    before = _as_file(transform.example_code("Example"))
    after = _as_file(transform.example_code("Use instead"))
    result = run_codemod(before, MODULE, select=transform.id, unsafe=True)
    if transform.safety is Safety.REPORT_ONLY:
        # A transform that only reports finds its example and leaves the rewrite to the author;
        # what the author would write is no finding.
        assert result.findings and result.rewritten is None
        assert not run_codemod(after, MODULE, select=transform.id, unsafe=True).findings
        return
    assert result.rewritten is not None, "the documented example is not rewritten"
    assert result.rewritten.decode() == after.decode()


@pytest.mark.parametrize("transform", ALL_TRANSFORMS, ids=lambda t: t.id)
def test_explain_prints_the_documentation(transform: Transform) -> None:
    output = CliRunner().invoke(main, ["explain", transform.id])
    assert output.exit_code == 0
    for section in DOC_SECTIONS:
        assert f"## {section}" in output.stdout
    assert transform.example_code("Use instead").splitlines()[0] in output.stdout.replace(
        "    ", "\t"
    )
