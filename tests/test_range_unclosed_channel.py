"""range-unclosed-channel beyond the fixtures: when the closer is safe, when only reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.gomod import parse_gomod
from codemod.model import Safety
from tests.conftest import run_codemod

GO_122 = parse_gomod("module example\n\ngo 1.22\n", Path("go.mod"))
ID = "range-unclosed-channel"

FAN_IN = """func Sum(xs []int) int {
	out := make(chan int)
	var wg sync.WaitGroup
	for _, x := range xs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out <- x * x
		}()
	}
	AFTER_START
	total := 0
	for v := range out {
		total += v
	}
	AFTER_RANGE
	return total
}
"""


def _file(body: str) -> bytes:
    return f'package example\n\nimport "sync"\n\n{body}'.encode()


def _fan_in(after_start: str = "", after_range: str = "", body: str = FAN_IN) -> bytes:
    return _file(
        body.replace("\tAFTER_START\n", after_start).replace("\tAFTER_RANGE\n", after_range)
    )


def _safeties(source: bytes) -> list[Safety]:
    return [f.safety for f in run_codemod(source, GO_122, select=ID).findings]


def test_plain_fan_in_is_fixed_after_the_loop() -> None:
    fixed = run_codemod(_fan_in(), GO_122, select=ID).rewritten
    assert fixed is not None
    assert "\t}\n\tgo func() {\n\t\twg.Wait()\n\t\tclose(out)\n\t}()\n\ttotal := 0" in (
        fixed.decode()
    )


@pytest.mark.parametrize(
    ("after_start", "after_range"),
    [
        ("", "\twg.Wait()\n"),
        ("\tdefer wg.Wait()\n", ""),
    ],
)
def test_waiting_after_the_range_is_still_safe(after_start: str, after_range: str) -> None:
    assert _safeties(_fan_in(after_start, after_range)) == [Safety.SAFE]


@pytest.mark.parametrize(
    "after_start",
    [
        "\tout <- 0\n",  # the function sends after the producers start: close may race it
        "\tkeep(out)\n",  # passed on: other code may send or close
        "\tfirst := <-out\n\t_ = first\n",  # a receive outside the range sees the close
        "\twg.Add(1)\n\tgo func() {\n\t\tdefer wg.Done()\n\t\tfor range out {\n\t\t}\n\t}()\n",
        "\tkeepGroup(&wg)\n",
        "\twg.Wait()\n",  # unbuffered: the producers wait for a range that waits for them
    ],
)
def test_unsafe_surroundings_are_only_reported(after_start: str) -> None:
    assert _safeties(_fan_in(after_start)) == [Safety.REPORT_ONLY]


def test_wait_before_range_on_a_buffered_channel_is_fixed() -> None:
    buffered = FAN_IN.replace("make(chan int)", "make(chan int, len(xs))")
    source = _fan_in("\twg.Wait()\n", body=buffered)
    assert _safeties(source) == [Safety.SAFE]


@pytest.mark.parametrize(
    "producer",
    [
        # Add inside the goroutine: the closer's Wait may run before it.
        "go func() {\n\t\t\twg.Add(1)\n\t\t\tdefer wg.Done()\n\t\t\tout <- x * x\n\t\t}()",
        # Done before the send.
        "wg.Add(1)\n\t\tgo func() {\n\t\t\twg.Done()\n\t\t\tout <- x * x\n\t\t}()",
        # A return that skips a Done at the end.
        "wg.Add(1)\n\t\tgo func() {\n\t\t\tif x < 0 {\n\t\t\t\treturn\n\t\t\t}\n"
        "\t\t\tout <- x * x\n\t\t\twg.Done()\n\t\t}()",
        # No WaitGroup at all.
        "go func() {\n\t\t\tout <- x * x\n\t\t}()",
    ],
)
def test_producers_not_provably_tracked_are_only_reported(producer: str) -> None:
    original = "wg.Add(1)\n\t\tgo func() {\n\t\t\tdefer wg.Done()\n\t\t\tout <- x * x\n\t\t}()"
    assert original in FAN_IN
    assert _safeties(_fan_in(body=FAN_IN.replace(original, producer))) == [Safety.REPORT_ONLY]


def test_single_producer_is_left_to_close_producer_channel() -> None:
    body = """func Squares(n int) int {
	out := make(chan int)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			out <- i * i
		}
	}()
	total := 0
	for v := range out {
		total += v
	}
	return total
}
"""
    assert _safeties(_file(body)) == []
    both = run_codemod(_file(body), GO_122).findings
    assert [f.transform_id for f in both if f.transform_id in (ID, "close-producer-channel")] == [
        "close-producer-channel"
    ]


@pytest.mark.parametrize("worker", ["go worker(out, &wg)", "go func() { worker(out) }()"])
def test_producers_in_other_functions_keep_it_silent(worker: str) -> None:
    body = FAN_IN.replace("go func() {\n\t\t\tdefer wg.Done()\n\t\t\tout <- x * x\n\t\t}()", worker)
    assert _safeties(_fan_in(body=body)) == []


@pytest.mark.parametrize(
    "after_start",
    ["\tgo func() {\n\t\tdone()\n\t\tclose(out)\n\t}()\n", "\tclose(out)\n"],
)
def test_closed_before_the_range_keeps_it_silent(after_start: str) -> None:
    assert _safeties(_fan_in(after_start)) == []


def test_range_inside_the_producer_loop_is_only_reported() -> None:
    """A closer there would run once per iteration: the second close panics."""
    body = """func Each(xs []int) {
	out := make(chan int)
	var wg sync.WaitGroup
	for _, x := range xs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out <- x
		}()
		for v := range out {
			_ = v
		}
	}
}
"""
    assert _safeties(_file(body)) == [Safety.REPORT_ONLY]


@pytest.mark.parametrize(
    ("after_start", "after_range"),
    [("", "\twg.Wait()\n\tclose(out)\n"), ("\tdefer close(out)\n", "")],
)
def test_close_after_the_range_is_reported(after_start: str, after_range: str) -> None:
    """That close waits for the range, which waits for the close."""
    findings = run_codemod(_fan_in(after_start, after_range), GO_122, select=ID).findings
    assert [f.safety for f in findings] == [Safety.REPORT_ONLY]
    assert "comes after the range" in findings[0].message


def test_close_after_a_range_that_can_break_is_left_alone() -> None:
    body = FAN_IN.replace(
        "\t\ttotal += v\n", "\t\ttotal += v\n\t\tif v < 0 {\n\t\t\tbreak\n\t\t}\n"
    )
    assert _safeties(_fan_in(after_range="\tclose(out)\n", body=body)) == []


CONSUMER_GOROUTINE = """func Collect(xs []int) []int {
	out := make(chan int)
	var wg sync.WaitGroup
	for _, x := range xs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out <- x
		}()
	}
	var got []int
	go func() {
		for v := range out {
			got = append(got, v)
		}
	}()
	wg.Wait()
	TAIL
	return got
}
"""


def test_consumer_goroutine_is_fixed() -> None:
    source = _file(CONSUMER_GOROUTINE.replace("\tTAIL\n", ""))
    assert _safeties(source) == [Safety.SAFE]


def test_consumer_goroutine_closed_after_wait_is_correct() -> None:
    source = _file(CONSUMER_GOROUTINE.replace("TAIL", "close(out)"))
    assert _safeties(source) == []


def test_channel_made_per_batch_in_a_loop() -> None:
    body = (
        CONSUMER_GOROUTINE.replace("\tTAIL\n", "")
        .replace(
            "func Collect(xs []int) []int {\n",
            "func Collect(batches [][]int) []int {\n"
            "\tvar got []int\n\tfor _, xs := range batches {\n",
        )
        .replace("\tvar got []int\n\tgo func", "\tgo func")
        .replace("\twg.Wait()\n\treturn got\n", "\twg.Wait()\n\t}\n\treturn got\n")
    )
    assert _safeties(_file(body)) == [Safety.SAFE]
