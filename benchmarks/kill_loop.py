#!/usr/bin/env python3
"""Kill `unleak fix --write` at random moments and check that nothing is left half done.

    python3 benchmarks/kill_loop.py                      # 20 kills, 460 files, -j 2
    python3 benchmarks/kill_loop.py --kills 40 --files 800 --seed 7
    python3 benchmarks/kill_loop.py --code /tmp/old-unleak   # another checkout's code

It generates a Go module of FILES files (several leaky producer functions each, names unique
per file, so no file's fix depends on another's), and first runs `fix --write` to the end on a
copy to learn each file's fixed content. Then, on one tree, it starts `fix --write` KILLS times
and sends each run SIGKILL or SIGTERM (chosen at random) at a random moment of a full run's
duration; the next run starts from what the killed one left, as a user's next run would (once
every file is fixed, the old contents are put back, temporary files left alone). After every
kill it checks:

* every .go file holds its old content or its fixed content, nothing else;
* no process of the run is left (the CLI or its pool workers), within 10 s of the kill;
* after SIGTERM: exit status 143, no temporary file (`*.unleak`);
* after SIGKILL: temporary files may remain; the next run must sweep them.

A last run goes to the end: every file must then hold its fixed content, with no temporary
file anywhere. It prints one line per kill and a summary; exit 1 if any check failed.

This is a script, not a test: pytest does not collect it and nothing in CI runs it. Linux
only (it reads processes from /proc).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PRODUCER = """
func Numbers{n}(limit int) <-chan int {{
\tout := make(chan int)
\tgo func() {{
\t\tfor i := 0; i < limit; i++ {{
\t\t\tout <- i
\t\t}}
\t}}()
\treturn out
}}

func Sum{n}(limit int) int {{
\ttotal := 0
\tfor v := range Numbers{n}(limit) {{
\t\ttotal += v
\t}}
\treturn total
}}
"""


def generate(root: Path, files: int, functions: int) -> None:
    root.mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/killloop\n\ngo 1.22\n")
    for index in range(files):
        package = f"p{index // 20}"
        folder = root / package
        folder.mkdir(exist_ok=True)
        body = "".join(PRODUCER.format(n=f"F{index}N{k}") for k in range(functions))
        (folder / f"f{index}.go").write_text(f"package {package}\n{body}")


def go_files(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*.go"))}


def temporaries(root: Path) -> list[Path]:
    return sorted(root.rglob("*.unleak"))


def processes_of(root: Path) -> list[int]:
    """Processes whose command line names the tree: the CLI and its forked workers."""
    marker = str(root).encode()
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker in cmdline.read_bytes() and _running(int(cmdline.parent.name)):
                found.append(int(cmdline.parent.name))
        except (OSError, ValueError):
            continue
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def command(code: Path, root: Path, jobs: int) -> tuple[list[str], dict[str, str]]:
    argv = [sys.executable, "-m", "codemod.cli", "fix", "--write", "-q", "-j", str(jobs)]
    return [*argv, str(root)], {**os.environ, "PYTHONPATH": str(code)}


def run_to_end(code: Path, root: Path, jobs: int) -> float:
    argv, env = command(code, root, jobs)
    start = time.monotonic()
    completed = subprocess.run(
        argv, cwd=root.parent, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode not in (0, 1):
        sys.exit(f"fix --write failed ({completed.returncode}): {completed.stderr[-500:]}")
    return time.monotonic() - start


@dataclass
class Kill:
    number: int
    signal_name: str
    delay: float
    exit_status: int | None = None
    exit_seconds: float = 0.0  # from the signal to the CLI's exit
    files_new: int = 0
    files_bad: int = 0
    temporaries: int = 0  # in the tree after the kill, new ones and older ones
    temporaries_new: int = 0  # of those, left by this kill
    swept_before: int = 0  # temporaries a SIGKILL left that were gone after the next run
    processes_left: int = 0  # after 10 s
    processes_seconds: float = 0.0  # from the signal until no process of the run was left

    def problems(self) -> list[str]:
        found = []
        if self.files_bad:
            found.append(f"{self.files_bad} files neither old nor new")
        if self.processes_left:
            found.append(f"{self.processes_left} processes left")
        if self.signal_name == "TERM" and self.temporaries_new:
            found.append(f"{self.temporaries_new} temporary files after TERM")
        if self.signal_name == "TERM" and self.exit_status not in (143, 0, 1):
            found.append(f"exit status {self.exit_status} after TERM")
        return found


def kill_once(
    number: int, code: Path, root: Path, jobs: int, duration: float, rng: random.Random
) -> Kill:
    sig = rng.choice([signal.SIGKILL, signal.SIGTERM])
    delay = rng.uniform(0.3, duration)
    kill = Kill(number, "KILL" if sig == signal.SIGKILL else "TERM", delay)
    argv, env = command(code, root, jobs)
    process = subprocess.Popen(
        argv,
        cwd=root.parent,  # not this checkout: -m would import its code before --code's
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=delay)
    sent = time.monotonic()
    if process.poll() is None:
        process.send_signal(sig)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    kill.exit_status = process.returncode
    kill.exit_seconds = time.monotonic() - sent
    deadline = sent + 10
    while processes_of(root) and time.monotonic() < deadline:
        time.sleep(0.05)
    kill.processes_seconds = time.monotonic() - sent
    left = processes_of(root)
    kill.processes_left = len(left)
    for pid in left:  # do not let one failure skew the next kills
        os.kill(pid, signal.SIGKILL)
    kill.temporaries = len(temporaries(root))
    return kill


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--files", type=int, default=460)
    parser.add_argument("--functions", type=int, default=4, help="leaky functions per file")
    parser.add_argument("--jobs", "-j", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--code", type=Path, default=REPO, help="checkout whose unleak to run")
    parser.add_argument("--keep", action="store_true", help="keep the generated trees")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="unleak-kill-loop-"))
    try:
        original = work / "original"
        generate(original, args.files, args.functions)
        reference = work / "reference"
        shutil.copytree(original, reference)
        duration = run_to_end(args.code, reference, args.jobs)
        old, new = go_files(original), go_files(reference)
        changed = sum(old[p] != new[p] for p in old)
        print(
            f"{args.files} files ({changed} to fix), a full run takes {duration:.1f} s "
            f"(-j {args.jobs}); {args.kills} kills, seed {args.seed}"
        )
        tree = work / "tree"
        shutil.copytree(original, tree)
        kills: list[Kill] = []
        left_by_kill: set[Path] = set()
        for number in range(1, args.kills + 1):
            if go_files(tree) == new:  # all fixed: start over, or later kills find nothing to cut
                for relative, content in old.items():
                    (tree / relative).write_bytes(content)
            kill = kill_once(number, args.code, tree, args.jobs, duration, rng)
            now = go_files(tree)
            kill.files_new = sum(now[p] == new[p] for p in now)
            kill.files_bad = sum(now[p] not in (old[p], new[p]) for p in now)
            current = set(temporaries(tree))
            kill.swept_before = len(left_by_kill - current)
            kill.temporaries_new = len(current - left_by_kill)
            left_by_kill = current
            kills.append(kill)
            problems = kill.problems()
            print(
                f"#{number:2} {kill.signal_name} at {kill.delay:5.1f} s: exit {kill.exit_status} "
                f"after {kill.exit_seconds:.2f} s, no process left after "
                f"{kill.processes_seconds:.2f} s, {kill.files_new}/{len(now)} files new, "
                f"{kill.temporaries} temporary files ({kill.temporaries_new} new"
                + (f", {kill.swept_before} swept)" if kill.swept_before else ")")
                + (f"  FAILED: {'; '.join(problems)}" if problems else "")
            )
        run_to_end(args.code, tree, args.jobs)
        final = go_files(tree)
        final_bad = sum(final[p] != new[p] for p in final)
        final_temporaries = temporaries(tree)
        final_processes = processes_of(tree)
        terms = [k for k in kills if k.signal_name == "TERM"]
        killed = [k for k in kills if k.signal_name == "KILL"]
        print(
            f"summary: {len(terms)} TERM (exit statuses {sorted({k.exit_status for k in terms})}, "
            f"exit within {max((k.exit_seconds for k in terms), default=0):.2f} s, "
            f"{sum(k.temporaries_new for k in terms)} temporary files left), "
            f"{len(killed)} KILL ({sum(k.temporaries_new for k in killed)} temporary files left, "
            f"swept by a later run: {sum(k.swept_before for k in kills)}); "
            f"processes left after 10 s: {sum(k.processes_left for k in kills)}; "
            f"files neither old nor new: {sum(k.files_bad for k in kills)}; "
            f"after a last full run: {final_bad} files not fixed, "
            f"{len(final_temporaries)} temporary files, {len(final_processes)} processes"
        )
        failed = any(k.problems() for k in kills) or final_bad or final_temporaries
        return 1 if failed or final_processes else 0
    finally:
        if args.keep:
            print(f"trees kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
