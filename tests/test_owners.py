"""codemod/owners.py: which stop signals a type's code offers, learnt from the package."""

from __future__ import annotations

import pytest

from codemod.go.parse import parse_tree
from codemod.owners import OwnerFacts, is_signal_channel_type, owner_facts, package_owner_facts

HEADER = 'package p\n\nimport (\n\t"context"\n\t"time"\n)\n\n'


def facts_of(*sources: str) -> OwnerFacts:
    return owner_facts([parse_tree((HEADER + s).encode()).root_node for s in sources])


# (code, type, expected stop channel (field, closing method) or None)
STOP_CHANNELS = [
    pytest.param(
        "type S struct{ quit chan struct{} }\nfunc (s *S) Stop() { close(s.quit) }",
        "S",
        ("quit", "Stop"),
        id="closed-by-stop",
    ),
    pytest.param(
        # The method is learnt from the code: any name, when the field says it is a signal.
        "type S struct{ dying chan struct{} }\nfunc (s *S) teardownAll() { close(s.dying) }",
        "S",
        ("dying", "teardownAll"),
        id="signal-field-closed-by-any-method",
    ),
    pytest.param(
        # A neutral field name is a stop signal when the method closing it ends the owner.
        "type S struct{ c chan struct{} }\nfunc (s *S) Shutdown() { close(s.c) }",
        "S",
        ("c", "Shutdown"),
        id="neutral-field-closed-by-shutdown",
    ),
    pytest.param(
        "type S struct{ kick chan struct{} }\nfunc (s *S) wake() { close(s.kick) }",
        "S",
        None,
        id="wake-up-channel-is-not-a-stop",
    ),
    pytest.param(
        "type S struct{ quit chan struct{} }\nfunc (s *S) Run() { <-s.quit }",
        "S",
        None,
        id="never-closed",
    ),
    pytest.param(
        "type S struct{ events chan string }\nfunc (s *S) Close() { close(s.events) }",
        "S",
        None,
        id="data-channel-closed-by-close",
    ),
    pytest.param(
        "type S struct{ quit chan struct{} }\ntype T struct{ quit chan struct{} }\n"
        "func (t *T) Stop() { close(t.quit) }",
        "S",
        None,
        id="closed-on-another-type",
    ),
    pytest.param(
        "type S struct{ done chan bool }\nfunc (s *S) Close() { close(s.done) }",
        "S",
        ("done", "Close"),
        id="bool-channel-named-like-a-signal",
    ),
]


@pytest.mark.parametrize(("code", "type_name", "expected"), STOP_CHANNELS)
def test_stop_channel(code: str, type_name: str, expected: tuple[str, str] | None) -> None:
    assert facts_of(code).stop_channel(type_name) == expected


def test_stop_channel_learnt_across_files() -> None:
    declared = "type S struct{ stopc chan struct{} }"
    closed = "func (s *S) Stop() { close(s.stopc) }"
    assert facts_of(declared, closed).stop_channel("S") == ("stopc", "Stop")
    assert facts_of(declared).stop_channel("S") is None


CONTEXTS = [
    pytest.param(
        "type S struct{ ctx context.Context; cancel context.CancelFunc }\n"
        "func (s *S) Stop() { s.cancel() }",
        "ctx",
        id="cancel-field-called",
    ),
    pytest.param(
        "type S struct{ ctx context.Context; cancel func() }\n"
        "func New() *S { s := &S{}; s.ctx, s.cancel = context.WithCancel(context.Background());"
        " return s }\nfunc (s *S) Close() { s.cancel() }",
        "ctx",
        id="func-field-called",
    ),
    pytest.param(
        "type S struct{ ctx context.Context; cancel context.CancelFunc }",
        None,
        id="cancel-never-called",
    ),
    pytest.param(
        "type S struct{ ctx context.Context }\nfunc (s *S) Stop() {}",
        None,
        id="no-cancel-field",
    ),
]


@pytest.mark.parametrize(("code", "expected"), CONTEXTS)
def test_cancelled_context(code: str, expected: str | None) -> None:
    assert facts_of(code).cancelled_context("S") == expected


def test_started_and_stopped_names() -> None:
    facts = facts_of(
        "type S struct{ t *time.Ticker }\n"
        "func (s *S) loop() {}\nfunc worker() {}\n"
        "func (s *S) Start() { go s.loop(); go worker(); go func() {}() }\n"
        "func (s *S) Stop() { s.t.Stop() }"
    )
    assert facts.started == {"loop", "worker"}
    assert facts.stopped == {"t"}


FIELD_MAKES = [
    pytest.param("x := S{box: make(chan int, 4)}", True, id="literal-buffered"),
    pytest.param("x := S{box: make(chan int)}", False, id="literal-unbuffered"),
    pytest.param("var x S; x.box = make(chan int, 1)", True, id="assigned-buffered"),
    pytest.param("var x S; x.box = make(chan int, 0)", False, id="assigned-zero"),
    pytest.param("x := S{box: make(mailbox, 1)}", True, id="named-channel-type"),
    pytest.param("x := S{box: make(chan int, 1)}; x.box = make(chan int)", False, id="mixed"),
]


@pytest.mark.parametrize(("code", "buffered"), FIELD_MAKES)
def test_always_buffered(code: str, buffered: bool) -> None:
    facts = facts_of(
        f"type mailbox chan int\ntype S struct{{ box chan int }}\nfunc f() {{ {code}; _ = x }}"
    )
    assert facts.always_buffered("box") is buffered


def test_stop_methods_name_and_close() -> None:
    facts = facts_of(
        "type S struct{ q chan struct{} }\nfunc (s *S) Close() {}\nfunc (s *S) Get() {}\n"
        "func (s *S) finish() { close(s.q) }"
    )
    assert facts.of("S").stop_methods == ["Close", "finish"]


@pytest.mark.parametrize(
    ("written", "name", "expected"),
    [
        ("chan struct{}", "c", True),
        ("<-chan struct{}", "anything", True),
        ("chan bool", "stopCh", True),
        ("chan bool", "ready", False),
        ("chan int", "results", False),
        ("chan<- struct{}", "quit", False),
        ("*time.Ticker", "stop", False),
    ],
)
def test_signal_channel_types(written: str, name: str, expected: bool) -> None:
    assert is_signal_channel_type(written, name) is expected


def test_package_facts_read_siblings() -> None:
    root = parse_tree((HEADER + "type S struct{ quit chan struct{} }").encode()).root_node
    sibling = (HEADER + "func (s *S) Stop() { close(s.quit) }").encode()
    assert package_owner_facts(root, [("stop.go", sibling)]).stop_channel("S") == ("quit", "Stop")
    assert package_owner_facts(root, []).stop_channel("S") is None


def test_field_assignments_count_selector_assignments_only() -> None:
    facts = facts_of(
        "type S struct{ quit chan struct{}; n int }\n"
        "func New() *S { s := &S{quit: make(chan struct{})}; s.n = 1; return s }\n"
        "func (s *S) Restart() { s.quit, s.n = make(chan struct{}), 2 }"
    )
    assert facts.field_assignments == {"n": 2, "quit": 1}
