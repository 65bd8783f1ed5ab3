#!/usr/bin/env python3
"""Run `unleak fix --write` on real modules and check that every rewritten package still builds.

    python3 benchmarks/validate_corpus.py                          # etcd server, kubernetes
    python3 benchmarks/validate_corpus.py --no-default --module google.golang.org/grpc@v1.66.0

For each module (fetched from the module proxy into benchmarks/.corpus/gomodcache, as
bench_scan.py does) three copies are made under benchmarks/.corpus/validate/: `pristine`,
`safe` (`unleak fix --write`) and `unsafe` (`unleak fix --write --unsafe`). In each copy,
`replace` directives to local directories are dropped (a module zip holds one module only; for
kubernetes the staging modules are then required at the matching v0.N.P). Go runs with
GOFLAGS=-mod=mod, GOTOOLCHAIN=local and the corpus's GOMODCACHE.

The packages a rewrite touched are built (`go build`) and vetted (`go vet`) one by one, in the
pristine copy and in the rewritten one; a package is *broken by the rewrite* when it passed in
the pristine copy and fails after. The table prints files, MB, skipped files, files with
declarations left alone for parse errors, findings per transform, fixes applied, files changed,
packages touched and packages broken, with the first lines of every new error.

This is a script, not a test: pytest does not collect it and nothing in CI runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scan import DEFAULT_CORPUS, REPO, corpus_env, fetch

# The corpus issue #7 names; hugo v0.165.0 is the newest whose go line (1.26) the local Go
# serves (v0.166.0 and later need go 1.27); moby's module is github.com/moby/moby/v2.
DEFAULT_MODULES = (
    "go.etcd.io/etcd/server/v3@v3.7.3",
    "k8s.io/kubernetes@v1.31.0",
    "github.com/prometheus/prometheus@v0.316.0",
    "google.golang.org/grpc@v1.85.0",
    "github.com/moby/moby/v2@v2.0.0-beta.24",
    "github.com/gohugoio/hugo@v0.165.0",
)
MB = 1_000_000
_PARSE_ERRORS = re.compile(r"declarations? in (\d+) files? left alone for parse errors")


@dataclass
class GoCheck:
    ok: bool
    output: str


@dataclass
class Outcome:
    module: str
    mode: str
    files: int = 0
    size: int = 0
    skipped: int = 0
    parse_error_files: int = 0
    findings: Counter[str] = field(default_factory=Counter)
    applied: Counter[str] = field(default_factory=Counter)
    files_changed: int = 0
    touched: list[str] = field(default_factory=list)  # import paths of rewritten packages
    checked: int = 0  # touched packages built and vetted (fewer when --minutes ran out)
    passed_before: int = 0  # of those, how many passed build and vet in the pristine copy
    broken: dict[str, str] = field(default_factory=dict)  # "build pkg" / "vet pkg" -> output
    seconds: float = 0.0
    exit_code: int = 0


def go_env(corpus_dir: Path) -> dict[str, str]:
    env = corpus_env(corpus_dir)
    env["GOMODCACHE"] = str((corpus_dir / "gomodcache").resolve())
    env["GOFLAGS"] = "-mod=mod -modcacherw"
    env["GOTOOLCHAIN"] = "local"
    env["GOWORK"] = "off"
    return env


def go(args: Sequence[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["go", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def prepare(module: str, source: Path, work: Path, env: dict[str, str]) -> None:
    """A writable copy with local `replace` directives dropped."""
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(source, work, symlinks=True)
    for path in work.rglob("*"):
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | 0o200)
    info = json.loads(go(["mod", "edit", "-json"], work, env).stdout)
    required = {r["Path"]: r["Version"] for r in info.get("Require") or []}
    edits: list[str] = []
    for rep in info.get("Replace") or []:
        new = rep["New"]
        if new.get("Version") or not new["Path"].startswith((".", "/")):
            continue  # replaced by another module version: the proxy serves it
        old = rep["Old"]["Path"]
        edits.append(f"-dropreplace={old}")
        staged = _staging_version(module)
        if staged and required.get(old, "").startswith("v0.0.0"):
            edits.append(f"-require={old}@{staged}")
    if edits:
        completed = go(["mod", "edit", *edits], work, env)
        if completed.returncode != 0:
            raise SystemExit(f"validate_corpus: go mod edit in {work}: {completed.stderr}")


def _staging_version(module: str) -> str | None:
    """kubernetes v1.N.P publishes its staging modules (k8s.io/api, ...) as v0.N.P."""
    match = re.fullmatch(r"k8s\.io/kubernetes@v1\.(\d+)\.(\d+)", module)
    return f"v0.{match.group(1)}.{match.group(2)}" if match else None


def package_dirs(work: Path, env: dict[str, str]) -> dict[Path, str]:
    listed = go(["list", "-e", "-f", "{{.Dir}}\t{{.ImportPath}}", "./..."], work, env)
    dirs: dict[Path, str] = {}
    for line in listed.stdout.splitlines():
        directory, _, import_path = line.partition("\t")
        if directory:
            dirs[Path(directory).resolve()] = import_path
    return dirs


def run_fix(
    work: Path, unleak: Sequence[str], unsafe: bool, env: dict[str, str], out: Outcome
) -> set[Path]:
    """`unleak fix --write` in the copy; fills the counts and returns the rewritten files."""
    command = [*unleak, "fix", "--write", "--format", "json", "--color", "never", "--jobs", "2"]
    if unsafe:
        command.append("--unsafe")
    started = time.perf_counter()
    completed = subprocess.run(
        [*command, "."], cwd=work, env=env, capture_output=True, text=True, check=False
    )
    out.seconds = time.perf_counter() - started
    out.exit_code = completed.returncode
    if completed.returncode not in (0, 1):
        tail = completed.stderr.strip().splitlines()[-5:]
        print(f"validate_corpus: unleak exit {completed.returncode} in {work}:", *tail, sep="\n")
    report = json.loads(completed.stdout)
    summary = report["summary"]
    out.files = summary["files"]
    out.skipped = len(summary["skipped"])
    out.files_changed = summary["files_changed"]
    out.findings.update(f["id"] for f in report["findings"])
    out.applied.update(f["id"] for f in report["findings"] if f.get("applied"))
    match = _PARSE_ERRORS.search(completed.stderr)
    out.parse_error_files = int(match.group(1)) if match else 0
    return {(work / f["file"]).resolve() for f in report["findings"] if f.get("applied")}


def check(package: str, work: Path, env: dict[str, str]) -> dict[str, GoCheck]:
    results = {}
    for tool in ("build", "vet"):
        completed = go([tool, package], work, env)
        results[tool] = GoCheck(completed.returncode == 0, completed.stderr.strip())
    verdicts = " ".join(f"{tool} {'ok' if r.ok else 'FAILED'}" for tool, r in results.items())
    print(f"validate_corpus: {work.name} {package}: {verdicts}", file=sys.stderr, flush=True)
    return results


_POSITION = re.compile(r"(\.go):\d+(?::\d+)?")


def _new_diagnostics(before: GoCheck, pristine: Path, after: GoCheck, work: Path) -> str:
    """What the rewritten copy reports that the pristine one did not ("" when nothing).

    A package that already failed (a vet complaint upstream ignores) is still checked: its
    diagnostics are compared with positions dropped, since a rewrite shifts line numbers.
    """
    if after.ok:
        return ""
    if before.ok:
        return after.output

    def lines(check: GoCheck, copy: Path) -> Counter[str]:
        text = check.output.replace(str(copy), "<copy>")
        return Counter(_POSITION.sub(r"\1", line) for line in text.splitlines())

    new = lines(after, work) - lines(before, pristine)
    return "\n".join(new.elements())


def validate(module: str, args: argparse.Namespace) -> list[Outcome]:
    env = go_env(args.corpus)
    source = fetch(module, args.corpus)
    base = (args.corpus / "validate" / module.replace("/", "_").replace("@", "-")).resolve()
    pristine = base / "pristine"
    prepare(module, source, pristine, env)
    dirs = package_dirs(pristine, env)
    unleak = shlex.split(args.unleak)
    outcomes: list[Outcome] = []
    copies: list[tuple[Outcome, Path]] = []
    for mode in ("safe", "unsafe"):
        work = base / mode
        prepare(module, source, work, env)
        outcome = Outcome(module, mode)
        outcome.size = sum(p.stat().st_size for p in work.rglob("*.go") if p.is_file())
        changed = run_fix(work, unleak, mode == "unsafe", env, outcome)
        relative = {p.relative_to(work).parent for p in changed}
        outcome.touched = sorted(
            {dirs[(pristine / r).resolve()] for r in relative if (pristine / r).resolve() in dirs}
        )
        outcomes.append(outcome)
        copies.append((outcome, work))
    # Package by package (pristine, then each rewrite), so that a run cut short still tells.
    for package in sorted({p for o in outcomes for p in o.touched}):
        if args.budget is not None and time.monotonic() > args.budget:
            break
        before = check(package, pristine, env)
        for outcome, work in copies:
            if package not in outcome.touched:
                continue
            outcome.checked += 1
            outcome.passed_before += before["build"].ok and before["vet"].ok
            after = check(package, work, env)
            for tool in ("build", "vet"):
                new = _new_diagnostics(before[tool], pristine, after[tool], work)
                if new:
                    outcome.broken[f"{tool} {package}"] = new
                    print(
                        f"validate_corpus: BROKEN {outcome.mode} {tool} {package}:", file=sys.stderr
                    )
                    print(new, file=sys.stderr, flush=True)
    return outcomes


def table(outcomes: Sequence[Outcome]) -> str:
    lines = [
        "| module | mode | files | MB | skipped | parse-error files | findings | fixes applied "
        "| files changed | packages touched / checked / OK before | broken (build/vet) | fix s |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for o in outcomes:
        build = sum(k.startswith("build ") for k in o.broken)
        vet = sum(k.startswith("vet ") for k in o.broken)
        lines.append(
            f"| {o.module} | {o.mode} | {o.files} | {o.size / MB:.1f} | {o.skipped} "
            f"| {o.parse_error_files} | {_per_id(o.findings)} | {_per_id(o.applied)} "
            f"| {o.files_changed} | {len(o.touched)} / {o.checked} / {o.passed_before} "
            f"| {build}/{vet} "
            f"| {o.seconds:.1f} |"
        )
    return "\n".join(lines)


def _per_id(counts: Counter[str]) -> str:
    if not counts:
        return "0"
    return (
        f"{sum(counts.values())} (" + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ")"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--module", action="append", default=[], metavar="MODULE@VERSION")
    parser.add_argument("--no-default", action="store_true", help="skip the default modules")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="download folder")
    parser.add_argument(
        "--unleak",
        default=f"{shlex.quote(sys.executable)} -m codemod.cli",
        help="the unleak command (default: this interpreter and this checkout)",
    )
    parser.add_argument(
        "--minutes",
        type=float,
        help="stop building and vetting packages after this long (the table says how many ran)",
    )
    args = parser.parse_args(argv)
    args.budget = None if args.minutes is None else time.monotonic() + args.minutes * 60
    args.modules = ([] if args.no_default else list(DEFAULT_MODULES)) + args.module
    if not args.modules:
        parser.error("no module to validate")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO))
    outcomes: list[Outcome] = []
    unavailable: list[str] = []
    for module in args.modules:
        try:
            outcomes.extend(validate(module, args))
        except SystemExit as error:
            # One module the proxy or the local Go cannot serve must not lose the others' rows.
            print(error, file=sys.stderr)
            unavailable.append(f"{module}: {error}")
    version = subprocess.run(
        [*shlex.split(args.unleak), "--version"],
        env=corpus_env(args.corpus),
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{version}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load {load}\n")
    print(table(outcomes))
    for line in unavailable:
        print(f"\nnot validated: {line}")
    for o in outcomes:
        for what, output in o.broken.items():
            print(f"\n### {o.module} {o.mode}: {what} broken by the rewrite\n")
            print("\n".join(output.splitlines()[:15]))
    return 1 if any(o.broken for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
