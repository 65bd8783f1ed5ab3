"""Every fixture case, run through the pipeline: the findings its `// want "id:safety"` markers
and findings.golden pin (tests/expectations.py), the exact rewrite in after.go (by `fix` when
every fix is safe, by `fix --unsafe` when one needs review), and a second run that changes
nothing. Failures read like ast-grep's: Missing, Noisy, Wrong safety, Wrong message, Wrong fix."""

from __future__ import annotations

import pytest

from codemod.model import Safety
from tests.conftest import FixtureCase, fixture_cases, run_codemod
from tests.expectations import (
    MarkerError,
    Want,
    against_golden,
    against_markers,
    carry_markers,
    describe,
    fixes_need_unsafe,
    golden_lines,
    unified,
    updating,
    with_marker_safeties,
)
from transforms import ALL_TRANSFORMS, transform_by_id

CASES = fixture_cases()


def _markers(case: FixtureCase) -> list[Want]:
    try:
        return case.markers()
    except MarkerError as error:
        pytest.fail(f"{case.id}/before.go: {error}")


def _review_only(case: FixtureCase) -> bool:
    """Every fix the case expects needs review: plain `fix` must leave it alone."""
    try:
        fixable = {w.safety for w in case.markers() if w.safety is not Safety.REPORT_ONLY}
    except MarkerError:
        return False
    return fixable == {Safety.REVIEW}


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
    if updating():
        before = case.before
        pinned = with_marker_safeties(before, result.findings)
        if pinned != before:
            (case.directory / "before.go").write_bytes(pinned)
            if case.after is not None:
                (case.directory / "after.go").write_bytes(carry_markers(before, pinned, case.after))
    problems = against_markers(_markers(case), result.findings)
    assert not problems, describe(problems, case.before, f"{case.id}/before.go")


@pytest.mark.parametrize("case", CASES)
def test_findings_match_golden(case: FixtureCase) -> None:
    result = run_codemod(case.before, case.module, select=case.transform_id, siblings=case.siblings)
    actual = golden_lines(result.findings, "before.go")
    if updating():
        if actual:
            case.golden.write_text("".join(f"{line}\n" for line in actual))
        else:
            case.golden.unlink(missing_ok=True)
    expected = case.golden.read_text().splitlines() if case.golden.exists() else []
    problems = against_golden(expected, actual)
    assert not problems, (
        describe(problems, case.before, f"{case.id}/before.go")
        + "\n\n"
        + unified(
            "".join(f"{line}\n" for line in expected),
            "".join(f"{line}\n" for line in actual),
            f"{case.id}/{case.golden.name}",
            "today's findings",
        )
    )


@pytest.mark.parametrize("case", CASES)
def test_rewrite_is_exactly_after(case: FixtureCase) -> None:
    # A review fix is applied only under --unsafe: when every expected fix is safe, after.go is
    # what plain `fix` writes, so a fix that slips to review no longer produces it.
    unsafe = fixes_need_unsafe(_markers(case))
    result = run_codemod(
        case.before, case.module, select=case.transform_id, unsafe=unsafe, siblings=case.siblings
    )
    expected = case.after if case.after is not None else case.before
    actual = result.rewritten if result.rewritten is not None else case.before
    command = "fix --unsafe" if unsafe else "fix"
    assert actual.decode() == expected.decode(), (
        f"Wrong fix: `{command}` on {case.id}/before.go "
        f"({'a fix needs review' if unsafe else 'every expected fix is safe'}); "
        f"notes: {result.notes}\n"
        + unified(
            expected.decode(),
            actual.decode(),
            f"{case.id}/{'after.go' if case.after is not None else 'before.go (unchanged)'}",
            f"`{command}` of before.go",
        )
    )


@pytest.mark.parametrize("case", [c for c in CASES if c.after is not None and _review_only(c)])
def test_review_fixes_wait_for_unsafe(case: FixtureCase) -> None:
    result = run_codemod(case.before, case.module, select=case.transform_id, siblings=case.siblings)
    assert result.rewritten is None, (
        f"Wrong safety: plain `fix` rewrote {case.id}, whose fixes all need review "
        f"({[f'{f.start.line}: {f.transform_id} [{f.safety.label}]' for f in result.applied]})\n"
        + unified(case.before.decode(), (result.rewritten or b"").decode(), "before.go", "`fix`")
    )


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
