"""codemod/callers.py: a context parameter nobody can cancel, told from the package's calls.

Each case is a small package: the file under test (`work`, whose `ctx` parameter is asked
about) and the other files of its package. The answer must be True only when every call in
the package passes a context nobody can cancel; any doubt answers False.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codemod.callers import context_never_cancelled
from codemod.go.parse import parse_source
from codemod.package import PackageView, Siblings

WORK = """package {package}

import "context"

func {name}(ctx context.Context, n int) int {{
	_ = ctx
	return n
}}
"""


def _never_cancelled(
    callers: str,
    name: str = "work",
    package: str = "example",
    siblings: dict[str, str] | None = None,
    work: str | None = None,
) -> bool:
    source = (work or WORK.format(package=package, name=name)) + callers
    parsed = parse_source(source.encode())
    sources = {file: text.encode() for file, text in (siblings or {}).items()}
    view = PackageView.of(parsed.root, Siblings.of_sources(sources))
    function = next(
        d
        for d in parsed.root.named_children
        if d.type in ("function_declaration", "method_declaration")
        and (n := d.child_by_field_name("name")) is not None
        and n.text == name.encode()
    )
    return context_never_cancelled(function, "ctx", view)


NEVER = {
    "Background": """
func Start() int { return work(context.Background(), 1) }
""",
    "TODO and WithoutCancel": """
func A() int { return work(context.TODO(), 1) }
func B(ctx context.Context) int { return work(context.WithoutCancel(ctx), 2) }
""",
    "a variable assigned Background": """
func Start() int {
	ctx := context.Background()
	return work(ctx, 1)
}
""",
    "WithValue of Background": """
type key struct{}

func Start() int {
	ctx := context.WithValue(context.Background(), key{}, "v")
	return work(ctx, 1)
}
""",
    "a caller's parameter whose callers pass Background": """
func relay(ctx context.Context) int { return work(ctx, 1) }
func Start() int { return relay(context.Background()) }
""",
    "a goroutine that captures such a context": """
func Start() {
	ctx := context.Background()
	go func() { work(ctx, 1) }()
}
""",
    "a recursive call passes its own context on": """
func walk(ctx context.Context, n int) int {
	if n == 0 {
		return 0
	}
	return work(ctx, n) + walk(ctx, n-1)
}
func Start() int { return walk(context.Background(), 3) }
""",
    "a method called through an interface": """
type worker interface{ work(ctx context.Context, n int) int }
type impl struct{}

func (impl) work(ctx context.Context, n int) int { return n }
func Start(w worker) int { return w.work(context.Background(), 1) }
""",
    "mentions in comments and strings": """
// work is called once.
func Start() int {
	_ = "work"
	return work(context.Background(), 1)
}
""",
}

MAYBE = {
    "no caller": "",
    "a cancellable context": """
func Start() int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	return work(ctx, 1)
}
""",
    "one caller of two passes its own context": """
func A() int { return work(context.Background(), 1) }
func B(ctx context.Context) int { return work(ctx, 2) }
""",
    "an exported caller's parameter": """
func Relay(ctx context.Context) int { return work(ctx, 1) }
func Start() int { return Relay(context.Background()) }
""",
    "a timeout": """
func Start() int {
	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	return work(ctx, 1)
}
""",
    "the function used as a value": """
func Start(run func(func(context.Context, int) int)) int {
	run(work)
	return work(context.Background(), 1)
}
""",
    "a func literal's parameter": """
func Start(each func(func(context.Context))) {
	each(func(ctx context.Context) { work(ctx, 1) })
}
""",
    "a variable with no value": """
func Start() int {
	var ctx context.Context
	return work(ctx, 1)
}
""",
    "a variable reassigned from a call": """
func Start(open func() (context.Context, error)) int {
	ctx := context.Background()
	ctx, _ = open()
	return work(ctx, 1)
}
""",
    "a package-level context": """
var root = context.Background()

func Start() int { return work(root, 1) }
""",
    "a Background of another package": """
func Start(other interface{ Background() context.Context }) int {
	return work(other.Background(), 1)
}
""",
}


@pytest.mark.parametrize("callers", NEVER.values(), ids=list(NEVER))
def test_never_cancelled_when_every_call_says_so(callers: str) -> None:
    assert _never_cancelled(callers)


@pytest.mark.parametrize("callers", MAYBE.values(), ids=list(MAYBE))
def test_may_be_cancelled_on_any_doubt(callers: str) -> None:
    assert not _never_cancelled(callers)


def test_an_exported_function_has_callers_out_of_sight() -> None:
    callers = "\nfunc Start() int { return Work(context.Background(), 1) }\n"
    assert not _never_cancelled(callers, name="Work")
    # In package main the package is the whole program.
    assert _never_cancelled(callers, name="Work", package="main")


def test_an_exported_method_in_main_may_serve_another_package() -> None:
    work = """package main

import "context"

type Job struct{}

func (Job) Work(ctx context.Context, n int) int { return n }
"""
    callers = "\nfunc run() int { return Job{}.Work(context.Background(), 1) }\n"
    assert not _never_cancelled(callers, name="Work", work=work)


def test_a_reassigned_parameter_may_be_cancelled() -> None:
    work = """package example

import "context"

func work(ctx context.Context, n int) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	_ = ctx
	return n
}
"""
    callers = "\nfunc Start() int { return work(context.Background(), 1) }\n"
    assert not _never_cancelled(callers, work=work)


def test_callers_in_other_files_and_tests_of_the_package_count() -> None:
    start = (
        'package example\n\nimport "context"\n\n'
        "func Start() int { return work(context.Background(), 1) }\n"
    )
    assert _never_cancelled("", siblings={"start.go": start})
    test = (
        'package example\n\nimport "testing"\n\n'
        "func TestWork(t *testing.T) { work(t.Context(), 1) }\n"
    )
    assert not _never_cancelled("", siblings={"start.go": start, "work_test.go": test})


def test_a_long_chain_of_callers_is_left_as_doubt() -> None:
    chain = ["func Start() int { return f0(context.Background()) }"]
    chain += [f"func f{i}(ctx context.Context) int {{ return f{i + 1}(ctx) }}" for i in range(5)]
    chain.append("func f5(ctx context.Context) int { return work(ctx, 1) }")
    assert not _never_cancelled("\n" + "\n".join(chain) + "\n")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["context.Background()", "context.TODO()", "ctx"]), min_size=1))
def test_one_cancellable_argument_is_enough_to_doubt(arguments: list[str]) -> None:
    """Calls from a function whose own context comes from out of sight (exported): the
    answer is True exactly when no call passes that context on."""
    calls = "\n".join(f"\t_ = work({argument}, {i})" for i, argument in enumerate(arguments))
    callers = f"\nfunc Start(ctx context.Context) {{\n{calls}\n}}\n"
    assert _never_cancelled(callers) == ("ctx" not in arguments)
