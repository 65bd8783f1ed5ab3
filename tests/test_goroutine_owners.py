"""Goroutine owners learnt from a package's code (codemod/goroutine_owners.py)."""

from __future__ import annotations

from codemod.go.parse import parse_tree
from codemod.goroutine_owners import file_owner_facts, merge


def owners_of(*sources: str) -> dict[str, tuple[str, int]]:
    facts = [file_owner_facts(parse_tree(s.encode()).root_node) for s in sources]
    merged = merge(facts)
    return {name: (o.stop.name, o.stop.parameters) for name, o in merged.owners.items()}


WATCHER = """package p
type W struct{ quit chan struct{}; n int }
func NewW() *W { w := &W{quit: make(chan struct{})}; go w.loop(); return w }
func (w *W) loop() { for { select { case <-w.quit: return } } }
"""


def test_stop_method_is_the_one_that_closes_what_the_goroutine_waits_on() -> None:
    stop = "func (w *W) Stop() { close(w.quit) }\nfunc (w *W) Close() error { w.n = 0; return nil }"
    assert owners_of(WATCHER + stop) == {"W": ("Stop", 0)}


def test_stop_method_found_in_another_file_of_the_package() -> None:
    assert owners_of(WATCHER, "package p\nfunc (w *W) Shutdown() { close(w.quit) }") == {
        "W": ("Shutdown", 0)
    }


def test_stop_through_a_helper_method_and_a_field_cancel() -> None:
    source = """package p
import "context"
type S struct{ ctx context.Context; cancel context.CancelFunc }
func (s *S) Start() { go s.run() }
func (s *S) run() { <-s.ctx.Done() }
func (s *S) Close(err error) { s.teardown() }
func (s *S) teardown() { s.cancel() }
"""
    assert owners_of(source) == {"S": ("Close", 1)}


def test_a_type_without_a_stop_method_owns_nothing_we_can_stop() -> None:
    assert owners_of(WATCHER + "func (w *W) Close() { w.n = 0 }") == {}


def test_a_type_that_starts_no_goroutine_is_no_owner() -> None:
    source = """package p
type C struct{ quit chan struct{} }
func NewC() *C { return &C{quit: make(chan struct{})} }
func (c *C) Close() { close(c.quit) }
"""
    assert owners_of(source) == {}


def test_a_goroutine_started_only_under_a_condition_makes_no_owner() -> None:
    guarded = """package p
type S struct{ quit chan struct{}; noSigs bool }
func NewS(no bool) *S { s := &S{quit: make(chan struct{}), noSigs: no}; s.watch(); return s }
func (s *S) watch() { if s.noSigs { return }; go func() { <-s.quit }() }
func (s *S) Shutdown() { close(s.quit) }
"""
    optional = """package p
type M struct{ stop chan struct{}; cached bool }
func New(c bool) *M { m := &M{stop: make(chan struct{})}; if c { go m.clean() }; return m }
func (m *M) clean() { <-m.stop }
func (m *M) Stop() { close(m.stop) }
"""
    assert owners_of(guarded) == {}
    assert owners_of(optional) == {}
    assert owners_of(guarded.replace("if s.noSigs { return }; ", "")) == {"S": ("Shutdown", 0)}


def test_an_error_return_before_the_start_leaves_it_certain() -> None:
    source = """package p
type P struct{ shutdown chan struct{}; leader interface{ Start() error } }
func (p *P) Start() error {
    if err := p.leader.Start(); err != nil { return err }
    go p.run()
    return nil
}
func (p *P) run() { <-p.shutdown }
func (p *P) Close() error { close(p.shutdown); return nil }
"""
    assert owners_of(source) == {"P": ("Close", 0)}
