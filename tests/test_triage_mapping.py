"""Triage's building blocks without Go: frames -> files, lines -> operations and findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.engine import RunOptions, process_file
from codemod.go.parse import parse_source
from codemod.triage.load import is_loopback
from codemod.triage.mapping import Module, Origin, find_module, local_file, origin
from codemod.triage.model import Frame
from codemod.triage.sites import blocking_operation, matching_findings
from tests.cli_support import make_module
from tests.conftest import FIXTURES


@pytest.mark.parametrize(
    ("function", "package"),
    [
        ("example.com/m/pkg.(*Ticker).Run", "example.com/m/pkg"),
        ("example.com/m/pkg.Map[go.shape.int,go.shape.string].func1", "example.com/m/pkg"),
        ("example.com/m/pkg.(*Set[...]).Add", "example.com/m/pkg"),
        ("gopkg.in/yaml%2ev3.(*parser).parse", "gopkg.in/yaml.v3"),
        ("sync.(*WaitGroup).Wait", "sync"),
        ("net/http.(*persistConn).readLoop", "net/http"),
        ("main.main", "main"),
    ],
)
def test_the_package_of_a_function_as_go_names_symbols(function: str, package: str) -> None:
    assert Frame(function, "f.go", 1).package == package


@pytest.fixture
def module(tmp_path: Path) -> Module:
    root = make_module(
        tmp_path / "checkout",
        {
            "pkg/f.go": b"package pkg\n",
            "cmd/tool/main.go": b"// Tool.\npackage main\n",
            "cmd/tool/helper.go": b"package helper\n",
        },
    )
    return find_module(root / "pkg")  # any directory inside the module finds its go.mod


def test_find_module_reads_the_module_path(module: Module, tmp_path: Path) -> None:
    assert module.path == "example.com/m"
    assert module.root == (tmp_path / "checkout").resolve()


@pytest.mark.parametrize(
    ("function", "file", "expected"),
    [
        # this checkout, another machine's checkout, -trimpath
        ("example.com/m/pkg.F", "{root}/pkg/f.go", "pkg/f.go"),
        ("example.com/m/pkg.F", "/home/ci/build/m/pkg/f.go", "pkg/f.go"),
        ("example.com/m/pkg.F", "example.com/m/pkg/f.go", "pkg/f.go"),
        ("example.com/m/pkg_test.TestF", "/elsewhere/pkg/f.go", "pkg/f.go"),
        # package main: by path only, and only into a file that is package main
        ("main.main", "/home/ci/build/m/cmd/tool/main.go", "cmd/tool/main.go"),
        ("main.main", "example.com/m/cmd/tool/main.go", "cmd/tool/main.go"),
        ("main.run", "/home/ci/build/m/cmd/tool/helper.go", None),
        # not the module: the standard library, a dependency, a module with a shared prefix
        ("sync.(*WaitGroup).Wait", "/usr/local/go/src/sync/waitgroup.go", None),
        ("example.com/dep.F", "/root/go/pkg/mod/example.com/dep@v1.0.0/pkg/f.go", None),
        ("example.com/mx/pkg.F", "/build/mx/pkg/f.go", None),
        ("example.com/m/gone.F", "/build/m/gone/f.go", None),
    ],
)
def test_frames_map_to_files_of_the_checkout(
    module: Module, function: str, file: str, expected: str | None
) -> None:
    frame = Frame(function, file.format(root=module.root), 7)
    found = local_file(frame, module)
    assert (found.relative_to(module.root).as_posix() if found else None) == expected


def test_origin_of_frames(module: Module) -> None:
    def kind(function: str) -> Origin:
        return origin(Frame(function, "x.go", 1), module)

    assert kind("example.com/m/pkg.F") is Origin.MODULE
    assert kind("main.main") is Origin.MODULE
    assert kind("internal/sync.runtime_SemacquireMutex") is Origin.STANDARD_LIBRARY
    assert kind("golang.org/x/sync/errgroup.(*Group).Wait") is Origin.DEPENDENCY
    assert kind("example.com/mx.F") is Origin.DEPENDENCY


SOURCE = b"""package p

func f(ch chan int, done chan struct{}, xs []int) int {
\tch <- 1
\tv := <-ch
\tfor x := range ch {
\t\t_ = x
\t}
\tselect {
\tcase <-done:
\t}
\tfor _, x := range xs {
\t\t_ = x
\t}
\tgo func() { ch <- v }()
\treturn len(xs)
}
"""


@pytest.mark.parametrize(
    ("line", "operation"),
    [
        (4, "chan send"),
        (5, "chan receive"),
        (6, "chan receive"),  # parked in a range: over a channel
        (9, "select"),
        (16, None),  # a return parks on nothing
        (15, "chan send"),  # the closure's send: its goroutine parks on this line
    ],
)
def test_the_operation_a_goroutine_parked_on_a_line_waits_in(
    line: int, operation: str | None
) -> None:
    assert blocking_operation(parse_source(SOURCE), line) == operation


@pytest.mark.parametrize(
    ("fixture", "line", "expected"),
    [
        # the finding's range covers the blocked send
        ("ctx-done-arm/method-receiver-send", 14, ["ctx-done-arm"]),
        # the goroutine (a func literal) blocks; the finding is in the enclosing declaration
        ("buffer-orphaned-result/method-timeout", 20, ["buffer-orphaned-result"]),
        # the consumer's range blocks; the unclosing producer is in the same function
        ("close-producer-channel/local-range-consumer", 13, ["close-producer-channel"]),
        # a line outside every declaration with a finding
        ("close-producer-channel/local-range-consumer", 1, []),
    ],
)
def test_findings_that_explain_a_blocked_line(fixture: str, line: int, expected: list[str]) -> None:
    path = FIXTURES / fixture / "before.go"
    result = process_file(path, RunOptions())
    assert result.original is not None
    found = matching_findings(parse_source(result.original), result.findings, line)
    assert [f.transform_id for f in found] == expected


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.10.20.30", True),
        ("::1", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("192.168.1.2", False),
        ("0.0.0.0", False),
        ("example.com", False),
        ("127.0.0.1.nip.io", False),  # a name is never resolved, except localhost
        ("", False),
    ],
)
def test_only_loopback_hosts_are_read(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
