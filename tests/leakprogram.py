"""Build a real leaking Go program from fixture code and collect every report triage reads.

The module (path ``example.com/shop``, in a folder named otherwise) copies a few fixtures'
``before.go`` into packages, plus one leak no transform knows (a lost mutex). ``cmd/leaky``
starts each leak, waits for the goroutines to block and then writes, on request, the
goroutineleak profile (text and gzip-compressed profile.proto), goroutine dumps (debug=1,
debug=2, proto), a panic traceback (GOTRACEBACK=all) or serves net/http/pprof on loopback.
``orders/leak_test.go`` fails under goleak. Everything is built in a temporary directory.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import FIXTURES

MODULE_PATH = "example.com/shop"
GOLEAK = "go.uber.org/goleak v1.3.0"
COMMAND_TIMEOUT_S = 300
LEAK_PROFILE_TOOLCHAIN = "go1.27.3"

# package directory -> the fixture whose before.go it holds
PACKAGES = {
    "orders": "ctx-done-arm/method-receiver-send",
    "ping": "buffer-orphaned-result/method-timeout",
    "squares": "close-producer-channel/local-range-consumer",
    "tally": "waitgroup-misuse/done-skipped-by-return",
    "replies": "range-unclosed-channel/report-only-no-waitgroup",
}

# A leak no transform rewrites: a goroutine waits for a mutex nobody will unlock.
STUCK = """package stuck

import "sync"

// Guarded starts a worker that needs a lock its caller forgot to release.
func Guarded(work func()) {
	var mu sync.Mutex
	mu.Lock()
	go func() {
		mu.Lock()
		defer mu.Unlock()
		work()
	}()
}

// Feed hands updates to its listeners.
type Feed struct {
	updates chan string
}

// Listen starts handing each update to handle.
func (f *Feed) Listen(handle func(string)) {
	go func() {
		for u := range f.updates {
			handle(u)
		}
	}()
}
"""

MAIN = """package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"runtime/pprof"
	"time"

	orders "example.com/shop/orders"
	ping "example.com/shop/ping"
	replies "example.com/shop/replies"
	squares "example.com/shop/squares"
	"example.com/shop/stuck"
	tally "example.com/shop/tally"
)

func leak() {
	// ctx-done-arm: the consumer cancels and stops reading; Run stays blocked sending.
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		events := make(chan int)
		go (&orders.Ticker{}).Run(ctx, events)
		<-events
		cancel()
	}
	// buffer-orphaned-result: Ping gives up; the dial's result has no receiver.
	release := make(chan struct{})
	p := &ping.Pinger{Dial: func() error { <-release; return nil }, Timeout: time.Millisecond}
	if err := p.Ping(); !errors.Is(err, ping.ErrTimeout) {
		panic(err)
	}
	close(release)
	// close-producer-channel: the range over squares never ends.
	go squares.SumOfSquares([]int{1, 2, 3})
	// waitgroup-misuse: wg.Done skipped by an early return; Wait never returns.
	go tally.SumValid([]string{"1", "two", "3"})
	// range-unclosed-channel (report only): nothing can close replies.
	go replies.Ping([]string{"a", "b"}, func(h string) string { return h })
	// no transform: a lock that is never released.
	stuck.Guarded(func() {})
	(&stuck.Feed{}).Listen(func(string) {})
	time.Sleep(100 * time.Millisecond)
}

func write(name, profile string, debug int) {
	f, err := os.Create(name)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if err := pprof.Lookup(profile).WriteTo(f, debug); err != nil {
		panic(err)
	}
}

func main() {
	out := flag.String("out", "", "write the reports into this directory")
	serve := flag.Bool("serve", false, "serve net/http/pprof on 127.0.0.1 and print the address")
	clean := flag.Bool("noleak", false, "start no leak (reports with nothing blocked)")
	crash := flag.Bool("panic", false, "panic once leaked (GOTRACEBACK=all dumps every goroutine)")
	flag.Parse()
	if !*clean {
		leak()
	}
	if *out != "" {
		// The leak profile first: writing it marks the leaked goroutines in later dumps.
		write(*out+"/goroutineleak.txt", "goroutineleak", 1)
		write(*out+"/goroutineleak.pb.gz", "goroutineleak", 0)
		write(*out+"/goroutine-debug2.txt", "goroutine", 2)
		write(*out+"/goroutine-debug1.txt", "goroutine", 1)
		write(*out+"/goroutine.pb.gz", "goroutine", 0)
	}
	if *crash {
		panic("giving up")
	}
	if *serve {
		serveDebug()
	}
}
"""

# net/http/pprof in a file of its own: the -trimpath build leaves it out (-tags noserve),
# which spares compiling net/http and crypto/tls a second time, with -trimpath.
SERVE = """//go:build !noserve

package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
)

func serveDebug() {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("http://%s\\n", listener.Addr())
	panic(http.Serve(listener, nil))
}
"""

NO_SERVE = """//go:build noserve

package main

func serveDebug() { panic("built with -tags noserve") }
"""

LEAK_TEST = """package fixture

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

func TestTickerStops(t *testing.T) {
	defer goleak.VerifyNone(t)
	for i := 0; i < 2; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		events := make(chan int)
		go (&Ticker{}).Run(ctx, events)
		<-events
		cancel()
	}
}
"""


REPORT_FILES = {
    "goroutineleak.txt": "goroutineleak profile, debug=1",
    "goroutineleak.pb.gz": "goroutineleak profile, profile.proto",
    "goroutine-debug2.txt": "goroutine dump, debug=2",
    "goroutine-debug1.txt": "goroutine profile, debug=1",
    "goroutine.pb.gz": "goroutine profile, profile.proto",
}


@dataclass(frozen=True)
class LeakProgram:
    """The module's source tree, and the two builds of cmd/leaky."""

    source: Path  # the module root (its folder is not named after the module path)
    binary: Path  # built with absolute paths in its stacks
    trimpath_binary: Path  # built with -trimpath: stacks say example.com/shop/...
    go: str
    env: dict[str, str]  # GOTOOLCHAIN and friends for every go command

    def command(self, *args: str, trimpath: bool = False) -> list[str]:
        return [str(self.trimpath_binary if trimpath else self.binary), *args]

    def run(
        self, *args: str, trimpath: bool = False, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args, trimpath=trimpath),
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            env={**os.environ, **(env or {})},
            check=False,
        )

    def write_reports(self, directory: Path, *flags: str, trimpath: bool = False) -> Path:
        """Every profile and dump of one run, as REPORT_FILES names them, in directory."""
        directory.mkdir(parents=True, exist_ok=True)
        completed = self.run("-out", str(directory), *flags, trimpath=trimpath)
        assert completed.returncode == 0, completed.stderr
        return directory

    def goleak_output(self) -> str:
        """`go test` output of a test that goleak fails."""
        completed = go_command(self, ["test", "-count=1", "-vet=off", "./orders/"], self.source)
        output = completed.stdout + completed.stderr
        assert "found unexpected goroutines" in output, output
        return output

    def panic_traceback(self) -> str:
        completed = self.run("-panic", env={"GOTRACEBACK": "all"})
        assert completed.returncode == 2 and "panic: giving up" in completed.stderr
        return completed.stderr

    def rebuild(self, root: Path) -> Path:
        """cmd/leaky built again from root (a patched copy of the source)."""
        binary = root / "leaky-rebuilt"
        completed = go_command(self, ["build", "-o", str(binary), "./cmd/leaky"], root)
        assert completed.returncode == 0, completed.stderr
        return binary


@dataclass(frozen=True)
class Reports:
    """Real reports of one program run each, collected once per test session."""

    program: LeakProgram
    plain: Path  # REPORT_FILES of the absolute-path build
    trimpath: Path  # REPORT_FILES of the -trimpath build
    clean: Path  # REPORT_FILES of a run that leaks nothing
    goleak: Path  # go test output with goleak's failure
    panic: Path  # a panic traceback with GOTRACEBACK=all


def go_command(
    program: LeakProgram | None, argv: list[str], cwd: Path, go: str = "go"
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **(program.env if program else toolchain_env(go))}
    env["GOFLAGS"] = f"{env.get('GOFLAGS', '')} -mod=mod".strip()
    env["GOWORK"] = "off"
    return subprocess.run(
        [program.go if program else go, *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def toolchain_env(go: str) -> dict[str, str]:
    """Go 1.27 or newer: the goroutineleak profile exists from 1.27 on."""
    version = subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S
    ).stdout.strip()
    match = re.match(r"go1\.(\d+)", version)
    if match and int(match.group(1)) >= 27:
        return {}
    return {"GOTOOLCHAIN": LEAK_PROFILE_TOOLCHAIN}


def write_module(root: Path) -> Path:
    """The leaking module's source, in root/shop-src (not named after example.com/shop)."""
    source = root / "shop-src"
    source.mkdir(parents=True)
    (source / "go.mod").write_text(f"module {MODULE_PATH}\n\ngo 1.22\n\nrequire {GOLEAK}\n")
    for package, fixture in PACKAGES.items():
        (source / package).mkdir()
        shutil.copyfile(FIXTURES / fixture / "before.go", source / package / "code.go")
    (source / "orders" / "leak_test.go").write_text(LEAK_TEST)
    (source / "stuck").mkdir()
    (source / "stuck" / "stuck.go").write_text(STUCK)
    (source / "cmd" / "leaky").mkdir(parents=True)
    (source / "cmd" / "leaky" / "main.go").write_text(MAIN)
    (source / "cmd" / "leaky" / "serve.go").write_text(SERVE)
    (source / "cmd" / "leaky" / "noserve.go").write_text(NO_SERVE)
    return source


def build(root: Path, go: str) -> LeakProgram:
    source = write_module(root)
    program = LeakProgram(
        source, root / "bin" / "leaky", root / "bin" / "leaky-trimpath", go, toolchain_env(go)
    )
    steps = [
        ["mod", "tidy"],
        ["build", "-o", str(program.binary), "./cmd/leaky"],
        [
            "build",
            "-trimpath",
            "-tags",
            "noserve",
            "-o",
            str(program.trimpath_binary),
            "./cmd/leaky",
        ],
    ]
    for argv in steps:
        completed = go_command(program, argv, source)
        assert completed.returncode == 0, f"go {' '.join(argv)}:\n{completed.stderr}"
    return program


_COLLECTED: dict[Path, Reports] = {}


def collect(root: Path, go: str) -> Reports:
    """Build the program under root and write every report (once per root)."""
    if root not in _COLLECTED:
        program = build(root, go)
        goleak = root / "goleak.txt"
        goleak.write_text(program.goleak_output())
        panic = root / "panic.txt"
        panic.write_text(program.panic_traceback())
        _COLLECTED[root] = Reports(
            program=program,
            plain=program.write_reports(root / "reports"),
            trimpath=program.write_reports(root / "reports-trimpath", trimpath=True),
            clean=program.write_reports(root / "reports-clean", "-noleak"),
            goleak=goleak,
            panic=panic,
        )
    return _COLLECTED[root]
