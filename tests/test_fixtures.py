"""Every fixture case, run through the pipeline: findings where `// want` says, the exact
rewrite in after.go (or no change), and a second run that changes nothing."""

from __future__ import annotations

import re

import pytest

from tests.conftest import FixtureCase, fixture_cases, run_codemod
from transforms import ALL_TRANSFORMS, transform_by_id

CASES = fixture_cases()


def _show(source: bytes) -> str:
    return "\n".join(f"{n:3} {line}" for n, line in enumerate(source.decode().splitlines(), 1))


def test_every_transform_has_fixtures() -> None:
    covered = {case.transform_id for case in CASES}
    missing = [t.id for t in ALL_TRANSFORMS if t.id not in covered]
    assert not missing, f"transforms without fixtures: {missing}"


def test_fixture_folders_name_real_transforms() -> None:
    unknown = sorted({c.transform_id for c in CASES if transform_by_id(c.transform_id) is None})
    assert not unknown, f"fixture folders for unknown transforms: {unknown}"


@pytest.mark.parametrize("case", CASES)
def test_findings_match_want_markers(case: FixtureCase) -> None:
    result = run_codemod(case.before, case.module, select=case.transform_id, siblings=case.siblings)
    found = sorted((f.start.line, f.transform_id) for f in result.findings)
    wanted = case.wanted()
    noisy = [(line, i) for line, i in found if not any(w == line for w, _ in wanted)]
    missing = [
        (line, pattern)
        for line, pattern in wanted
        if not any(fl == line and re.search(pattern, i) for fl, i in found)
    ]
    assert not noisy, f"Noisy (false positive) at lines {noisy}\n{_show(case.before)}"
    assert not missing, f"Missing (false negative) at {missing}\n{_show(case.before)}"


@pytest.mark.parametrize("case", CASES)
def test_rewrite_is_exactly_after(case: FixtureCase) -> None:
    # after.go is the rewrite with every fix offered (`fix --unsafe`), `review` ones included.
    result = run_codemod(
        case.before, case.module, select=case.transform_id, unsafe=True, siblings=case.siblings
    )
    expected = case.after if case.after is not None else case.before
    actual = result.rewritten if result.rewritten is not None else case.before
    assert actual.decode() == expected.decode(), f"Wrong fix for {case.id}; notes: {result.notes}"


@pytest.mark.parametrize("case", [c for c in CASES if c.after is not None])
def test_second_run_changes_nothing(case: FixtureCase) -> None:
    assert case.after is not None
    result = run_codemod(
        case.after, case.module, select=case.transform_id, unsafe=True, siblings=case.siblings
    )
    assert result.rewritten is None, f"not idempotent:\n{_show(result.rewritten or b'')}"
    fixable = [f for f in result.findings if f.fix is not None]
    assert not fixable, f"after.go still has fixable findings: {fixable}"


@pytest.mark.parametrize("case", [c for c in CASES if c.after is None])
def test_negative_cases_offer_no_fix(case: FixtureCase) -> None:
    result = run_codemod(
        case.before, case.module, select=case.transform_id, unsafe=True, siblings=case.siblings
    )
    assert [f for f in result.findings if f.fix is not None] == []
