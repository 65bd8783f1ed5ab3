"""stop-signal-arm on small shapes: what is reported, with which safety, and what is left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.gomod import parse_gomod
from codemod.model import Safety
from tests.conftest import run_codemod

MODULE = parse_gomod("module m\n\ngo 1.22\n", Path("go.mod"))
HEADER = 'package p\n\nimport (\n\t"context"\n\t"time"\n)\n\nvar _ = context.Background\n\n'
OWNER = (
    "type S struct {\n\tquit chan struct{}\n\tjobs chan int\n\tseen map[string]int\n"
    "\tt    *time.Ticker\n}\n\nfunc (s *S) Stop() { close(s.quit) }\n\n"
)


def findings(code: str) -> list[tuple[int, Safety]]:
    source = (HEADER + OWNER + code).encode()
    result = run_codemod(source, MODULE, select="stop-signal-arm", unsafe=True)
    first = len((HEADER + OWNER).splitlines())
    return [(f.start.line - first, f.safety) for f in result.findings]


CASES = [
    pytest.param(
        "func (s *S) Run(ctx context.Context) {\n\tgo func() {\n"
        "\t\tfor ; true; <-s.t.C {\n\t\t\ts.jobs <- 1\n\t\t}\n\t}()\n}\n",
        [(3, Safety.REPORT_ONLY)],
        id="post-statement-ticker-is-reported",
    ),
    pytest.param(
        "func (s *S) Run() {\n\tgo func() {\n\t\tfor k := range s.seen {\n\t\t\t_ = k\n"
        "\t\t}\n\t}()\n}\n",
        [],
        id="range-over-a-map",
    ),
    pytest.param(
        "func (s *S) Run() {\n\tgo func() {\n\t\tfor j := range s.jobs {\n\t\t\t_ = j\n"
        "\t\t}\n\t}()\n}\n",
        [(3, Safety.REVIEW)],
        id="range-over-a-field-nobody-closes",
    ),
    pytest.param(
        "func (s *S) Run() {\n\tgo func() {\n\t\tfor j := range s.jobs {\n\t\t\t_ = j\n"
        "\t\t}\n\t}()\n}\n\nfunc (s *S) Close() { close(s.jobs) }\n",
        [],
        id="range-over-a-field-the-owner-closes",
    ),
    pytest.param(
        "func (s *S) Run() {\n\tgo func() {\n\t\tfor {\n\t\t\ttime.Sleep(time.Second)\n"
        "\t\t\tif s.seen == nil {\n\t\t\t\treturn\n\t\t\t}\n\t\t}\n\t}()\n}\n",
        [],
        id="sleep-loop-that-returns",
    ),
    pytest.param(
        "func (s *S) Run() {\n\tgo func() {\n\t\ttime.Sleep(time.Hour)\n\t\ts.seen = nil\n"
        "\t}()\n}\n",
        [],
        id="sleep-outside-a-loop",
    ),
    pytest.param(
        "func (s *S) Put(v int) {\n\ts.jobs <- v\n}\n\n"
        "func (s *S) loop() {\n\tfor {\n\t\tselect {\n\t\tcase <-s.jobs:\n"
        "\t\tcase <-s.quit:\n\t\t\treturn\n\t\t}\n\t}\n}\n",
        [(2, Safety.REVIEW)],
        id="owner-method-send-to-a-loop-that-leaves",
    ),
    pytest.param(
        "func (s *S) Put(v int) error {\n\ts.jobs <- v\n\treturn nil\n}\n\n"
        "func (s *S) loop() {\n\tfor {\n\t\tselect {\n\t\tcase <-s.jobs:\n"
        "\t\tcase <-s.quit:\n\t\t\treturn\n\t\t}\n\t}\n}\n",
        [(2, Safety.REPORT_ONLY)],
        id="owner-method-with-results-is-reported",
    ),
    pytest.param(
        "func (s *S) Put(v int) {\n\ts.jobs <- v\n}\n\n"
        "func (s *S) loop() {\n\tfor j := range s.jobs {\n\t\t_ = j\n\t}\n}\n",
        [],
        id="owner-method-send-to-a-receiver-that-stays",
    ),
    pytest.param(
        "func (s *S) Shutdown(v int) {\n\ts.jobs <- v\n}\n\n"
        "func (s *S) loop() {\n\tfor {\n\t\tselect {\n\t\tcase <-s.jobs:\n"
        "\t\tcase <-s.quit:\n\t\t\treturn\n\t\t}\n\t}\n}\n",
        [],
        id="send-while-shutting-down",
    ),
]


@pytest.mark.parametrize(("code", "expected"), CASES)
def test_findings(code: str, expected: list[tuple[int, Safety]]) -> None:
    assert findings(code) == expected


def test_sleep_uses_time_after_from_go_1_23() -> None:
    code = (
        HEADER
        + OWNER
        + "func (s *S) Run() {\n\tgo func() {\n\t\tfor {\n\t\t\ttime.Sleep(time.Second)\n"
        "\t\t}\n\t}()\n}\n"
    ).encode()
    old = run_codemod(code, MODULE, select="stop-signal-arm")
    new = run_codemod(
        code, parse_gomod("module m\n\ngo 1.23\n", Path("go.mod")), select="stop-signal-arm"
    )
    assert old.rewritten is not None and b"time.NewTimer(time.Second)" in old.rewritten
    assert new.rewritten is not None and b"case <-time.After(time.Second):" in new.rewritten


TICKER_LOOP = "func (s *S) loop() {\n\tfor range s.t.C {\n\t\ts.seen = nil\n\t}\n}\n\n"


@pytest.mark.parametrize(
    ("start", "safety"),
    [
        pytest.param(
            "func (s *S) Start() {\n\ts.quit = make(chan struct{})\n\tgo s.loop()\n}\n",
            Safety.SAFE,
            id="made-before-the-go-statement",
        ),
        pytest.param(
            "func (s *S) Start() {\n\tgo s.loop()\n\ts.quit = make(chan struct{})\n}\n",
            Safety.REVIEW,
            id="made-after-the-go-statement",
        ),
        pytest.param(
            "func (s *S) Start() {\n\tgo s.loop()\n}\n\n"
            "func (s *S) Reset() {\n\ts.quit = make(chan struct{})\n}\n",
            Safety.REVIEW,
            id="made-again-elsewhere",
        ),
        pytest.param(
            "func New() *S {\n\ts := &S{quit: make(chan struct{})}\n\tgo s.loop()\n\treturn s\n}\n",
            Safety.SAFE,
            id="made-in-a-composite-literal",
        ),
    ],
)
def test_a_stop_field_set_while_the_loop_runs_needs_review(start: str, safety: Safety) -> None:
    """The new case reads the field every round: set after the goroutine starts, that read
    would race with the write."""
    assert findings(TICKER_LOOP + start) == [(2, safety)]


def test_a_method_started_with_arguments_that_call_methods_is_a_goroutine() -> None:
    """`go h.loop(h.target.String())`: the started name is `loop`, not `String`."""
    code = (
        "func (s *S) loop(name string) {\n\tfor range s.t.C {\n\t\ts.seen = nil\n\t}\n}\n\n"
        "func (s *S) Start() {\n\tgo s.loop(s.t.C.String())\n}\n"
    )
    assert findings(code) == [(2, Safety.SAFE)]


def test_a_send_keeps_its_review_fix_when_the_stop_field_is_set_late() -> None:
    code = (
        "func (s *S) Put(v int) {\n\ts.jobs <- v\n}\n\n"
        "func (s *S) loop() {\n\tfor {\n\t\tselect {\n\t\tcase <-s.jobs:\n"
        "\t\tcase <-s.quit:\n\t\t\treturn\n\t\t}\n\t}\n}\n\n"
        "func (s *S) Start() {\n\tgo s.loop()\n\ts.quit = make(chan struct{})\n}\n"
    )
    assert findings(code) == [(2, Safety.REVIEW)]
