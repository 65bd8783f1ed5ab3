#!/usr/bin/env python3
"""Compare `unleak scan` (cold and warm cache) with an ast-grep scan of the same Go files.

    pip install ast-grep-cli
    python3 benchmarks/bench_astgrep.py                    # kubernetes v1.31.0, best of 3
    python3 benchmarks/bench_astgrep.py --module go.etcd.io/etcd/server/v3@v3.7.3 --runs 5

The module is fetched as bench_scan.py fetches it (the module proxy, into benchmarks/.corpus/).
ast-grep gets the exact list of files unleak discovers, and a handful of YAML rules roughly
equivalent to unleak's prefilters: `go func(...) {...}(...)`, `time.After`, `time.Tick`,
`context.Background/TODO`, `make(chan T[, n])`, `context.With{Cancel,Timeout,Deadline}` and
`x.Add(n)`. ast-grep only matches patterns: it does no data-flow analysis and offers no fix, so
its count of matches is printed for scale, not as a comparison of findings.

Rows, each the best of N fresh processes (wall time, MB/s with MB = 10^6 bytes over all
discovered files, peak RSS of the largest process):

* unleak scan --no-cache            cold: every file read, prefiltered, parsed and matched;
* unleak scan, empty cache          cold, and writing one cache entry per file;
* unleak scan, warm cache           every file read and hashed, its findings read back;
* ast-grep scan --threads J         cold (ast-grep keeps no cache).

Targets (from the issue): cold unleak >= 8 MB/s; warm unleak >= 5x faster than ast-grep's cold
scan; peak RSS < 1 GiB. The cache lives in a scratch $XDG_CACHE_HOME under the corpus folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scan import (
    DEFAULT_CORPUS,
    REPO,
    Corpus,
    Timing,
    corpus_env,
    describe,
    fetch,
    run_timed,
)

DEFAULT_MODULE = "k8s.io/kubernetes@v1.31.0"
MB = 1_000_000
GIB_KIB = 1024 * 1024

# `time.After($D)` alone parses as a type conversion in tree-sitter-go, so single-argument
# calls are matched through a function-body context with a call_expression selector.
RULES = """
id: go-func-literal
language: go
rule: {pattern: "go func($$$) { $$$ }($$$)"}
---
id: time-after
language: go
rule:
  pattern: {context: "func _() { time.After($D) }", selector: call_expression}
---
id: time-tick
language: go
rule:
  pattern: {context: "func _() { time.Tick($D) }", selector: call_expression}
---
id: context-background
language: go
rule:
  any: [{pattern: "context.Background()"}, {pattern: "context.TODO()"}]
---
id: make-chan
language: go
rule:
  any: [{pattern: "make(chan $T)"}, {pattern: "make(chan $T, $N)"}]
---
id: context-with-cancel
language: go
rule:
  any:
    - pattern: {context: "func _() { context.WithCancel($P) }", selector: call_expression}
    - pattern: "context.WithTimeout($P, $D)"
    - pattern: "context.WithDeadline($P, $D)"
---
id: waitgroup-add
language: go
rule:
  pattern: {context: "func _() { $WG.Add($N) }", selector: call_expression}
"""


def discovered(corpus: Corpus, corpus_dir: Path) -> list[str]:
    """The files unleak discovers under the module (describe() set the git ceiling)."""
    from codemod.discover import discover

    os.environ["GIT_CEILING_DIRECTORIES"] = corpus_env(corpus_dir)["GIT_CEILING_DIRECTORIES"]
    return [str(path) for path in discover([str(corpus.root)]).files]


def astgrep_matches(astgrep: str, files: Sequence[str], threads: int) -> Counter[str]:
    completed = subprocess.run(
        [
            astgrep,
            "scan",
            "--inline-rules",
            RULES,
            "--threads",
            str(threads),
            "--json=stream",
            *files,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return Counter(json.loads(line)["ruleId"] for line in completed.stdout.splitlines() if line)


def measure(
    corpus: Corpus, files: Sequence[str], args: argparse.Namespace
) -> tuple[list[Timing], Counter[str]]:
    env = corpus_env(args.corpus)
    cache_home = (args.corpus / "bench-xdg-cache").resolve()
    env["XDG_CACHE_HOME"] = str(cache_home)
    unleak = [*shlex.split(args.unleak), "scan", "--color", "never", "--jobs", str(args.jobs)]
    target = str(corpus.root)
    timings = [
        run_timed(
            f"unleak scan --no-cache -j{args.jobs}",
            [*unleak, "--no-cache", target],
            env,
            args.runs,
            corpus,
        )
    ]
    filling: list[Timing] = []
    for _ in range(args.runs):
        shutil.rmtree(cache_home, ignore_errors=True)
        filling.append(run_timed("", [*unleak, target], env, 1, corpus))
    best = min(filling, key=lambda t: t.best)
    walls = tuple(w for t in filling for w in t.walls)
    peak = max(t.peak_rss_kib for t in filling)
    timings.append(
        Timing(
            f"unleak scan, empty cache -j{args.jobs}",
            walls,
            best.files,
            best.size,
            peak,
            best.cpu,
            best.exit_code,
            best.summary,
        )
    )
    timings.append(
        run_timed(
            f"unleak scan, warm cache -j{args.jobs}", [*unleak, target], env, args.runs, corpus
        )
    )
    astgrep = [args.ast_grep, "scan", "--color", "never", "--inline-rules", RULES]
    timings.append(
        run_timed(
            f"ast-grep scan --threads {args.jobs}",
            [*astgrep, "--threads", str(args.jobs), *files],
            env,
            args.runs,
            corpus,
        )
    )
    return timings, astgrep_matches(args.ast_grep, files, args.jobs)


def report(
    corpus: Corpus, timings: Sequence[Timing], matches: Counter[str], args: argparse.Namespace
) -> None:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n## {corpus.module}  ({corpus.root})")
    print(
        f"{corpus.files} Go files, {corpus.total_bytes / MB:.1f} MB (MB = 10^6 bytes); "
        f"best of {args.runs}; {os.cpu_count()} CPUs; load average {load} at the end"
    )
    header = f"{'case':34} {'best s':>7} {'median s':>8} {'cpu s':>6} {'MB/s':>7} {'RSS MiB':>7}"
    print(header)
    print("-" * len(header))
    for t in timings:
        rss = f"{t.peak_rss_kib / 1024:.0f}" if t.peak_rss_kib else "-"
        print(
            f"{t.label:34} {t.best:7.2f} {t.median:8.2f} {t.cpu:6.2f} "
            f"{t.size / MB / t.best:7.1f} {rss:>7}"
        )
    cold, _, warm, astgrep = timings
    unleak_rss = max(t.peak_rss_kib for t in timings[:3])
    cold_mb_s = cold.size / MB / cold.best
    print(
        f"\ncold unleak / ast-grep throughput: {astgrep.best / cold.best:.2f}x; "
        f"warm unleak speed-up over ast-grep cold: {astgrep.best / warm.best:.2f}x; "
        f"warm over cold unleak: {cold.best / warm.best:.2f}x"
    )
    print("targets:")
    print(f"  cold unleak >= 8 MB/s: {cold_mb_s:.1f} MB/s  {_verdict(cold_mb_s >= 8)}")
    print(
        f"  warm >= 5x ast-grep cold: {astgrep.best / warm.best:.2f}x  "
        f"{_verdict(astgrep.best / warm.best >= 5)}"
    )
    print(
        f"  unleak peak RSS < 1 GiB: {unleak_rss / 1024:.0f} MiB  {_verdict(unleak_rss < GIB_KIB)}"
    )
    for t in timings[:3]:
        if t.summary:
            print(f"  {t.label}: {t.summary}")
    per_rule = ", ".join(f"{k}: {v}" for k, v in sorted(matches.items()))
    print(f"  ast-grep: {sum(matches.values())} matches ({per_rule})")


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--module", default=DEFAULT_MODULE, metavar="MODULE@VERSION")
    parser.add_argument("--runs", type=int, default=3, help="runs per case; best is reported")
    parser.add_argument("--jobs", type=int, default=2, help="unleak --jobs and ast-grep --threads")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="download folder")
    parser.add_argument(
        "--unleak",
        default=f"{shlex.quote(sys.executable)} -m codemod.cli",
        help="the command to benchmark (default: this interpreter and this checkout)",
    )
    parser.add_argument("--ast-grep", default=shutil.which("ast-grep") or "ast-grep")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.jobs < 1:
        parser.error("--runs and --jobs must be positive")
    if shutil.which(args.ast_grep) is None:
        parser.error(f"{args.ast_grep} not found: pip install ast-grep-cli")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO))
    root = fetch(args.module, args.corpus)
    corpus = describe(args.module, root, args.corpus)
    files = discovered(corpus, args.corpus)
    if not files:
        print(f"bench_astgrep: no Go files under {root}", file=sys.stderr)
        return 1
    timings, matches = measure(corpus, files, args)
    report(corpus, timings, matches, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
