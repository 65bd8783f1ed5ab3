"""time-tick-leak beyond the fixtures: fix safety from the interval, and where it stays silent."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.gomod import parse_gomod
from codemod.model import Safety
from tests.conftest import run_codemod

GO_122 = parse_gomod("module example\n\ngo 1.22\n", Path("go.mod"))
ID = "time-tick-leak"

WAIT = """func Wait(ready func() bool, d time.Duration) {
	for range time.Tick(INTERVAL) {
		if ready() {
			return
		}
	}
}
"""


def _file(body: str, package: str = "example") -> bytes:
    return f'package {package}\n\nimport "time"\n\nconst every = 2 * time.Second\n\n{body}'.encode()


def _safeties(source: bytes) -> list[Safety]:
    return [f.safety for f in run_codemod(source, GO_122, select=ID).findings]


@pytest.mark.parametrize("interval", ["time.Second", "250 * time.Millisecond", "every", "1e6"])
def test_positive_constant_interval_is_a_safe_fix(interval: str) -> None:
    assert _safeties(_file(WAIT.replace("INTERVAL", interval))) == [Safety.SAFE]


@pytest.mark.parametrize("interval", ["d", "every - time.Second", "0"])
def test_other_intervals_need_review(interval: str) -> None:
    """time.NewTicker panics on d <= 0, where time.Tick returned nil."""
    source = _file(WAIT.replace("INTERVAL", interval))
    assert _safeties(source) == [Safety.REVIEW]
    assert run_codemod(source, GO_122, select=ID).rewritten is None
    fixed = run_codemod(source, GO_122, select=ID, unsafe=True).rewritten
    assert fixed is not None and f"time.NewTicker({interval})" in fixed.decode()


def test_main_of_package_main_is_left_alone() -> None:
    body = WAIT.replace("INTERVAL", "time.Second").replace("func Wait(", "func main(")
    assert _safeties(_file(body, package="main")) == []


def test_tick_made_on_every_iteration_is_only_reported() -> None:
    body = """func Rounds(n int, work func()) {
	for i := 0; i < n; i++ {
		tick := time.Tick(time.Second)
		<-tick
		work()
	}
}
"""
    assert _safeties(_file(body)) == [Safety.REPORT_ONLY]


def test_package_level_tick_is_left_alone() -> None:
    assert _safeties(_file("var heartbeat = time.Tick(time.Second)\n")) == []


def test_receive_straight_from_tick_is_only_reported() -> None:
    body = "func Pause() {\n\t<-time.Tick(time.Second)\n}\n"
    assert _safeties(_file(body)) == [Safety.REPORT_ONLY]


def test_tick_variable_passed_to_a_call_is_only_reported() -> None:
    body = """func Run(loop func(<-chan time.Time)) {
	tick := time.Tick(time.Second)
	loop(tick)
}
"""
    assert _safeties(_file(body)) == [Safety.REPORT_ONLY]


def test_tick_switched_off_with_nil_is_still_fixed() -> None:
    body = """func Drain(in <-chan int) {
	tick := time.Tick(time.Second)
	for {
		select {
		case _, ok := <-in:
			if !ok {
				return
			}
		case <-tick:
			tick = nil
		}
	}
}
"""
    result = run_codemod(_file(body), GO_122, select=ID)
    assert [f.safety for f in result.findings] == [Safety.SAFE]
    assert result.rewritten is not None and "tick := ticker.C" in result.rewritten.decode()


def test_receive_from_a_new_tick_in_a_loop_of_main_is_reported() -> None:
    body = """func main() {
	for {
		select {
		case <-time.Tick(time.Second):
		}
	}
}
"""
    assert _safeties(_file(body, package="main")) == [Safety.REPORT_ONLY]
