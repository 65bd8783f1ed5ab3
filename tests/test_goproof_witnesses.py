"""How the proof harness reads what the Go witnesses print (no Go toolchain needed)."""

from __future__ import annotations

import pytest

from tests import goproof
from tests.goproof import PackageRun

GOROUTINES = (
    "    leak_test.go:9: UNLEAK-WITNESS: runtime=go1.27.3 goroutineleak=true\n"
    "    leakcheck_test.go:48: UNLEAK-LEAK: goroutineleak profile: 1 goroutine(s) blocked\n"
)
TIMERS = (
    "    leak_test.go:9: UNLEAK-WITNESS: runtime=go1.26.8 timers asynctimerchan=1 "
    "unreferenced-timers-retained=true\n"
    "    leak_test.go:9: UNLEAK-LEAK: timers: each batch of 500 runs left live heap behind\n"
)


def test_goroutine_witness_lines_are_read_as_before() -> None:
    run = PackageRun(passed=False, output=GOROUTINES)
    assert run.leaked and run.leak_witnesses == ("goroutineleak profile",)
    assert run.profile_available is True and run.unreferenced_timers_retained is None


def test_timers_witness_lines_are_a_leak_of_their_own() -> None:
    run = PackageRun(passed=False, output=TIMERS)
    assert run.leaked and run.leak_witnesses == ("timers",)
    assert run.runtime == "go1.26.8" and run.witness_ran
    assert run.unreferenced_timers_retained is True
    assert run.profile_available is None  # so the goroutine-profile rule does not apply


def test_a_failure_without_a_witness_line_is_not_a_leak() -> None:
    run = PackageRun(passed=False, output="--- FAIL: TestX\n    x_test.go:3: boom\n")
    assert not run.leaked and not run.witness_ran


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, goproof.DEFAULT_TIMER_TOOLCHAIN),
        ("go1.25.4", "go1.25.4"),
        ("inherit", None),
        ("", None),
    ],
)
def test_timer_toolchain_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, expected: str | None
) -> None:
    if value is None:
        monkeypatch.delenv(goproof.TIMER_TOOLCHAIN_ENV, raising=False)
    else:
        monkeypatch.setenv(goproof.TIMER_TOOLCHAIN_ENV, value)
    assert goproof.timer_toolchain_from_env() == expected
