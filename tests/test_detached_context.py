"""detached-context beyond the fixtures: its fixes need review, so they apply only with
--unsafe, and it stays silent or only reports where a fresh context is deliberate."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.gomod import parse_gomod
from codemod.model import Safety
from tests.conftest import FixtureCase, fixture_cases, run_codemod

GO_122 = parse_gomod("module example\n\ngo 1.22\n", Path("go.mod"))
ID = "detached-context"
POSITIVE = [c for c in fixture_cases() if c.transform_id == ID and c.after is not None]


@pytest.mark.parametrize("case", POSITIVE)
def test_fixture_is_rewritten_only_with_unsafe(case: FixtureCase) -> None:
    unsafe = run_codemod(case.before, case.module, select=ID, unsafe=True)
    assert unsafe.rewritten == case.after, f"Wrong fix for {case.id}; notes: {unsafe.notes}"
    default = run_codemod(case.before, case.module, select=ID)
    assert default.rewritten is None, "a review fix was applied without --unsafe"


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


REPORT_ONLY = {
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


@pytest.mark.parametrize("case", REPORT_ONLY, ids=list(REPORT_ONLY))
def test_only_reported_where_detaching_looks_deliberate(case: str) -> None:
    assert [s for _, s in _findings(_file(REPORT_ONLY[case]))] == [Safety.REPORT_ONLY]


def test_request_context_fix_keeps_the_context_import_used() -> None:
    only_background = """func H(w http.ResponseWriter, r *http.Request) {
	use(context.Background())
}
"""
    assert [s for _, s in _findings(_file(only_background))] == [Safety.REPORT_ONLY]
    typed = only_background + "\nvar _ context.Context\n"
    result = run_codemod(_file(typed), GO_122, select=ID, unsafe=True)
    assert result.rewritten is not None
    assert "use(r.Context())" in result.rewritten.decode()


def test_a_later_shadow_in_another_block_does_not_block_the_fix() -> None:
    body = """func F(ctx context.Context) {
	use(context.TODO())
	if ok() {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		use(ctx)
	}
}
"""
    result = run_codemod(_file(body), GO_122, select=ID, unsafe=True)
    assert result.rewritten is not None
    assert "\tuse(ctx)\n\tif ok()" in result.rewritten.decode()


def test_nearest_function_with_a_context_wins() -> None:
    body = """func F(ctx context.Context, each func(func(context.Context))) {
	each(func(inner context.Context) {
		use(context.Background())
	})
}
"""
    result = run_codemod(_file(body), GO_122, select=ID, unsafe=True)
    assert result.rewritten is not None
    assert "use(inner)" in result.rewritten.decode()


def test_only_a_cleanup_registration_makes_a_callback_deliberate() -> None:
    """A func literal handed to `Cleanup` or `AddOnClose` runs after the caller's context has
    ended (report only); one handed to an ordinary call runs under the caller's wait (fix)."""
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
    assert [s for _, s in _findings(_file(body))] == [Safety.REPORT_ONLY, Safety.REVIEW]
