"""Prove under the Go runtime that each fixture's before.go leaks and its after.go does not.

For every case under ``fixtures/<transform>/<case>/`` the harness builds two packages in a
throwaway module: ``<transform>__<case>__before`` (before.go as code.go) and
``<transform>__<case>__after`` (after.go as code.go), each with the case's leak_test.go and
every shared ``fixtures/_leakcheck/*_test.go`` (the witnesses: VerifyNoLeaks for goroutines,
VerifyNoTimerBuildup for timers). Cases are grouped into one module per ``go`` language
version (from the case's go.mod, default 1.22). The go command inherits GOTOOLCHAIN from the
environment, so CI picks the toolchain, not this file, with one exception: Go 1.27 removed
GODEBUG asynctimerchan, so no newer runtime keeps the pre-1.23 timers a module below go 1.23
leaks. Cases whose leak_test.go uses the timers witness run on ``$UNLEAK_TIMER_TOOLCHAIN``
(default: the last Go release line that still has the setting; ``inherit`` keeps
GOTOOLCHAIN), in modules of their own.

The expected output of a case (after.go, or before.go when the case must not change) must
pass ``go vet`` and ``gofmt -l``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from codemod.gomod import required_modules

DEFAULT_GO_VERSION = "1.22"
LEAKCHECK_DIR = Path("_leakcheck")
MODULE_PATH = "unleakproof"
GOLEAK = "go.uber.org/goleak v1.3.0"
TEST_TIMEOUT = "60s"
# Generous: only a wedged toolchain (or a cold module download) gets near it.
COMMAND_TIMEOUT_S = 600

LEAK_LINE = re.compile(r"UNLEAK-LEAK: (goroutineleak profile|goleak|timers):")
WITNESS_LINE = re.compile(r"UNLEAK-WITNESS: runtime=(\S+) goroutineleak=(true|false)")
TIMER_WITNESS_LINE = re.compile(
    r"UNLEAK-WITNESS: runtime=(\S+) timers asynctimerchan=(\S*) "
    r"unreferenced-timers-retained=(true|false)"
)
TIMER_WITNESS_CALL = "VerifyNoTimerBuildup("
TIMER_TOOLCHAIN_ENV = "UNLEAK_TIMER_TOOLCHAIN"
# The last release line with GODEBUG asynctimerchan (removed in Go 1.27).
DEFAULT_TIMER_TOOLCHAIN = "go1.26.8"
GO_DIRECTIVE = re.compile(r"^go\s+(\d+\.\d+(?:\.\d+)?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Case:
    """One fixture directory: fixtures/<transform>/<name>/."""

    transform: str
    name: str
    path: Path

    @property
    def id(self) -> str:
        return f"{self.transform}/{self.name}"

    @property
    def positive(self) -> bool:
        """A case with after.go must be rewritten; without it, it must not change."""
        return (self.path / "after.go").is_file()

    @property
    def refactor(self) -> bool:
        """A rewrite that removes no leak in this very code (it prevents a kind of mistake):
        refactor.md says why; its leak_test must pass on both sides."""
        return (self.path / "refactor.md").is_file()

    @property
    def reported(self) -> bool:
        """A report-only case whose before.go leaks: the report is real, and reported.md says
        why there is no rewrite. Its leak_test must show the leak."""
        return not self.positive and (self.path / "reported.md").is_file()

    @property
    def keeps_running(self) -> bool:
        """Its leaked goroutine never blocks (it sleeps and works for ever): goleak sees it,
        the goroutineleak profile (goroutines blocked for ever) cannot; keeps-running.md says
        why."""
        return (self.path / "keeps-running.md").is_file()

    @property
    def has_leak_test(self) -> bool:
        return (self.path / "leak_test.go").is_file()

    @property
    def uses_timer_witness(self) -> bool:
        """Its leak_test.go calls VerifyNoTimerBuildup: it must run where old timers exist."""
        test = self.path / "leak_test.go"
        return test.is_file() and TIMER_WITNESS_CALL in test.read_text()

    @property
    def expected_output(self) -> Path:
        return self.path / ("after.go" if self.positive else "before.go")

    @property
    def go_version(self) -> str:
        gomod = self.path / "go.mod"
        if gomod.is_file() and (m := GO_DIRECTIVE.search(gomod.read_text())):
            return m.group(1)
        return DEFAULT_GO_VERSION

    def package_dir(self, side: str) -> str:
        return f"{self.transform}__{self.name}__{side}"


@dataclass(frozen=True)
class PackageRun:
    """The outcome of `go test` on one package, as read from its -json events."""

    passed: bool
    output: str

    @property
    def leak_witnesses(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(LEAK_LINE.findall(self.output)))

    @property
    def leaked(self) -> bool:
        """A failure only counts as a leak when a runtime witness said so."""
        return not self.passed and bool(self.leak_witnesses)

    @property
    def runtime(self) -> str | None:
        m = WITNESS_LINE.search(self.output) or TIMER_WITNESS_LINE.search(self.output)
        return m.group(1) if m else None

    @property
    def witness_ran(self) -> bool:
        """Some witness (goroutines or timers) ran and said which runtime it was on."""
        return self.runtime is not None

    @property
    def unreferenced_timers_retained(self) -> bool | None:
        """Whether the runtime kept timers nothing referenced (pre-1.23 timers); None if the
        timers witness never ran."""
        m = TIMER_WITNESS_LINE.search(self.output)
        return m.group(3) == "true" if m else None

    @property
    def profile_available(self) -> bool | None:
        """Whether pprof.Lookup("goroutineleak") was non-nil; None if the helper never ran."""
        m = WITNESS_LINE.search(self.output)
        return m.group(2) == "true" if m else None


@dataclass(frozen=True)
class CaseProof:
    case: Case
    toolchain: str  # `go env GOVERSION` in the proof module, e.g. "go1.27.3"
    before: PackageRun | None  # None when the case has no leak_test.go
    after: PackageRun | None  # None for must-not-change cases
    vet_ok: bool
    vet_output: str
    gofmt_ok: bool
    gofmt_output: str
    setup_output: str  # `go mod tidy` output when it failed, else ""

    @property
    def before_leaked(self) -> bool:
        return self.before is not None and self.before.leaked

    @property
    def before_passed(self) -> bool:
        return self.before is not None and self.before.passed

    @property
    def after_clean(self) -> bool:
        return self.after is not None and self.after.passed

    @property
    def output(self) -> str:
        """Everything the go command said about this case, for failure messages."""
        parts = [f"toolchain: {self.toolchain}"]
        if self.setup_output:
            parts.append(f"--- go mod tidy\n{self.setup_output}")
        if self.before is not None:
            parts.append(f"--- go test (before.go)\n{self.before.output}")
        if self.after is not None:
            parts.append(f"--- go test (after.go)\n{self.after.output}")
        if self.vet_output:
            parts.append(f"--- go vet\n{self.vet_output}")
        if self.gofmt_output:
            parts.append(f"--- gofmt -l\n{self.gofmt_output}")
        return "\n".join(parts)


def go_binary() -> str | None:
    return shutil.which("go")


def find_cases(fixtures_root: Path) -> list[Case]:
    """Every fixtures/<transform>/<case>/ holding a before.go; `_` and `.` dirs are not cases."""

    def subdirs(path: Path) -> list[Path]:
        return sorted(p for p in path.iterdir() if p.is_dir() and p.name[0] not in "_.")

    return [
        Case(transform.name, case.name, case)
        for transform in subdirs(fixtures_root)
        for case in subdirs(transform)
        if (case / "before.go").is_file()
    ]


def prove(fixtures_root: Path) -> dict[str, CaseProof]:
    """Run every case under the Go runtime; keys are Case.id."""
    go = go_binary()
    if go is None:
        raise RuntimeError("go is not on PATH")
    fixtures_root = fixtures_root.resolve()  # the go commands run from the temp module
    helpers = sorted((fixtures_root / LEAKCHECK_DIR).glob("*_test.go"))
    timer_toolchain = timer_toolchain_from_env()
    # (go version, toolchain override) -> cases; None keeps the environment's GOTOOLCHAIN.
    by_module: dict[tuple[str, str | None], list[Case]] = defaultdict(list)
    for case in find_cases(fixtures_root):
        toolchain = timer_toolchain if case.uses_timer_witness else None
        by_module[(case.go_version, toolchain)].append(case)

    proofs: dict[str, CaseProof] = {}
    with (
        tempfile.TemporaryDirectory(prefix="unleakproof-") as tmp,
        ThreadPoolExecutor() as pool,
    ):
        runs = [
            pool.submit(
                _prove_module,
                go,
                Path(tmp) / (f"go{version}" + (f"-on-{toolchain}" if toolchain else "")),
                version,
                cases,
                helpers,
                toolchain,
            )
            for (version, toolchain), cases in sorted(
                by_module.items(), key=lambda item: (item[0][0], item[0][1] or "")
            )
        ]
        for run in runs:
            proofs.update(run.result())
    return proofs


def timer_toolchain_from_env() -> str | None:
    """The GOTOOLCHAIN for timers-witness cases; None (`inherit`) keeps the environment's."""
    value = os.environ.get(TIMER_TOOLCHAIN_ENV, DEFAULT_TIMER_TOOLCHAIN).strip()
    return None if value in ("", "inherit") else value


def _prove_module(
    go: str,
    root: Path,
    go_version: str,
    cases: list[Case],
    helpers: list[Path],
    toolchain_override: str | None = None,
) -> dict[str, CaseProof]:
    _write_module(root, go_version, cases, helpers)

    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        return _run(argv, root, toolchain_override)

    toolchain = run([go, "env", "GOVERSION"]).stdout.strip()
    tidy = run([go, "mod", "tidy"])
    setup_output = "" if tidy.returncode == 0 else tidy.stdout + tidy.stderr

    expected_dirs = {c.id: c.package_dir("after" if c.positive else "before") for c in cases}
    vet = run([go, "vet", *(f"./{d}" for d in expected_dirs.values())])
    gofmt = _gofmt(go, root, toolchain_override)
    listed = run([gofmt, "-l", *(str(c.expected_output) for c in cases)])
    unformatted = set(listed.stdout.splitlines())
    test = run([go, "test", "-json", "-count=1", f"-timeout={TEST_TIMEOUT}", "./..."])
    packages = _parse_test_json(test.stdout.splitlines())

    def package_run(case: Case, side: str) -> PackageRun | None:
        if not case.has_leak_test or (side == "after" and not case.positive):
            return None
        # A package missing from the event stream means `go test` died first; show why.
        return packages.get(
            f"{MODULE_PATH}/{case.package_dir(side)}", PackageRun(False, test.stderr)
        )

    proofs = {}
    for case in cases:
        vet_ok, vet_output = _vet_verdict(vet, expected_dirs[case.id], expected_dirs.values())
        proofs[case.id] = CaseProof(
            case=case,
            toolchain=toolchain,
            before=package_run(case, "before"),
            after=package_run(case, "after"),
            vet_ok=vet_ok and not setup_output,
            vet_output=vet_output,
            gofmt_ok=listed.returncode == 0 and str(case.expected_output) not in unformatted,
            gofmt_output=_gofmt_complaint(gofmt, listed, case.expected_output, unformatted),
            setup_output=setup_output,
        )
    return proofs


def _write_module(root: Path, go_version: str, cases: Iterable[Case], helpers: list[Path]) -> None:
    root.mkdir(parents=True)
    cases = list(cases)
    # A case's go.mod may require modules its after.go imports (e.g. golang.org/x/sync).
    requires = {GOLEAK} | {
        f"{module} {version}"
        for case in cases
        if (case.path / "go.mod").is_file()
        for module, version in required_modules((case.path / "go.mod").read_text()).items()
    }
    require_lines = "".join(f"require {line}\n" for line in sorted(requires))
    (root / "go.mod").write_text(f"module {MODULE_PATH}\n\ngo {go_version}\n\n{require_lines}")
    for case in cases:
        sides = {"before": case.path / "before.go"}
        if case.positive:
            sides["after"] = case.path / "after.go"
        for side, code in sides.items():
            pkg = root / case.package_dir(side)
            pkg.mkdir()
            shutil.copyfile(code, pkg / "code.go")
            for sibling in sorted((case.path / "package").glob("*.go")):
                shutil.copyfile(sibling, pkg / sibling.name)  # the rest of the package
            if case.has_leak_test:
                shutil.copyfile(case.path / "leak_test.go", pkg / "leak_test.go")
                for helper in helpers:
                    shutil.copyfile(helper, pkg / helper.name)


def _gofmt(go: str, root: Path, toolchain_override: str | None = None) -> str:
    """The gofmt of the toolchain GOTOOLCHAIN selected, not whichever is first on PATH."""
    goroot = _run([go, "env", "GOROOT"], root, toolchain_override).stdout.strip()
    candidate = Path(goroot) / "bin" / "gofmt"
    return str(candidate) if candidate.is_file() else "gofmt"


def _gofmt_complaint(
    gofmt: str, listed: subprocess.CompletedProcess[str], path: Path, unformatted: set[str]
) -> str:
    """What is wrong with path's formatting: gofmt's diff, or gofmt's own error."""
    if str(path) in unformatted:
        return _run([gofmt, "-d", str(path)], path.parent).stdout
    return listed.stderr if listed.returncode != 0 else ""


def _run(
    argv: list[str], cwd: Path, toolchain_override: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if toolchain_override is not None:
        env["GOTOOLCHAIN"] = toolchain_override
    # tidy may need to write go.sum; a go.work above the temp dir must not capture the module.
    env["GOFLAGS"] = f"{env.get('GOFLAGS', '')} -mod=mod".strip()
    env["GOWORK"] = "off"
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S
    )


def _vet_verdict(
    vet: subprocess.CompletedProcess[str], package_dir: str, all_dirs: Iterable[str]
) -> tuple[bool, str]:
    """Whether one package passed a `go vet` run over several, and what vet said about it."""
    if vet.returncode == 0:
        return True, ""
    output = vet.stdout + vet.stderr
    if mine := _lines_about(output, package_dir):
        return False, mine
    # A failure that names no package (bad flag, broken toolchain) fails every case.
    attributed = any(_lines_about(output, d) for d in all_dirs)
    return attributed, "" if attributed else output


def _lines_about(output: str, package_dir: str) -> str:
    """The lines of go vet output that name package_dir (as a path or an import path)."""
    about = re.compile(rf"(?<![\w.-]){re.escape(package_dir)}(?:/|$|\s)")
    return "".join(line for line in output.splitlines(keepends=True) if about.search(line))


def _parse_test_json(lines: Iterable[str]) -> dict[str, PackageRun]:
    """Package import path -> result, from `go test -json` (test2json) events."""
    outputs: dict[str, list[str]] = defaultdict(list)
    results: dict[str, bool] = {}
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        # Build failures arrive as build-output events keyed by ImportPath ("pkg [pkg.test]").
        package = event.get("Package") or event.get("ImportPath", "").split(" ")[0]
        action = event.get("Action")
        if action in ("output", "build-output"):
            outputs[package].append(event.get("Output", ""))
        elif action in ("pass", "fail", "skip") and not event.get("Test"):
            results[package] = action == "pass"
    return {
        package: PackageRun(passed, "".join(outputs[package]))
        for package, passed in results.items()
    }
