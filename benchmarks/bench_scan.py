#!/usr/bin/env python3
"""Benchmark `unleak scan` and `unleak fix --dry-run` on real Go code from the module proxy.

    python3 benchmarks/bench_scan.py                       # etcd server, best of 3
    python3 benchmarks/bench_scan.py --module k8s.io/kubernetes@v1.31.0 --runs 5

Each module is fetched with `go mod download -json MODULE@VERSION` into a module cache under
benchmarks/.corpus/ (ignored by git; `-modcacherw` keeps the files writable, so plain `rm -rf`
cleans up). For every module it measures, in fresh processes ("cold": nothing cached in the
interpreter; the OS page cache is warm after the first run):

* `unleak scan --jobs J` and `unleak fix --dry-run --jobs J`: best and median wall time of N runs,
  MB/s and files/s over the Go source unleak discovers, and the peak RSS of the largest process
  of the run (the CLI or one of its workers, from wait4(2));
* a bare py-tree-sitter parse of the files unleak parses (discovered, not skipped), in this
  process, as the floor that the analysis is compared with ("x bare").

This is a script, not a test: pytest does not collect it and nothing in CI runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO / "benchmarks" / ".corpus"
DEFAULT_MODULE = "go.etcd.io/etcd/server/v3@v3.7.3"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Corpus:
    module: str
    root: Path
    files: int  # what unleak discovers (vendor/, testdata/, gitignored files excluded)
    total_bytes: int
    readable: tuple[Path, ...]  # discovered and not skipped (generated, binary, ...)
    readable_bytes: int
    candidates: tuple[Path, ...]  # readable and matched by some transform's prefilter
    candidate_bytes: int


@dataclass(frozen=True)
class Timing:
    label: str
    walls: tuple[float, ...]
    files: int  # the work done, for files/s and MiB/s; 0 for the startup row
    size: int
    peak_rss_kib: int = 0
    cpu: float = 0.0  # user + system seconds of the best run, workers included
    exit_code: int | None = None
    summary: str = ""

    @property
    def best(self) -> float:
        return min(self.walls)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)


def corpus_env(corpus_dir: Path) -> dict[str, str]:
    """The environment for unleak and discovery inside the corpus.

    The corpus lives in a gitignored folder of this repository, and unleak's discovery skips
    files git ignores: without a ceiling, git would find this repository and hide every file.
    """
    env = dict(os.environ)
    ceilings = [str(corpus_dir.resolve())]
    if env.get("GIT_CEILING_DIRECTORIES"):
        ceilings.append(env["GIT_CEILING_DIRECTORIES"])
    env["GIT_CEILING_DIRECTORIES"] = os.pathsep.join(ceilings)
    # Benchmark this checkout, whichever copy of unleak happens to be installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def fetch(module: str, corpus_dir: Path) -> Path:
    """`go mod download` one module into the corpus's own module cache; returns its directory."""
    if "@" not in module:
        raise SystemExit(f"bench_scan: --module needs MODULE@VERSION, got {module!r}")
    corpus_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["GOMODCACHE"] = str((corpus_dir / "gomodcache").resolve())
    env["GOFLAGS"] = (env.get("GOFLAGS", "") + " -modcacherw").strip()
    env["GO111MODULE"] = "on"
    started = time.perf_counter()
    completed = subprocess.run(
        ["go", "mod", "download", "-json", module],
        cwd=corpus_dir,  # no go.mod here: the download does not touch any module's go.sum
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        info = json.loads(completed.stdout)
    except json.JSONDecodeError:
        info = {}
    if completed.returncode != 0 or "Dir" not in info:
        detail = info.get("Error") or completed.stderr.strip() or f"exit {completed.returncode}"
        raise SystemExit(f"bench_scan: cannot download {module}: {detail}")
    elapsed = time.perf_counter() - started
    print(f"fetched {module} -> {info['Dir']} ({elapsed:.1f}s)", file=sys.stderr)
    return Path(info["Dir"])


def describe(module: str, root: Path, corpus_dir: Path) -> Corpus:
    """Count the files exactly as unleak discovers and reads them."""
    from codemod.discover import discover
    from codemod.engine import RunOptions, Unusable, read_go_file, selected_transforms

    os.environ["GIT_CEILING_DIRECTORIES"] = corpus_env(corpus_dir)["GIT_CEILING_DIRECTORIES"]
    files = discover([str(root)]).files
    transforms = selected_transforms(RunOptions())
    readable: list[Path] = []
    candidates: list[Path] = []
    for path in files:
        source = read_go_file(path)
        if isinstance(source, Unusable):
            continue
        readable.append(path)
        if any(t.may_match(source) for t in transforms):
            candidates.append(path)
    return Corpus(
        module=module,
        root=root,
        files=len(files),
        total_bytes=_size(files),
        readable=tuple(readable),
        readable_bytes=_size(readable),
        candidates=tuple(candidates),
        candidate_bytes=_size(candidates),
    )


def _size(paths: Sequence[Path]) -> int:
    return sum(p.stat().st_size for p in paths)


def bare_parse(label: str, paths: Sequence[Path], runs: int) -> Timing:
    """Read and parse every file with py-tree-sitter in this process: the floor for unleak."""
    import tree_sitter_go
    from tree_sitter import Language, Parser

    parser = Parser(Language(tree_sitter_go.language()))
    walls: list[float] = []
    best_cpu = 0.0
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        for path in paths:
            parser.parse(path.read_bytes())
        wall = time.perf_counter() - started
        if not walls or wall < min(walls):
            best_cpu = time.process_time() - cpu_started
        walls.append(wall)
    return Timing(label, tuple(walls), len(paths), _size(paths), cpu=best_cpu)


# Runs the measured command as its own child and reports wall time and that child's peak RSS.
# Not measured from this process: a child forked from here starts with (and wait4 reports) this
# process's RSS, which grows with the parsed trees; this small, fresh helper does not.
_MEASURE = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
rss = usage.ru_maxrss // (1024 if sys.platform == "darwin" else 1)
cpu = usage.ru_utime + usage.ru_stime
sys.stderr.write(f"\\n@bench-scan@ {wall} {rss} {cpu}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""
_MARKER = "@bench-scan@ "


def run_timed(
    label: str, command: Sequence[str], env: dict[str, str], runs: int, corpus: Corpus | None
) -> Timing:
    """Best of `runs` fresh processes; peak RSS of the largest process of the run (wait4)."""
    walls: list[float] = []
    peak = 0
    best_cpu = 0.0
    exit_code: int | None = None
    summary = ""
    for _ in range(runs):
        completed = subprocess.run(
            [sys.executable, "-I", "-S", "-c", _MEASURE, *command],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        exit_code = completed.returncode
        lines = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        if not lines or not lines[-1].startswith(_MARKER):
            raise SystemExit(f"bench_scan: {label}: no measurement (exit {exit_code})")
        wall, rss, cpu = lines.pop().removeprefix(_MARKER).split()
        if not walls or float(wall) < min(walls):
            best_cpu = float(cpu)
        walls.append(float(wall))
        peak = max(peak, int(rss))
        messages = [line for line in lines if line.strip()]
        summary = messages[-1].removeprefix("unleak: ") if messages else ""
    files, size = (corpus.files, corpus.total_bytes) if corpus else (0, 0)
    return Timing(label, tuple(walls), files, size, peak, best_cpu, exit_code, summary)


def measure(corpus: Corpus, unleak: Sequence[str], args: argparse.Namespace) -> list[Timing]:
    env = corpus_env(args.corpus)
    target = str(corpus.root)
    timings = [
        bare_parse("bare parse: all readable files", corpus.readable, args.runs),
        bare_parse("bare parse: prefiltered files", corpus.candidates, args.runs),
    ]
    version = [*unleak, "--version"]
    timings.append(run_timed("unleak --version (startup)", version, env, args.runs, None))
    # Cold: --no-cache, so every run analyses every file; warm: the cache the first run filled.
    commands = [("scan (cold)", ["scan", "--no-cache"]), ("scan (warm cache)", ["scan"])]
    if not args.no_fix:
        commands.append(("fix --dry-run", ["fix", "--dry-run"]))
    for name, command in commands:
        for jobs in args.jobs:
            full = [*unleak, *command, "--color", "never", "--jobs", str(jobs), target]
            timings.append(run_timed(f"unleak {name} --jobs {jobs}", full, env, args.runs, corpus))
    return timings


def report(corpus: Corpus, timings: Sequence[Timing], runs: int) -> None:
    print(f"\n## {corpus.module}  ({corpus.root})")
    print(
        f"discovered {corpus.files} Go files, {corpus.total_bytes / MIB:.2f} MiB; "
        f"readable (not generated/skipped) {len(corpus.readable)} files, "
        f"{corpus.readable_bytes / MIB:.2f} MiB; matching a prefilter {len(corpus.candidates)} "
        f"files, {corpus.candidate_bytes / MIB:.2f} MiB. Best of {runs} runs."
    )
    print("unleak rows: throughput over all discovered files; x bare: vs the first row.")
    bare = timings[0].best
    header = (
        f"{'case':34} {'best s':>7} {'median s':>8} {'cpu s':>6} {'MiB/s':>7} {'files/s':>8} "
        f"{'x bare':>6} {'RSS MiB':>7} {'exit':>4}"
    )
    print(header)
    print("-" * len(header))
    for t in timings:
        mib_s = f"{t.size / MIB / t.best:.2f}" if t.files else "-"
        files_s = f"{t.files / t.best:.0f}" if t.files else "-"
        rss = f"{t.peak_rss_kib / 1024:.0f}" if t.peak_rss_kib else "-"
        code = "-" if t.exit_code is None else str(t.exit_code)
        print(
            f"{t.label:34} {t.best:7.2f} {t.median:8.2f} {t.cpu:6.2f} {mib_s:>7} {files_s:>8} "
            f"{t.best / bare:6.2f} {rss:>7} {code:>4}"
        )
    for t in timings:
        if t.summary:
            print(f"  {t.label}: {t.summary}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="MODULE@VERSION",
        help=f"another module to benchmark (repeatable); {DEFAULT_MODULE} is always first",
    )
    parser.add_argument("--no-default", action="store_true", help=f"skip {DEFAULT_MODULE}")
    parser.add_argument("--runs", type=int, default=3, help="runs per case; best is reported")
    parser.add_argument(
        "--jobs",
        type=lambda text: [int(j) for j in text.split(",")],
        default=[1, 2],
        help="comma-separated --jobs values (default: 1,2)",
    )
    parser.add_argument("--no-fix", action="store_true", help="do not time `fix --dry-run`")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="download folder")
    parser.add_argument(
        "--unleak",
        default=f"{shlex.quote(sys.executable)} -m codemod.cli",
        help="the command to benchmark (default: this interpreter, skipping the pyenv shims)",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or any(j < 1 for j in args.jobs):
        parser.error("--runs and --jobs must be positive")
    args.modules = ([] if args.no_default else [DEFAULT_MODULE]) + args.module
    if not args.modules:
        parser.error("no module to benchmark")
    return args


def warn_if_busy() -> None:
    """Wall times mean little on a loaded machine; the cpu column is less sensitive to it."""
    cpus = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > cpus / 2:
        print(
            f"bench_scan: warning: load average {load:.1f} on {cpus} CPUs; "
            "wall times will be inflated (compare the cpu column)",
            file=sys.stderr,
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    warn_if_busy()
    unleak = shlex.split(args.unleak)
    sys.path.insert(0, str(REPO))  # the codemod package, even when not installed
    for module in args.modules:
        root = fetch(module, args.corpus)
        corpus = describe(module, root, args.corpus)
        if corpus.files == 0:
            print(f"bench_scan: no Go files under {root}", file=sys.stderr)
            continue
        report(corpus, measure(corpus, unleak, args), args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
