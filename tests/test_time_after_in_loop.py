"""time-after-in-loop beyond the fixtures: the rules that decide between fix, report and silence."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.gomod import parse_gomod
from codemod.model import Safety
from tests.conftest import run_codemod

GO_121 = parse_gomod("module example\n\ngo 1.21\n", Path("go.mod"))
ID = "time-after-in-loop"


def _file(body: str, imports: str = 'import "time"') -> bytes:
    return f"package example\n\n{imports}\n\n{body}".encode()


LOOP = """func Loop(in <-chan int, d time.Duration) {
	for {
		select {
		case <-in:
		case <-time.After(DURATION):
		}
	}
}
"""


def _safeties(source: bytes) -> list[Safety]:
    return [f.safety for f in run_codemod(source, GO_121, select=ID).findings]


def test_module_at_go_1_23_gets_no_finding() -> None:
    go_123 = parse_gomod("module example\n\ngo 1.23\n", Path("go.mod"))
    result = run_codemod(_file(LOOP.replace("DURATION", "d")), go_123, select=ID)
    assert result.findings == []


@pytest.mark.parametrize(
    "duration",
    ["d", "5 * time.Second", "time.Duration(3) * time.Minute", "(d + time.Second) / 2"],
)
def test_hoistable_durations_are_fixed(duration: str) -> None:
    assert _safeties(_file(LOOP.replace("DURATION", duration))) == [Safety.SAFE]


@pytest.mark.parametrize("duration", ["next()", "ds[0]", "<-durations"])
def test_other_durations_are_only_reported(duration: str) -> None:
    assert _safeties(_file(LOOP.replace("DURATION", duration))) == [Safety.REPORT_ONLY]


def test_duration_assigned_inside_the_loop_is_only_reported() -> None:
    source = _file(
        LOOP.replace("DURATION", "d").replace("\t\tselect {", "\t\td *= 2\n\t\tselect {")
    )
    assert _safeties(source) == [Safety.REPORT_ONLY]


def test_select_nested_in_an_if_is_only_reported() -> None:
    source = _file(
        LOOP.replace("DURATION", "d")
        .replace("\t\tselect {", "\t\tif d > 0 {\n\t\tselect {")
        .replace("\t\t}\n\t}\n}", "\t\t}\n\t\t}\n\t}\n}")
    )
    assert _safeties(source) == [Safety.REPORT_ONLY]


def test_no_finding_when_every_other_case_leaves_the_loop() -> None:
    source = _file(LOOP.replace("DURATION", "d").replace("case <-in:", "case <-in:\n\t\t\treturn"))
    assert _safeties(source) == []


def test_default_case_keeps_the_loop_going() -> None:
    source = _file(
        LOOP.replace("DURATION", "d").replace(
            "case <-in:", "case <-in:\n\t\t\treturn\n\t\tdefault:"
        )
    )
    assert _safeties(source) == [Safety.SAFE]


def test_time_imported_under_another_name_is_left_alone() -> None:
    body = LOOP.replace("DURATION", "d").replace("time.", "t.")
    assert _safeties(_file(body, 'import t "time"')) == []


def test_another_package_named_time_is_left_alone() -> None:
    source = _file(LOOP.replace("DURATION", "d"), 'import time "example.com/faketime"')
    assert _safeties(source) == []


def test_time_shadowed_in_the_function_is_left_alone() -> None:
    source = _file(LOOP.replace("DURATION", "d").replace("d time.Duration)", "d, time int)"))
    assert _safeties(source) == []


def test_taken_name_and_two_loops_get_distinct_timers() -> None:
    body = """func Two(in <-chan int, d time.Duration) {
	timer := 1
	_ = timer
	for {
		select {
		case <-in:
		case <-time.After(d):
		}
	}
	for {
		select {
		case <-in:
		case <-time.After(d):
		}
	}
}
"""
    result = run_codemod(_file(body), GO_121, select=ID)
    assert result.rewritten is not None
    out = result.rewritten.decode()
    assert "timer2 := time.NewTimer(d)" in out
    assert "timer3 := time.NewTimer(d)" in out
    assert "time.After" not in out
    again = run_codemod(result.rewritten, GO_121, select=ID)
    assert again.rewritten is None and again.findings == []


def test_context_done_case_alone_does_not_pile_timers_up() -> None:
    body = """func Redial(ctx context.Context, d time.Duration, dial func()) {
	for ctx.Err() == nil {
		dial()
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
}
"""
    assert _safeties(_file(body, 'import (\n\t"context"\n\t"time"\n)')) == []


def test_no_finding_when_the_loop_ends_after_the_select() -> None:
    source = _file(
        LOOP.replace("DURATION", "d").replace("\t\t}\n\t}\n}", "\t\t}\n\t\treturn\n\t}\n}")
    )
    assert _safeties(source) == []


def test_continue_before_the_leaving_statement_keeps_the_loop_going() -> None:
    source = _file(
        LOOP.replace("DURATION", "d")
        .replace("case <-in:", "case <-in:\n\t\t\tcontinue")
        .replace("\t\t}\n\t}\n}", "\t\t}\n\t\tbreak\n\t}\n}")
    )
    assert _safeties(source) == [Safety.SAFE]


def test_function_with_goto_is_only_reported() -> None:
    source = _file(
        LOOP.replace("DURATION", "d").replace("\tfor {", "\tgoto start\nstart:\n\tfor {")
    )
    assert _safeties(source) == [Safety.REPORT_ONLY]


COUNTED = """func Counted(in <-chan int, n int, d time.Duration) {
	for i := 0; i < n; i++ {
		GUARD
		select {
		case <-in:
		case <-time.After(d):
		}
	}
}
"""


@pytest.mark.parametrize(
    "guard",
    [
        "if i > 0 { continue }",
        "if 0 < i { continue }",
        "if i != 0 { return }",
        "if (i >= 1) { break }",
    ],
)
def test_a_select_the_loop_skips_after_its_first_pass_is_not_reported(guard: str) -> None:
    assert _safeties(_file(COUNTED.replace("GUARD", guard))) == []


@pytest.mark.parametrize(
    "guard",
    [
        "if i > 1 { continue }",  # the second pass reaches the select too
        "if i > 0 { println(i) }",  # no way out of the pass
        "if i > 0 { continue } else { println(i) }",
        "if i > 0 { continue }; i--",  # the body moves the counter back
        "if j := i; j > 0 { continue }",
    ],
)
def test_a_select_reached_on_later_passes_is_still_fixed(guard: str) -> None:
    assert _safeties(_file(COUNTED.replace("GUARD", guard))) == [Safety.SAFE]


def test_a_guard_after_the_select_does_not_make_it_run_once() -> None:
    source = COUNTED.replace("\t\tGUARD\n", "").replace(
        "\t\t}\n\t}\n}", "\t\t}\n\t\tif i > 0 {\n\t\t\tcontinue\n\t\t}\n\t}\n}"
    )
    assert "if i > 0" in source
    assert _safeties(_file(source)) == [Safety.SAFE]


def test_a_duration_incremented_in_the_loop_is_only_reported() -> None:
    source = _file(LOOP.replace("DURATION", "d").replace("\tfor {\n", "\tfor {\n\t\td++\n"))
    assert _safeties(source) == [Safety.REPORT_ONLY]
