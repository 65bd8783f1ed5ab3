"""ctx-done-arm beyond its fixtures: the shapes it must leave alone or only report."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.gomod import parse_gomod
from codemod.model import FileResult, Safety
from codemod.package import Siblings
from tests.conftest import FixtureCase, fixture_cases, run_codemod

MODULE = parse_gomod("module example\n\ngo 1.22\n")


def _run(body: str, imports: str = '"context"') -> FileResult:
    source = f"package example\n\nimport ({imports})\n\n{body}"
    return run_codemod(source.encode(), MODULE, select="ctx-done-arm", unsafe=True)


def _fixed(result: FileResult) -> str:
    assert result.rewritten is not None, [f.message for f in result.findings]
    return result.rewritten.decode()


@pytest.mark.parametrize(
    "body",
    [
        # The function cancels its own context and then waits for the worker to stop.
        """func Stop(ctx context.Context, work <-chan error) error {
	ctx, cancel := context.WithCancel(ctx)
	_ = ctx
	cancel()
	err := <-work
	return err
}
""",
        # A callback is called again as soon as it returns: an early return would spin.
        """func Pump(ctx context.Context, out chan<- int, each func(func())) {
	each(func() {
		out <- 1
	})
}
""",
        # A timer kept in a variable fires by itself.
        """func Delay(ctx context.Context) {
	tick := time.NewTicker(time.Second).C
	<-tick
	after := time.After(time.Second)
	<-after
}
""",
        # A context made for one call in this function says nothing about the channel's reader.
        """func Send(ctx context.Context, out chan<- int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	out <- 1
	return nil
}
""",
        # Each case of the switch sends once and ends the goroutine: one value, room for one
        # (tailscale's derp prober).
        """func First(ctx context.Context, recv func() (any, error)) error {
	errc := make(chan error, 1)
	go func() {
		m, err := recv()
		if err != nil {
			errc <- err
			return
		}
		switch m.(type) {
		case string:
			errc <- nil
		default:
			errc <- context.Canceled
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
""",
        # A dropped `<-sem` gives back a slot taken before: its token is waiting (telegraf).
        """func Track(ctx context.Context, sem chan struct{}, delivered <-chan int) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-delivered:
			<-sem
		}
	}
}
""",
        # Buffer sized at run time for every send the loop makes.
        """func All(ctx context.Context, items []int) error {
	errc := make(chan error, len(items))
	for range items {
		go func() {
			errc <- nil
		}()
	}
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}
""",
        # The function closes the channel it ranges over once its own workers are done.
        """func Collect(ctx context.Context, produce func(context.Context, chan<- int)) []int {
	ch := make(chan int)
	go func() {
		defer close(ch)
		produce(ctx, ch)
	}()
	var got []int
	for v := range ch {
		got = append(got, v)
	}
	return got
}
""",
        # Not a channel: ranging over a slice.
        """func Sum(ctx context.Context, xs []int) int {
	n := 0
	for x := range xs {
		n += x
	}
	return n
}
""",
    ],
    ids=[
        "cancelled-then-wait",
        "callback",
        "timers",
        "local-timeout",
        "one-send-per-switch-case",
        "semaphore-release",
        "sized-buffer",
        "closed-here",
        "slice",
    ],
)
def test_leaves_alone(body: str) -> None:
    result = _run(body, '"context"; "time"')
    assert result.findings == []


@pytest.mark.parametrize(
    "body",
    [
        # `break` would end the new select instead of the loop.
        """func Drain(ctx context.Context, in <-chan int) {
	for v := range in {
		if v < 0 {
			break
		}
	}
}
""",
        # One-line goroutine body: the select would not fit the layout.
        """func Start(ctx context.Context, out chan<- int) {
	go func() { out <- 1 }()
}
""",
        # No error result to carry ctx.Err().
        """func Next(ctx context.Context, in <-chan int) int {
	v := <-in
	return v
}
""",
        # An early return would skip the close after the receive.
        """func Relay(ctx context.Context, in <-chan int, done chan struct{}) {
	go func() {
		<-in
		close(done)
	}()
}
""",
    ],
    ids=["break", "one-line", "no-error-result", "cleanup-after"],
)
def test_reports_without_fix(body: str) -> None:
    result = _run(body)
    assert len(result.findings) == 1
    assert result.findings[0].safety is Safety.REPORT_ONLY
    assert result.rewritten is None


def test_range_picks_free_label_and_ok_names() -> None:
    result = _run(
        """func Copy(ctx context.Context, in <-chan int, out []int) ([]int, error) {
	loop, ok := 0, true
	for v := range in {
		if ok {
			out = append(out, v+loop)
		}
	}
	return out, nil
}
"""
    )
    fixed = _fixed(result)
    assert "recvLoop:\n\tfor {" in fixed
    assert "case v, open := <-in:\n\t\t\tif !open {\n\t\t\t\tbreak recvLoop" in fixed
    assert "case <-ctx.Done():\n\t\t\treturn nil, ctx.Err()" in fixed


def test_receive_into_existing_variable_declares_only_the_new_one() -> None:
    result = _run(
        """func Get(ctx context.Context, in <-chan string) (string, error) {
	ok := false
	v, ok := <-in
	if !ok {
		return "", nil
	}
	return v, nil
}
"""
    )
    fixed = _fixed(result)
    assert "var v string\n\tselect {\n\tcase v, ok = <-in:" in fixed
    assert "var ok" not in fixed


def test_foreign_result_type_needs_review() -> None:
    result = _run(
        """func Wait(ctx context.Context, in <-chan int) (time.Duration, error) {
	<-in
	return 0, nil
}
""",
        '"context"; "time"',
    )
    assert [f.safety for f in result.findings] == [Safety.REVIEW]
    assert "return *new(time.Duration), ctx.Err()" in _fixed(result)


def test_request_context_of_http_handler() -> None:
    result = _run(
        """func Serve(w http.ResponseWriter, r *http.Request, jobs chan<- string) {
	jobs <- r.URL.Path
	w.WriteHeader(http.StatusAccepted)
}
""",
        '"net/http"',
    )
    assert "case <-r.Context().Done():\n\t\treturn\n" in _fixed(result)


def test_errgroup_goroutine_returns_the_error() -> None:
    result = _run(
        """type group interface{ Go(func() error) }

func Feed(ctx context.Context, g group, out chan<- int) {
	g.Go(func() error {
		for i := 0; ; i++ {
			out <- i
		}
	})
}
"""
    )
    assert "case <-ctx.Done():\n\t\t\t\treturn ctx.Err()" in _fixed(result)


AFTER_DONE = """package p

import "context"

func Watch(ctx context.Context, events <-chan int, errs chan<- error) {
\tfor {
\t\tselect {
\t\tcase <-ctx.Done():
\t\t\terrs <- ctx.Err()
\t\t\treturn
\t\tcase e := <-events:
\t\t\t_ = e
\t\t}
\t}
}

func Check(ctx context.Context, errs chan<- error) {
\tif ctx.Err() != nil {
\t\terrs <- ctx.Err()
\t}
}
"""


def test_no_arm_where_the_context_is_already_done() -> None:
    # The ctx.Done() arm would be ready too, so the send of ctx.Err() would be lost half the time.
    module = parse_gomod("module example\n\ngo 1.22\n", Path("go.mod"))
    result = run_codemod(AFTER_DONE.encode(), module, select="ctx-done-arm", unsafe=True)
    assert result.findings == []


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ctx-done-arm"


def _case(name: str) -> FixtureCase:
    return next(c for c in fixture_cases() if c.id == f"ctx-done-arm/{name}")


def test_the_rest_of_the_package_silences_channels_it_drains_or_closes() -> None:
    """Alone, before.go looks like four channel operations with no way out; with the package's
    other file (consumers that range until close, a Close that closes) none can block."""
    case = _case("package-drains-or-closes")
    alone = run_codemod(case.before, case.module, select=case.transform_id, unsafe=True)
    with_package = run_codemod(
        case.before, case.module, select=case.transform_id, unsafe=True, siblings=case.siblings
    )
    assert len(alone.findings) >= 4, alone.findings
    assert with_package.findings == []


def test_a_consumer_that_can_leave_makes_the_fix_safe() -> None:
    """A send in a loop that ends by itself, on a field: safe only when the package shows a
    receiver that walks away on ctx.Done(); otherwise the consumer may drain to the end and
    lose what the arm drops, so there is no fix."""
    case = _case("field-consumer-in-package")
    alone = run_codemod(case.before, case.module, select=case.transform_id)
    with_package = run_codemod(
        case.before, case.module, select=case.transform_id, siblings=case.siblings
    )
    assert [f.safety for f in alone.findings] == [Safety.REPORT_ONLY]
    assert alone.rewritten is None
    assert [f.safety for f in with_package.findings] == [Safety.SAFE]
    assert with_package.rewritten == case.after


def test_endless_producer_on_a_parameter_stays_safe_and_bounded_one_needs_review() -> None:
    """Safe only for a producer that never ends by itself and is meant to stop on its context:
    it waits on ctx.Done() elsewhere, or takes ctx for nothing else. One that only hands ctx
    to other calls was judged to run under a context nobody cancels (docs/validation.md,
    round 4)."""
    endless = _run(
        "func Emit(ctx context.Context, out chan<- int) error {\n"
        "\tfor i := 0; ; i++ {\n"
        "\t\tselect {\n\t\tcase <-ctx.Done():\n\t\t\treturn ctx.Err()\n"
        "\t\tdefault:\n\t\t}\n"
        "\t\tout <- i\n\t}\n}\n"
    )
    only_for_this = _run(
        "func Emit(ctx context.Context, out chan<- int) error {\n"
        "\tfor i := 0; ; i++ {\n\t\tout <- i\n\t}\n}\n"
    )
    handed_on = _run(
        "func Emit(ctx context.Context, out chan<- int, next func(context.Context) int) error {\n"
        "\tfor {\n\t\tout <- next(ctx)\n\t}\n}\n"
    )
    bounded = _run(
        "func Emit(ctx context.Context, out chan<- int, xs []int) error {\n"
        "\tfor _, x := range xs {\n\t\tout <- x\n\t}\n\treturn nil\n}\n"
    )
    reads_to_the_end = _run(
        "func Emit(ctx context.Context, out chan<- int, next func() (int, bool)) error {\n"
        "\tfor {\n\t\tx, ok := next()\n\t\tif !ok {\n\t\t\tbreak\n\t\t}\n"
        "\t\tout <- x\n\t}\n\treturn nil\n}\n"
    )
    assert [f.safety for f in endless.findings] == [Safety.SAFE]
    assert [f.safety for f in only_for_this.findings] == [Safety.SAFE]
    assert [f.safety for f in handed_on.findings] == [Safety.REVIEW]
    # A loop that ends by itself: the consumer may drain to the end and lose what the arm
    # drops (terraform's plan diagnostics, judged wrong), so there is no fix.
    assert [f.safety for f in bounded.findings] == [Safety.REPORT_ONLY]
    assert [f.safety for f in reads_to_the_end.findings] == [Safety.REPORT_ONLY]


def test_receive_from_a_producer_handed_the_context_needs_review_or_nothing() -> None:
    """`ch` handed with ctx to a producer: out of sight it usually closes ch when done (review);
    a producer in the package that closes it ends the wait (no finding)."""
    body = (
        "func Watch(ctx context.Context, w {watcher}) error {{\n"
        "\tch := make(chan int, 8)\n"
        "\tgo w.Stream(ctx, ch)\n"
        "\tfor {{\n\t\tv, ok := <-ch\n\t\tif !ok {{\n\t\t\treturn nil\n\t\t}}\n\t\t_ = v\n\t}}\n"
        "}}\n"
    )
    elsewhere = _run(body.format(watcher="interface{ Stream(context.Context, chan<- int) }"))
    assert [f.safety for f in elsewhere.findings] == [Safety.REVIEW]
    producer = (
        "type Source struct{}\n\n"
        "func (Source) Stream(ctx context.Context, out chan<- int) {\n"
        "\tdefer close(out)\n\tout <- 1\n}\n\n"
    )
    source = f'package example\n\nimport "context"\n\n{body.format(watcher="Source")}'
    in_package = run_codemod(
        source.encode(),
        MODULE,
        select="ctx-done-arm",
        unsafe=True,
        siblings=Siblings.of_sources(
            {"source.go": f'package example\n\nimport "context"\n\n{producer}'.encode()}
        ),
    )
    assert in_package.findings == []


def test_a_select_over_channels_from_elsewhere_is_for_a_reviewer() -> None:
    result = _run(
        "type Server struct{ errs, fails chan error }\n\n"
        "func (s *Server) Run(ctx context.Context) error {\n"
        "\tselect {\n\tcase err := <-s.errs:\n\t\treturn err\n"
        "\tcase err := <-s.fails:\n\t\treturn err\n\t}\n}\n"
    )
    assert [f.safety for f in result.findings] == [Safety.REVIEW]
    assert "case <-ctx.Done():" in _fixed(result)


def test_a_stream_with_a_last_word_gets_no_fix() -> None:
    """etcd's GetStream: the reader ranges to the end and takes the final error as the
    verdict on the stream; an arm that drops a chunk makes a cut-short stream look whole,
    and one that drops the final error loses it just when the context ended the stream."""
    result = _run(
        "type Item struct{ err error }\n\n"
        "func Stream(ctx context.Context, next func() (Item, error)) <-chan Item {\n"
        "\tout := make(chan Item, 1)\n"
        "\tgo func() {\n\t\tdefer close(out)\n\t\tfor {\n"
        "\t\t\titem, err := next()\n\t\t\tif err != nil {\n"
        "\t\t\t\tout <- Item{err: err}\n\t\t\t\treturn\n\t\t\t}\n"
        "\t\t\tout <- item\n\t\t}\n\t}()\n\treturn out\n}\n"
    )
    assert {f.safety for f in result.findings} == {Safety.REPORT_ONLY}
    assert any(f.start.line == 17 for f in result.findings), result.findings  # `out <- item`


def _result_wait(receiver_cases: str, context_line: str = "") -> list[Safety]:
    """A goroutine's result, received by a select in the same function (round 4 shapes)."""
    body = (
        "func Get(ctx context.Context, get func() int) (int, error) {\n"
        f"{context_line}"
        "\tresults := make(chan int)\n"
        "\tgo func() {\n\t\tresults <- get()\n\t}()\n"
        "\tselect {\n\tcase v := <-results:\n\t\treturn v, nil\n"
        f"{receiver_cases}"
        "\t}\n}\n"
    )
    return [f.safety for f in _run(body, '"context"\n\t"time"').findings]


@pytest.mark.parametrize(
    ("receiver_cases", "context_line", "expected"),
    [
        # The receiver gives up on the same context: the arm drops nothing anyone waits for.
        ("\tcase <-ctx.Done():\n\t\treturn 0, ctx.Err()\n", "", Safety.SAFE),
        # ... or on the context the goroutine's one was derived from.
        (
            "\tcase <-ctx.Done():\n\t\treturn 0, ctx.Err()\n",
            "\tsub, cancel := context.WithCancel(ctx)\n\tdefer cancel()\n\tctx = sub\n",
            Safety.SAFE,
        ),
        # It can also leave on a timer: the arm covers the cancelled path only.
        (
            "\tcase <-ctx.Done():\n\t\treturn 0, ctx.Err()\n"
            "\tcase <-time.After(time.Second):\n\t\treturn 0, nil\n",
            "",
            Safety.REVIEW,
        ),
        # It waits on a timer alone: after a cancel it may still want the value the arm drops.
        ("\tcase <-time.After(time.Second):\n\t\treturn 0, nil\n", "", Safety.REPORT_ONLY),
    ],
    ids=["same-context", "parent-context", "context-and-timer", "timer-only"],
)
def test_a_result_arm_is_safe_only_when_the_receiver_gives_up_on_the_same_context(
    receiver_cases: str, context_line: str, expected: Safety
) -> None:
    assert _result_wait(receiver_cases, context_line) == [expected]


def test_a_derived_context_counts_as_the_receivers_own() -> None:
    """`sub, cancel := context.WithCancel(ctx)`: when ctx is done, so is sub."""
    body = (
        "func Get(ctx context.Context, get func(context.Context) int) (int, error) {\n"
        "\tsub, cancel := context.WithCancel(ctx)\n\tdefer cancel()\n"
        "\tresults := make(chan int)\n"
        "\tgo func() {\n\t\tresults <- get(sub)\n\t}()\n"
        "\tselect {\n\tcase v := <-results:\n\t\treturn v, nil\n"
        "\tcase <-ctx.Done():\n\t\treturn 0, ctx.Err()\n\t}\n}\n"
    )
    findings = _run(body).findings
    assert [f.safety for f in findings] == [Safety.SAFE]
    assert "sub.Done()" in _fixed(_run(body))


@pytest.mark.parametrize(
    ("name", "expected"), [("Results", Safety.SAFE), ("results", Safety.REVIEW)]
)
def test_a_stream_returned_to_callers_in_the_package_needs_review(
    name: str, expected: Safety
) -> None:
    """An unexported function's callers are all in the package: one that reads a fixed count
    with bare receives would hang on a dropped value (docker/cli's parallelOperation)."""
    body = (
        f"func {name}(ctx context.Context, next func() int) <-chan int {{\n"
        "\tout := make(chan int)\n"
        "\tgo func() {\n\t\tfor {\n\t\t\tout <- next()\n\t\t}\n\t}()\n"
        "\treturn out\n}\n"
    )
    assert [f.safety for f in _run(body).findings] == [expected]


def test_a_goroutine_parameter_stands_for_its_argument() -> None:
    """`go func(ctx context.Context) {...}(timedCtx)`: the receiver leaving on timedCtx.Done()
    leaves on the goroutine's context (vitess' vtctl workflow progress)."""
    body = (
        "func Wait(ctx context.Context, next func() int) (int, error) {\n"
        "\ttimedCtx, cancel := context.WithTimeout(ctx, time.Second)\n\tdefer cancel()\n"
        "\tprogress := make(chan int)\n"
        "\tgo func(ctx context.Context) {\n\t\tfor {\n\t\t\tprogress <- next()\n\t\t}\n"
        "\t}(timedCtx)\n"
        "\tselect {\n\tcase v := <-progress:\n\t\treturn v, nil\n"
        "\tcase <-timedCtx.Done():\n\t\treturn 0, timedCtx.Err()\n\t}\n}\n"
    )
    assert [f.safety for f in _run(body, '"context"\n\t"time"').findings] == [Safety.SAFE]


def test_a_one_shot_hand_off_out_of_sight_gets_no_fix() -> None:
    """A done value or reply whose reader is out of sight: its reader often waits with a bare
    receive (cilium's policy importer, temporal's update helper), so dropping it hangs that
    reader. No fix, but in an HTTP handler (test_request_context_of_http_handler)."""
    result = _run(
        "type Update struct{ Done chan<- uint64 }\n\n"
        "func Apply(ctx context.Context, upd Update, rev uint64) error {\n"
        "\tupd.Done <- rev\n\treturn nil\n}\n"
    )
    assert [f.safety for f in result.findings] == [Safety.REPORT_ONLY]
    assert result.rewritten is None


def test_a_worker_that_owes_a_result_after_its_input_loop_gets_no_fix() -> None:
    """rclone's ListR: each worker ranges over the jobs, then sends one result that the
    caller counts; returning early from the range would skip it and hang the caller."""
    result = _run(
        "func Work(ctx context.Context, in <-chan int, out chan<- error) {\n"
        "\tvar err error\n"
        "\tfor job := range in {\n\t\t_ = job\n\t}\n"
        "\tout <- err\n}\n"
    )
    range_findings = [f for f in result.findings if f.start.line == 10]
    assert [f.safety for f in range_findings] == [Safety.REPORT_ONLY], result.findings


def test_a_drain_loop_gets_no_finding() -> None:
    """`for range ch {}` in a goroutine left behind by an early return drains a producer so
    that it can finish (coredns' zone transfer). An arm would stop the drain just when the
    caller's context ends, and strand that producer: judged wrong on real code."""
    drain = (
        "func Forward(ctx context.Context, records <-chan string, out chan<- string) {\n"
        "\tgo func() {\n\t\tfor range records {\n\t\t}\n\t}()\n"
        '\tfor range records {\n\t\tout <- "x"\n\t}\n}\n'
    )
    result = _run(drain)
    # Only the second range, which does work in its body, is a finding.
    assert [f.start.line for f in result.findings if "range" in f.message] == [10]


def test_a_test_context_is_not_done_while_the_test_function_runs() -> None:
    """`ctx := t.Context()` is cancelled after the test function returns: an arm on a wait in
    that function never fires (kubo's pin tests). A goroutine it leaves behind can use it."""
    helper = (
        "func checkNames(t *testing.T, list func(context.Context, chan<- string) error) {\n"
        "\tctx := t.Context()\n"
        "\tnames := make(chan string)\n"
        "\tvar err error\n"
        "\tgo func() {\n\t\terr = list(ctx, names)\n\t}()\n"
        "\tfor name := range names {\n\t\tt.Log(name)\n\t}\n"
        "\tif err != nil {\n\t\tt.Fatal(err)\n\t}\n"
        "\tgo func() {\n\t\tfor name := range names {\n\t\t\tt.Log(name)\n\t\t}\n\t}()\n"
        "}\n"
    )
    result = _run(helper, imports='"context"\n\t"testing"')
    # The range in the test function is silent; the one in the goroutine keeps its finding.
    assert [f.start.line for f in result.findings] == [20]


def test_a_fan_in_closed_by_its_launcher_gets_no_fix() -> None:
    """An HTTP handler's `go func() { ...; results <- r }()` per backend, then
    `wg.Wait(); close(results)`: the reader takes values until that close. Once the context is
    done the arm and the send are both ready, so values are dropped at random (cortex's
    querytee then indexed an empty slice)."""
    result = _run(
        "func Fan(r *http.Request, backends []func(*http.Request) int, results chan<- int) {\n"
        "\tvar wg sync.WaitGroup\n"
        "\tfor _, b := range backends {\n"
        "\t\twg.Add(1)\n"
        "\t\tgo func() {\n\t\t\tdefer wg.Done()\n\t\t\tresults <- b(r)\n\t\t}()\n"
        "\t}\n"
        "\twg.Wait()\n\tclose(results)\n}\n",
        imports='"net/http"\n\t"sync"',
    )
    sends = [f for f in result.findings if "send on `results`" in f.message]
    assert [f.safety for f in sends] == [Safety.REPORT_ONLY], result.findings
    assert result.rewritten is None


@pytest.mark.parametrize(
    ("producer", "safety"),
    [
        # The producer sends without a way out: the arm would strand it (minio-go).
        ("\tfor _, r := range batch {\n\t\tresults <- r\n\t}\n", Safety.REPORT_ONLY),
        # The producer gives up on ctx.Done() too: the arm frees the forwarder, nothing moves.
        (
            "\tfor _, r := range batch {\n\t\tselect {\n\t\tcase results <- r:\n"
            "\t\tcase <-ctx.Done():\n\t\t\treturn\n\t\t}\n\t}\n",
            Safety.SAFE,
        ),
    ],
    ids=["plain producer", "producer heeds ctx"],
)
def test_a_forwarder_keeps_its_fix_only_when_its_producer_can_leave(
    producer: str, safety: Safety
) -> None:
    """`for r := range results { errs <- r }` forwards from a local channel fed by a package
    function: the arm stops the drain, so it is right only if that producer can leave too."""
    source = (
        "func produce(ctx context.Context, batch []error, results chan<- error) {\n"
        "\tdefer close(results)\n" + producer + "}\n\n"
        "func Errors(ctx context.Context, batch []error) <-chan error {\n"
        "\terrs := make(chan error)\n"
        "\tresults := make(chan error)\n"
        "\tgo produce(ctx, batch, results)\n"
        "\tgo func() {\n\t\tdefer close(errs)\n"
        "\t\tfor err := range results {\n\t\t\terrs <- err\n\t\t}\n\t}()\n"
        "\treturn errs\n}\n"
    )
    result = _run(source)
    forwards = [f for f in result.findings if "send on `errs`" in f.message]
    assert [f.safety for f in forwards] == [safety], result.findings


@pytest.mark.parametrize(
    ("made", "safety"),
    [("make(chan error, 1)", Safety.REPORT_ONLY), ("make(chan error)", Safety.REVIEW)],
    ids=["buffered field", "unbuffered field"],
)
def test_a_one_shot_send_into_a_field_made_with_a_buffer_gets_no_fix(
    made: str, safety: Safety
) -> None:
    """echo's timeout middleware: per request, a function makes a mailbox with a buffer of one,
    hands it to the handler in a field and waits on it. The handler's one error finds room; an
    arm ready at the same time drops it at random. A buffer made once for a repeating handler
    can fill, so that keeps its fix (dapr's test apps, judged correct)."""
    source = (
        "type handler struct{ errs chan error }\n\n"
        "func Wrap(serve func(*handler)) error {\n"
        f"\terrs := {made}\n"
        "\tserve(&handler{errs: errs})\n"
        "\tselect {\n\tcase err := <-errs:\n\t\treturn err\n\tdefault:\n\t\treturn nil\n\t}\n}\n\n"
        "func (h *handler) Serve(r *http.Request, run func() error) {\n"
        "\tif err := run(); err != nil {\n\t\th.errs <- err\n\t}\n}\n"
    )
    result = _run(source, imports='"net/http"')
    assert [f.safety for f in result.findings] == [safety], result.findings


_REPLAY = """func Replay(ctx context.Context, in <-chan []byte, apply func([]byte) error) error {{
	for b := range in {{
		if err := apply(b); err != nil {{
			return err
		}}
		{check} {{
			{stop}
		}}
	}}
	return nil
}}
"""


@pytest.mark.parametrize(
    ("check", "stop", "arm"),
    [
        ("if ctx.Err() != nil", "return nil", "return nil"),
        ("if err := ctx.Err(); err != nil", "return nil", "return nil"),
        ("if err := ctx.Err(); err != nil", 'log.Print("stopping early")\n\t\t\treturn nil', None),
        ("if errors.Is(ctx.Err(), context.DeadlineExceeded)", "return nil", None),
        # A guard, not a way out: the arm says ctx.Err() as usual.
        ("if len(b) > 0 && ctx.Err() == nil", "log.Print(len(b))", "return ctx.Err()"),
    ],
    ids=["plain", "initializer", "logs-first", "asks-how-it-ended", "guard"],
)
def test_the_functions_own_context_check_is_how_the_arm_leaves(
    check: str, stop: str, arm: str | None
) -> None:
    # avalanchego's replay logged "exiting early due to context timeout" and returned nil;
    # an arm returning ctx.Err() failed its caller's timeout run (judged wrong).
    result = _run(_REPLAY.format(check=check, stop=stop), '"context"; "errors"; "log"')
    assert len(result.findings) == 1
    if arm is None:
        assert result.findings[0].safety is Safety.REPORT_ONLY
        assert result.rewritten is None
    else:
        assert f"case <-ctx.Done():\n\t\t\t{arm}\n" in _fixed(result)
