"""detached-context beyond the fixtures: it only reports (never rewrites), and stays silent
where a fresh context is the point or looks deliberate."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.gomod import parse_gomod
from codemod.model import Safety
from tests.conftest import run_codemod

GO_122 = parse_gomod("module example\n\ngo 1.22\n", Path("go.mod"))
ID = "detached-context"


def _file(body: str, imports: str = '"context"\n\t"net/http"') -> bytes:
    return f"package example\n\nimport (\n\t{imports}\n)\n\n{body}".encode()


def _findings(source: bytes) -> list[tuple[int, Safety]]:
    result = run_codemod(source, GO_122, select=ID, unsafe=True)
    return [(f.start.line, f.safety) for f in result.findings]


SILENT = {
    "no context in scope": """func F() error {
	return use(context.Background())
}
""",
    "main": """func main() {
	run(context.Background())
}
""",
    "deferred cleanup": """func F(ctx context.Context, l *Lease) error {
	defer l.Release(context.Background())
	return use(ctx)
}
""",
    "after the context is done": """func F(ctx context.Context, srv *Server) error {
	<-ctx.Done()
	return srv.Shutdown(context.Background())
}
""",
    "in the done case of a select": """func F(ctx context.Context, s *S, errc chan error) error {
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return s.Shutdown(context.Background())
	}
}
""",
    "default for a nil context": """func F(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	return use(ctx)
}
""",
    "compared as a sentinel": """func F(ctx context.Context) bool {
	return ctx != context.Background()
}
""",
    "already WithoutCancel": """func F(ctx context.Context) {
	go audit(context.WithoutCancel(ctx))
}
""",
}


@pytest.mark.parametrize("case", SILENT, ids=list(SILENT))
def test_silent_where_a_fresh_context_is_the_point(case: str) -> None:
    assert _findings(_file(SILENT[case])) == [], SILENT[case]


DELIBERATE = {
    "a func literal named as a cleanup": """func Setup(ctx context.Context, s *Store) func() {
	cleanup := func() {
		s.Delete(context.Background())
	}
	return cleanup
}
""",
    "stored in a field": """func (s *S) Start(ctx context.Context) {
	s.ctx, s.stop = context.WithCancel(context.Background())
}
""",
    "derived context's cancel not deferred": """func F(ctx context.Context) *Pipe {
	done, cancel := context.WithCancel(context.Background())
	return &Pipe{done: done, cancel: cancel}
}
""",
    "commented statement": """func F(ctx context.Context) error {
	// Inspect with a fresh context: ctx may have expired above.
	return inspect(context.Background())
}
""",
    "parameter reassigned": """func F(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return use(ctx, context.Background())
}
""",
    "blank parameter": """func F(_ context.Context) error {
	return use(context.Background())
}
""",
    "cleanup function": """func (c *Conn) Close(ctx context.Context) error {
	return c.session.End(context.Background())
}
""",
    "goroutine from a handler": """func H(w http.ResponseWriter, r *http.Request) {
	go refresh(context.Background())
	var _ context.Context
}
""",
}


@pytest.mark.parametrize("case", DELIBERATE, ids=list(DELIBERATE))
def test_silent_where_detaching_looks_deliberate(case: str) -> None:
    assert _findings(_file(DELIBERATE[case])) == []


def test_every_finding_is_only_reported() -> None:
    """Out of sample, passing the caller's context was wrong in 10 of 36 fixes and removed a
    leak in 4: the finding says which context to pass, and the author decides."""
    body = """func H(w http.ResponseWriter, r *http.Request) {
	use(context.Background())
}

func F(ctx context.Context) {
	use(context.TODO())
}
"""
    result = run_codemod(_file(body), GO_122, select=ID, unsafe=True)
    assert [(f.start.line, f.safety, f.fix) for f in result.findings] == [
        (9, Safety.REPORT_ONLY, None),
        (13, Safety.REPORT_ONLY, None),
    ]
    assert "pass r.Context()" in result.findings[0].message
    assert "pass `ctx`" in result.findings[1].message
    assert result.rewritten is None


def test_a_later_shadow_in_another_block_does_not_hide_the_finding() -> None:
    body = """func F(ctx context.Context) {
	use(context.TODO())
	if ok() {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		use(ctx)
	}
}
"""
    assert [line for line, _ in _findings(_file(body))] == [9]


def test_nearest_function_with_a_context_wins() -> None:
    body = """func F(ctx context.Context, each func(func(context.Context))) {
	each(func(inner context.Context) {
		use(context.Background())
	})
}
"""
    result = run_codemod(_file(body), GO_122, select=ID, unsafe=True)
    assert ["pass `inner`" in f.message for f in result.findings] == [True]


def test_only_a_cleanup_registration_makes_a_callback_deliberate() -> None:
    """A func literal handed to `Cleanup` or `AddOnClose` runs after the caller's context has
    ended (no finding); one handed to an ordinary call runs under the caller's wait."""
    body = """func F(ctx context.Context, t Hooks, load func(context.Context) error) error {
	t.Cleanup(func() {
		if err := load(context.Background()); err != nil {
			panic(err)
		}
	})
	return each(func() error {
		if err := load(context.Background()); err != nil {
			return err
		}
		return nil
	})
}
"""
    assert [line for line, _ in _findings(_file(body))] == [15]
