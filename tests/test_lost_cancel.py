"""lost-cancel beyond the fixtures: how far the context flows decides the fix's safety, and
where the analysis stays silent. (Review and report-only findings cannot be fixture cases
whose before.go must pass `go vet`, which already rejects most of them.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.gomod import parse_gomod
from codemod.model import Safety
from codemod.package import Siblings
from tests.conftest import run_codemod

GO_122 = parse_gomod("module example\n\ngo 1.22\n", Path("go.mod"))
ID = "lost-cancel"


def _file(body: str, context_path: str = "context") -> bytes:
    header = f'package example\n\nimport (\n\t"{context_path}"\n\t"net/http"\n\t"time"\n)\n\n'
    return (header + body).encode()


def _findings(body: str, context_path: str = "context") -> list[tuple[int, Safety]]:
    result = run_codemod(_file(body, context_path), GO_122, select=ID, unsafe=True)
    return [(f.start.line, f.safety) for f in result.findings]


def _safeties(body: str) -> list[Safety]:
    return [safety for _, safety in _findings(body)]


SAFETY_CASES = {
    "plain result returned": (
        """func Get(ctx context.Context, db DB, k string) (string, error) {
	ctx, _ := context.WithTimeout(ctx, time.Second)
	v, err := db.Get(ctx, k)
	return v, err
}
""",
        Safety.SAFE,
    ),
    "stream returned": (
        """func Watch(ctx context.Context, c Client) (Stream, error) {
	ctx, _ := context.WithTimeout(ctx, time.Second)
	return c.Watch(ctx)
}
""",
        Safety.REVIEW,
    ),
    "request made from it returned": (
        """func NewReq(parent context.Context) (*http.Request, error) {
	ctx, _ := context.WithTimeout(parent, time.Second)
	req, err := http.NewRequestWithContext(ctx, "GET", "/", nil)
	return req, err
}
""",
        Safety.REPORT_ONLY,
    ),
    "context returned": (
        """func Derive(parent context.Context) context.Context {
	ctx, _ := context.WithTimeout(parent, time.Second)
	return ctx
}
""",
        Safety.REPORT_ONLY,
    ),
    "context stored in a field": (
        """func (s *S) Init(parent context.Context) {
	ctx, _ := context.WithCancel(parent)
	s.ctx = ctx
}
""",
        Safety.REPORT_ONLY,
    ),
    "goroutine that the function waits for": (
        """func Run(parent context.Context, wg *sync.WaitGroup) {
	ctx, _ := context.WithCancel(parent)
	go work(ctx, wg)
	wg.Wait()
}
""",
        Safety.REVIEW,
    ),
    "goroutine started just before returning": (
        """func Start(parent context.Context) {
	ctx, _ := context.WithCancel(parent)
	go loop(ctx)
}
""",
        Safety.REPORT_ONLY,
    ),
    "package variable assigned": (
        """var Ctx context.Context

func Init() {
	Ctx, _ = context.WithTimeout(context.Background(), time.Second)
	connect(Ctx)
}
""",
        Safety.REPORT_ONLY,
    ),
    "named result": (
        """func Derive(parent context.Context) (ctx context.Context) {
	ctx, _ = context.WithTimeout(parent, time.Second)
	return
}
""",
        Safety.REPORT_ONLY,
    ),
    "option made from it in a block, returned after": (
        """func Options(deadline *time.Time) []Option {
	var opts []Option
	if deadline != nil {
		ctx, _ := context.WithDeadline(context.Background(), *deadline)
		opts = append(opts, WithContext(ctx))
	}
	return opts
}
""",
        Safety.REPORT_ONLY,
    ),
    "goroutine sends a response back": (
        """func Upload(ctx context.Context, c Client, t <-chan time.Time) (*http.Response, error) {
	rCtx, cancel := context.WithCancel(ctx)
	ch := make(chan *http.Response, 1)
	go func() {
		res, _ := c.Do(rCtx)
		ch <- res
	}()
	select {
	case <-t:
		cancel()
		return nil, context.DeadlineExceeded
	case res := <-ch:
		return res, nil
	}
}
""",
        Safety.REPORT_ONLY,
    ),
    "goroutine assigns a stream the function keeps": (
        """func (s *S) Start(ctx context.Context, timer <-chan time.Time) error {
	errCh := make(chan error, 1)
	var stream Stream
	sessionCtx, cancel := context.WithCancel(ctx)
	go func() {
		var err error
		stream, err = s.client.Open(sessionCtx)
		errCh <- err
	}()
	select {
	case err := <-errCh:
		if err != nil {
			return err
		}
	case <-timer:
		cancel()
		return context.DeadlineExceeded
	}
	s.stream = stream
	return nil
}
""",
        Safety.REPORT_ONLY,
    ),
    "goroutine sends only an error": (
        """func Call(ctx context.Context, c Client) error {
	ctx, _ := context.WithTimeout(ctx, time.Second)
	errCh := make(chan error, 1)
	go func() {
		err := c.Ping(ctx)
		errCh <- err
	}()
	err := <-errCh
	return err
}
""",
        Safety.REVIEW,
    ),
    "vet silenced on the line": (
        """func Get(ctx context.Context, db DB, k string) (string, error) {
	ctx, _ := context.WithTimeout(ctx, time.Second) //nolint:govet,gosec
	return db.Get(ctx, k)
}
""",
        Safety.REPORT_ONLY,
    ),
}


@pytest.mark.parametrize("case", SAFETY_CASES, ids=list(SAFETY_CASES))
def test_safety_follows_where_the_context_flows(case: str) -> None:
    body, expected = SAFETY_CASES[case]
    assert _safeties(body) == [expected], body


SILENT = {
    "deferred in a closure": """func F(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	defer func() { cancel() }()
	use(ctx)
}
""",
    "handed to a cleanup": """func F(t T, parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	t.Cleanup(cancel)
	use(ctx)
}
""",
    "called by a goroutine": """func F(parent context.Context, stop chan struct{}) {
	ctx, cancel := context.WithCancel(parent)
	go func() { <-stop; cancel() }()
	use(ctx)
}
""",
    "called before every return": """func F(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	if err := use(ctx); err != nil {
		cancel()
		return err
	}
	cancel()
	return nil
}
""",
    "endless loop left only after cancel": """func F(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	for {
		if use(ctx) != nil {
			cancel()
			break
		}
	}
}
""",
    "goto": """func F(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	if use(ctx) != nil {
		goto out
	}
	cancel()
out:
}
""",
    "panic instead of return": """func F(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	if use(ctx) != nil {
		panic("unreachable")
	}
	cancel()
}
""",
    "parent cancelled by a defer": """func F(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent)
	ctx, _ = context.WithTimeoutCause(ctx, time.Second, context.DeadlineExceeded)
	defer func() { cancel(context.Canceled) }()
	return use(ctx)
}
""",
    "parent cancelled on every path": """func F(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	timed, _ := context.WithTimeout(ctx, time.Second)
	err := use(timed)
	cancel()
	return err
}
""",
}


@pytest.mark.parametrize("case", SILENT, ids=list(SILENT))
def test_no_finding_when_cancel_is_handled_or_owned_elsewhere(case: str) -> None:
    assert _findings(SILENT[case]) == [], SILENT[case]


def test_two_discarded_cancels_in_one_function_get_distinct_names() -> None:
    body = """func F(a, b context.Context) error {
	x, _ := context.WithTimeout(a, time.Second)
	if err := use(x); err != nil {
		return err
	}
	b, _ = context.WithTimeout(b, time.Second)
	return use(b)
}
"""
    result = run_codemod(_file(body), GO_122, select=ID)
    assert result.rewritten is not None
    rewritten = result.rewritten.decode()
    assert "x, cancel := context.WithTimeout(a, time.Second)\n\tdefer cancel()\n" in rewritten
    assert "var cancel2 context.CancelFunc\n\tb, cancel2 = " in rewritten
    assert "defer cancel2()" in rewritten


def test_cancel_cause_is_deferred_with_a_nil_cause() -> None:
    body = """func F(parent context.Context) {
	ctx, _ := context.WithCancelCause(parent)
	use(ctx)
}
"""
    result = run_codemod(_file(body), GO_122, select=ID)
    assert result.rewritten is not None
    assert "ctx, cancel := context.WithCancelCause(parent)\n\tdefer cancel(nil)\n" in (
        result.rewritten.decode()
    )


def test_declaration_in_a_loop_is_only_reported() -> None:
    body = """func F(parent context.Context, xs []int) {
	for range xs {
		ctx, _ := context.WithTimeout(parent, time.Second)
		use(ctx)
	}
}
"""
    assert _safeties(body) == [Safety.REPORT_ONLY]


def test_pre_go17_context_package_is_recognised() -> None:
    body = """func F(parent context.Context) {
	ctx, _ := context.WithTimeout(parent, time.Second)
	use(ctx)
}
"""
    assert _findings(body, "golang.org/x/net/context") == [(10, Safety.SAFE)]


def test_parent_not_cancelled_on_every_path_still_reports_the_child() -> None:
    body = """func F(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	timed, _ := context.WithTimeout(ctx, time.Second)
	if err := use(timed); err != nil {
		return err
	}
	cancel()
	return nil
}
"""
    assert [line for line, _ in _findings(body)] == [10, 11]


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        # The author says why the cancel is left to the timeout (vault's event bus, whose
        # asynchronous sink still uses the context after the function returns).
        (
            "\t// We can't know when the send completes, so we can't call the cancel function.\n",
            [Safety.REPORT_ONLY],
        ),
        # A comment about something else explains nothing.
        ("\t// Give the send a deadline.\n", [Safety.SAFE]),
        ("", [Safety.SAFE]),
    ],
    ids=["explained", "other-comment", "no-comment"],
)
def test_a_comment_above_that_speaks_of_the_cancel_means_report_only(
    comment: str, expected: list[Safety]
) -> None:
    body = (
        "func Publish(send func(context.Context) error) error {\n"
        f"{comment}"
        "\tctx, _ := context.WithTimeout(context.Background(), time.Second)\n"
        "\treturn send(ctx)\n}\n"
    )
    assert _safeties(body) == expected


LEAKY_GET = """func Get(ctx context.Context, db DB, k string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	if k == "" {
		return "", nil
	}
	v, err := db.Get(ctx, k)
	cancel()
	return v, err
}
"""


@pytest.mark.parametrize(
    "path",
    [
        "github.com/coreos/etcd/Godeps/_workspace/src/golang.org/x/net/context",
        "example.com/app/vendor/golang.org/x/net/context",
    ],
)
def test_context_imported_from_a_vendored_copy(path: str) -> None:
    assert _findings(LEAKY_GET, context_path=path) == [(10, Safety.SAFE)]


def test_a_package_named_like_context_elsewhere_is_not_context() -> None:
    assert _findings(LEAKY_GET, context_path="example.com/app/context") == []


OVERWRITE = """func Fetch(ctx context.Context, d time.Duration, get Getter) error {
	hctx, hcancel := context.WithCancel(ctx)
	BETWEEN
	if d > 0 {
		hctx, hcancel = context.WithTimeout(PARENT, d)
	}
	defer hcancel()
	return get(hctx)
}
"""


def _overwrite(between: str = "", parent: str = "ctx") -> list[tuple[int, Safety]]:
    return _findings(OVERWRITE.replace("BETWEEN", between).replace("PARENT", parent))


def test_cancel_overwritten_before_it_is_called_is_called_first() -> None:
    assert _overwrite() == [(10, Safety.SAFE)]
    fixed = run_codemod(
        _file(OVERWRITE.replace("BETWEEN", "").replace("PARENT", "ctx")), GO_122, select=ID
    )
    assert fixed.rewritten is not None
    assert (
        "\t\thcancel()\n\t\thctx, hcancel = context.WithTimeout(ctx, d)" in fixed.rewritten.decode()
    )


@pytest.mark.parametrize(
    ("between", "parent"),
    [
        ("_ = get(hctx)", "ctx"),  # the first context was handed out: cancelling may cut it
        ("", "hctx"),  # the new context derives from the first: cancelling ends both
    ],
)
def test_overwritten_cancel_whose_context_is_in_use_is_only_reported(
    between: str, parent: str
) -> None:
    assert _overwrite(between, parent) == [(10, Safety.REPORT_ONLY)]


@pytest.mark.parametrize("between", ["hcancel()", "defer hcancel()", "go func() { hcancel() }()"])
def test_cancel_called_or_deferred_before_the_overwrite_is_not_lost(between: str) -> None:
    assert _overwrite(between) == []


WRAPPER = """func withBudget(ctx context.Context, d Budget) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

"""


def test_cancel_from_a_package_wrapper_is_lost_the_same_way() -> None:
    body = WRAPPER + LEAKY_GET.replace(
        "context.WithTimeout(ctx, time.Second)", "withBudget(ctx, time.Second)"
    )
    assert _findings(body) == [(14, Safety.REVIEW)]


def test_a_wrapper_declared_in_another_file_of_the_package() -> None:
    body = LEAKY_GET.replace(
        "context.WithTimeout(ctx, time.Second)", "withBudget(ctx, time.Second)"
    )
    siblings = Siblings.of_sources({"budget.go": ("package example\n\n" + WRAPPER).encode()})
    result = run_codemod(_file(body), GO_122, select=ID, unsafe=True, siblings=siblings)
    assert [f.safety for f in result.findings] == [Safety.REVIEW]
    assert not run_codemod(_file(body), GO_122, select=ID).findings


STORED = """type watcher struct {
	cancel context.CancelFunc
	Stop   context.CancelFunc
}

func newWatcher(ctx context.Context, run func(context.Context)) *watcher {
	ctx, cancel := context.WithCancel(ctx)
	go run(ctx)
	return &watcher{FIELD: cancel}
}
"""


def test_cancel_stored_in_a_field_nothing_calls_is_reported() -> None:
    assert _findings(STORED.replace("FIELD", "cancel")) == [(15, Safety.REPORT_ONLY)]


@pytest.mark.parametrize(
    "extra",
    [
        "\nfunc (w *watcher) Close() { w.cancel() }\n",
        "\nfunc (w *watcher) done() context.CancelFunc { return w.cancel }\n",
    ],
)
def test_cancel_stored_in_a_field_the_package_reads_is_not_reported(extra: str) -> None:
    assert _findings(STORED.replace("FIELD", "cancel") + extra) == []


def test_cancel_stored_in_an_exported_field_is_not_reported() -> None:
    """Another package may call `w.Stop()`."""
    assert _findings(STORED.replace("FIELD", "Stop")) == []


def test_a_field_another_test_file_calls_is_not_reported_in_a_test() -> None:
    calls = "package example\n\nfunc TestStop(t *testing.T) { w.cancel() }\n"
    siblings = Siblings.of_sources({"stop_test.go": calls.encode()})
    source = _file(STORED.replace("FIELD", "cancel"))
    result = run_codemod(source, GO_122, select=ID, siblings=siblings, path=Path("w_test.go"))
    assert not result.findings
