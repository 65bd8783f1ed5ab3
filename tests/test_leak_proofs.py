"""Every fixture case, proven under the Go runtime (see tests/goproof.py).

Positive cases: before.go leaks, after.go does not, and after.go is vet- and gofmt-clean.
Must-not-change cases: before.go is vet- and gofmt-clean, and passes its leak_test if any;
reported ones (reported.md: found, not rewritten) leak in before.go as their report says.
A leak counts only when a runtime witness reports it: the goroutineleak profile or goleak
(goroutines), or the timers witness (heap the runtime keeps for unstopped timers).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import goproof
from tests.goproof import Case, CaseProof

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CASES = goproof.find_cases(FIXTURES)
POSITIVE = [c for c in CASES if c.positive and not c.refactor]
REFACTOR = [c for c in CASES if c.positive and c.refactor]
NEGATIVE_WITH_TEST = [c for c in CASES if not c.positive and not c.reported and c.has_leak_test]
REPORTED = [c for c in CASES if c.reported]
TIMER_CASES = [c for c in CASES if c.uses_timer_witness]


def case_id(case: Case) -> str:
    return case.id


@pytest.fixture(scope="session")
def proofs() -> dict[str, CaseProof]:
    if goproof.go_binary() is None:
        pytest.skip("go is not on PATH: the leak proofs run every fixture under the Go runtime")
    return goproof.prove(FIXTURES)


def proof_of(proofs: dict[str, CaseProof], case: Case) -> CaseProof:
    assert case.id in proofs, f"{case.id}: the harness produced no result"
    return proofs[case.id]


def go_minor(version: str) -> int:
    """The minor version of a toolchain name: go1.27.3 -> 27; 0 for devel builds."""
    m = re.match(r"go1\.(\d+)", version)
    return int(m.group(1)) if m else 0


def test_fixtures_were_found() -> None:
    assert POSITIVE, f"no positive fixture case under {FIXTURES}"


@pytest.mark.parametrize("case", REFACTOR, ids=case_id)
def test_refactor_behaves_the_same_before_and_after(
    proofs: dict[str, CaseProof], case: Case
) -> None:
    proof = proof_of(proofs, case)
    assert proof.before is not None and proof.after is not None, f"{case.id}: needs leak_test.go"
    assert proof.before_passed and proof.after_clean, proof.output
    assert proof.vet_ok and proof.gofmt_ok, proof.output


@pytest.mark.parametrize("case", POSITIVE, ids=case_id)
def test_before_leaks(proofs: dict[str, CaseProof], case: Case) -> None:
    proof = proof_of(proofs, case)
    assert proof.before is not None, f"{case.id}: a positive case needs a leak_test.go"
    assert proof.before_leaked, (
        f"{case.id}: before.go did not leak by any runtime witness "
        f"(test {'passed' if proof.before.passed else 'failed without an UNLEAK-LEAK line'})"
        f"{_timer_toolchain_hint(case, proof)}\n{proof.output}"
    )
    if case.uses_timer_witness:
        assert "timers" in proof.before.leak_witnesses, (
            f"{case.id}: only {proof.before.leak_witnesses} fired, not the timers witness "
            f"its leak_test.go calls\n{proof.output}"
        )
    if proof.before.profile_available and not case.keeps_running:
        # goleak only sees goroutines still alive; the profile proves them blocked forever.
        assert "goroutineleak profile" in proof.before.leak_witnesses, (
            f"{case.id}: only {proof.before.leak_witnesses} fired, not the goroutineleak "
            f"profile\n{proof.output}"
        )


@pytest.mark.parametrize("case", REPORTED, ids=case_id)
def test_reported_case_really_leaks(proofs: dict[str, CaseProof], case: Case) -> None:
    """A finding the transform only reports: before.go must leak as the report says."""
    proof = proof_of(proofs, case)
    assert proof.before is not None, f"{case.id}: a reported case needs a leak_test.go"
    assert proof.before_leaked, f"{case.id}: before.go did not leak\n{proof.output}"


@pytest.mark.parametrize("case", POSITIVE, ids=case_id)
def test_after_is_leak_free(proofs: dict[str, CaseProof], case: Case) -> None:
    proof = proof_of(proofs, case)
    assert proof.after_clean, f"{case.id}: after.go failed its leak_test\n{proof.output}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_expected_output_passes_vet(proofs: dict[str, CaseProof], case: Case) -> None:
    proof = proof_of(proofs, case)
    said = proof.setup_output + proof.vet_output
    assert proof.vet_ok, f"{case.id}: go vet failed on {case.expected_output.name}\n{said}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_expected_output_is_gofmt_clean(proofs: dict[str, CaseProof], case: Case) -> None:
    proof = proof_of(proofs, case)
    assert proof.gofmt_ok, (
        f"{case.id}: {case.expected_output.name} is not gofmt-clean\n{proof.gofmt_output}"
    )


@pytest.mark.parametrize("case", NEGATIVE_WITH_TEST, ids=case_id)
def test_unchanged_case_does_not_leak(proofs: dict[str, CaseProof], case: Case) -> None:
    proof = proof_of(proofs, case)
    assert proof.before_passed, f"{case.id}: before.go failed its leak_test\n{proof.output}"
    assert proof.before is not None and proof.before.witness_ran, (
        f"{case.id}: leak_test.go never called VerifyNoLeaks or VerifyNoTimerBuildup"
        f"\n{proof.output}"
    )


@pytest.mark.parametrize("case", TIMER_CASES, ids=case_id)
def test_timers_witness_runs_with_the_timers_of_the_module_go_version(
    proofs: dict[str, CaseProof], case: Case
) -> None:
    """Below go 1.23 the runtime must keep unreferenced timers (else no leak can show, and a
    clean after.go proves nothing); from go 1.23 it must collect them (the version rule)."""
    proof = proof_of(proofs, case)
    old_timers = _go_minor_of_module(case.go_version) < 23
    for side, run in (("before", proof.before), ("after", proof.after)):
        if run is None:
            continue
        assert run.unreferenced_timers_retained is not None, (
            f"{case.id} ({side}): the timers witness never ran\n{proof.output}"
        )
        assert run.unreferenced_timers_retained == old_timers, (
            f"{case.id} ({side}): with `go {case.go_version}` in go.mod the runtime should "
            f"{'keep' if old_timers else 'collect'} unreferenced timers, but it did not"
            f"{_timer_toolchain_hint(case, proof)}\n{proof.output}"
        )


def _go_minor_of_module(version: str) -> int:
    """1.22 or 1.22.3 -> 22."""
    return int(version.split(".")[1])


def _timer_toolchain_hint(case: Case, proof: CaseProof) -> str:
    if not case.uses_timer_witness or _go_minor_of_module(case.go_version) >= 23:
        return ""
    return (
        f"\nthe timers witness ran on {proof.toolchain}; pre-1.23 timers need a Go 1.23-1.26 "
        f"toolchain (asynctimerchan) or older: set {goproof.TIMER_TOOLCHAIN_ENV}"
    )


def test_goroutineleak_profile_is_available_from_go_1_27(proofs: dict[str, CaseProof]) -> None:
    """On Go >= 1.27 the profile witness must run; CI must not fall back to goleak alone."""
    runs = [
        (f"{proof.case.id} ({side})", proof, run)
        for proof in proofs.values()
        if go_minor(proof.toolchain) >= 27
        for side, run in (("before", proof.before), ("after", proof.after))
        if run is not None and run.profile_available is not None  # None: did not build
    ]
    if not runs:
        pytest.skip("no leak test ran on a Go >= 1.27 toolchain")
    unavailable = [
        f"{name}: toolchain {proof.toolchain}, runtime {run.runtime}"
        for name, proof, run in runs
        if not run.profile_available
    ]
    detail = "\n".join(unavailable)
    assert not unavailable, f'pprof.Lookup("goroutineleak") was nil on Go >= 1.27 in:\n{detail}'
