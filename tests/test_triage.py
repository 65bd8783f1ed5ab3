"""`unleak triage` on real reports of a real leaking program (tests/leakprogram.py).

The program is built once per session from fixtures' before.go, with Go 1.27 (for the
goroutineleak profile) and goleak; every report below is what the Go runtime wrote.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests import leakprogram
from tests.cli_support import make_module, unleak
from tests.conftest import ROOT
from tests.leakprogram import REPORT_FILES, Reports

# (file, line) -> (goroutines, transform id or None, status): what every report must show.
SITES: dict[tuple[str, int], tuple[int, str | None, str]] = {
    ("orders/code.go", 14): (3, "ctx-done-arm", "fix"),
    ("ping/code.go", 20): (1, "buffer-orphaned-result", "fix"),
    ("squares/code.go", 13): (1, "close-producer-channel", "fix"),
    ("tally/code.go", 28): (1, "waitgroup-misuse", "fix"),
    ("replies/code.go", 13): (1, "range-unclosed-channel", "finding"),
    ("stuck/stuck.go", 24): (1, None, "no-known-fix"),
}
# The lost mutex: every goroutine dump shows it blocked; the goroutineleak profile of Go 1.27
# reports it only when its GC cycle proves the mutex unreachable, so it may or may not be there.
MUTEX_SITE = ("stuck/stuck.go", 10)
ALL_GOROUTINE_FORMATS = ("goroutine-debug2.txt", "goroutine-debug1.txt", "goroutine.pb.gz")
ONE_LINE_ERROR = re.compile(r"^unleak: [^\n]+\n$")


@pytest.fixture(scope="session")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    go = shutil.which("go")
    if go is None:
        pytest.skip("go is not on PATH: triage is tested on reports of a real Go program")
    return leakprogram.collect(tmp_path_factory.mktemp("triage"), go)


def triage(
    reports: Reports, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return unleak("triage", *args, cwd=reports.program.source, stdin=stdin)


def triage_json(reports: Reports, report: Path | str, *args: str) -> dict[str, Any]:
    result = triage(reports, "--format", "json", str(report), ".", *args)
    assert result.returncode == 1, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def sites_of(document: dict[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    return {(site["file"], site["line"]): site for site in document["sites"]}


def summary(site: dict[str, Any]) -> tuple[int, str | None, str]:
    ids = [finding["id"] for finding in site["findings"]]
    return site["count"], ids[0] if ids else None, site["status"]


def report_files() -> list[tuple[str, str]]:
    return [(build, name) for build in ("plain", "trimpath") for name in REPORT_FILES]


@pytest.mark.parametrize(("build", "name"), report_files(), ids=lambda v: str(v))
def test_every_report_format_lands_on_the_same_leak_sites(
    reports: Reports, build: str, name: str
) -> None:
    report = getattr(reports, build) / name
    found = sites_of(triage_json(reports, report))
    assert {key: summary(found[key]) for key in SITES if key in found} == SITES
    extra = set(found) - set(SITES)
    if name in ALL_GOROUTINE_FORMATS:
        assert extra == {MUTEX_SITE}, "a goroutine dump shows the lost mutex, and nothing else"
        assert summary(found[MUTEX_SITE]) == (1, None, "no-known-fix")
        assert found[MUTEX_SITE]["state"] == "sync.Mutex.Lock"
    else:
        assert extra <= {MUTEX_SITE}


def test_states_come_from_the_report_or_else_from_the_line(reports: Reports) -> None:
    dump = sites_of(triage_json(reports, reports.plain / "goroutine-debug2.txt"))
    assert dump[("stuck/stuck.go", 24)]["state"] == "chan receive (nil chan)"
    assert dump[("orders/code.go", 14)]["leaked"] is True  # the leak profile ran before it
    proto = sites_of(triage_json(reports, reports.plain / "goroutineleak.pb.gz"))
    assert proto[("orders/code.go", 14)]["state"] == "chan send"  # runtime.chansend1
    assert proto[("tally/code.go", 28)]["state"] == "sync.WaitGroup.Wait"
    assert not proto[("orders/code.go", 14)]["state_from_source"]
    text = sites_of(triage_json(reports, reports.plain / "goroutineleak.txt"))
    site = text[("orders/code.go", 14)]
    assert (site["state"], site["state_from_source"], site["leaked"]) == ("chan send", True, True)
    assert text[("squares/code.go", 13)]["state"] == "chan receive"  # a range over a channel


def test_text_output_shows_the_line_the_finding_and_the_patch(reports: Reports) -> None:
    result = triage(reports, str(reports.plain / "goroutineleak.pb.gz"), ".")
    assert result.returncode == 1, result.stderr
    out = result.stdout
    assert "orders/code.go:14: 3 goroutines leaked in chan send, in " in out
    assert "example.com/shop/orders.(*Ticker).Run" in out
    assert re.search(r"^  >\s+14 \| \t\tout <- t\.next", out, re.M)
    assert "  ctx-done-arm [safe] at line 14: send on `out` blocks forever" in out
    assert "    +\t\tcase <-ctx.Done():\n" in out
    assert "    +\terrc := make(chan error, 1)" in out  # buffer-orphaned-result, line 18
    assert "  no fix offered:" in out  # range-unclosed-channel is report-only there
    mutex = "stuck/stuck.go:10" in out  # see MUTEX_SITE
    assert result.stderr == (
        f"unleak: goroutineleak profile (profile.proto): {8 + mutex} goroutines blocked at "
        f"{6 + mutex} leak sites (4 with a fix, 1 with a finding but no fix, "
        f"{1 + mutex} with no known fix)\n"
    )


def test_select_ignore_and_the_config_file_choose_the_transforms(reports: Reports) -> None:
    report = reports.plain / "goroutine-debug2.txt"
    everything = sites_of(triage_json(reports, report))
    assert summary(everything[("orders/code.go", 14)])[1] == "ctx-done-arm"
    for choice in (("--ignore", "ctx-done-arm"), ("--select", "close-producer-channel")):
        chosen = sites_of(triage_json(reports, report, *choice))
        assert summary(chosen[("orders/code.go", 14)]) == (3, None, "no-known-fix"), choice
        assert summary(chosen[("squares/code.go", 13)]) == summary(
            everything[("squares/code.go", 13)]
        )
    config = reports.program.source / ".unleak.toml"
    config.write_text('ignore = ["ctx-done-arm"]\n')
    try:
        from_config = sites_of(triage_json(reports, report))
        assert summary(from_config[("orders/code.go", 14)]) == (3, None, "no-known-fix")
        # Flags win key by key, as for scan: --ignore replaces the config's ignore list.
        flag_wins = sites_of(triage_json(reports, report, "--ignore", "waitgroup-misuse"))
        assert summary(flag_wins[("orders/code.go", 14)])[1] == "ctx-done-arm"
        assert summary(flag_wins[("tally/code.go", 28)])[1] is None
    finally:
        config.unlink()
    unknown = triage(reports, "--select", "no-such-id", str(report), ".")
    assert unknown.returncode == 2 and "unknown transform id no-such-id" in unknown.stderr


def test_a_site_no_transform_explains_still_names_its_line(
    reports: Reports, tmp_path: Path
) -> None:
    result = triage(reports, str(reports.panic), ".")
    assert (
        "  no known fix: sync.Mutex.Lock at stuck/stuck.go:10 in "
        "example.com/shop/stuck.Guarded.func1\n"
    ) in result.stdout
    assert (
        "  no known fix: chan receive (nil chan) at stuck/stuck.go:24 in "
        "example.com/shop/stuck.(*Feed).Listen.func1\n"
    ) in result.stdout
    # The runtime adds the wait time once a goroutine has waited a minute.
    traceback = reports.panic.read_text()
    waited = tmp_path / "waited.txt"
    waited.write_text(traceback.replace("[sync.Mutex.Lock]:", "[sync.Mutex.Lock, 7 minutes]:"))
    result = triage(reports, str(waited), ".")
    assert (
        "  no known fix: sync.Mutex.Lock at stuck/stuck.go:10 in "
        "example.com/shop/stuck.Guarded.func1, blocked 7 minutes\n"
    ) in result.stdout
    assert "stuck/stuck.go:10: 1 goroutine blocked in sync.Mutex.Lock for 7 minutes" in (
        result.stdout
    )


def test_frames_outside_the_module_are_shown_not_patched(reports: Reports) -> None:
    out = triage(reports, str(reports.plain / "goroutine.pb.gz"), ".").stdout
    assert re.search(
        r"^    sync\.\(\*WaitGroup\)\.Wait  \S+/sync/waitgroup\.go:\d+  \(standard library\)$",
        out,
        re.M,
    )
    site = sites_of(triage_json(reports, reports.plain / "goroutine.pb.gz"))[("tally/code.go", 28)]
    stdlib = [f for f in site["stack"] if f["function"].startswith("sync.")]
    assert stdlib and all(
        f["origin"] == "standard library" and f["local_file"] is None for f in stdlib
    )


def test_a_report_of_another_module_patches_nothing(reports: Reports, tmp_path: Path) -> None:
    other = make_module(tmp_path / "other", {"p.go": b"package p\n"})
    result = unleak(
        "triage", "--format", "json", str(reports.plain / "goroutine.pb.gz"), str(other), cwd=other
    )
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    statuses = {site["status"] for site in document["sites"]}
    assert statuses == {"outside-module"}
    assert all(site["findings"] == [] for site in document["sites"])
    assert {site["origin"] for site in document["sites"]} == {"dependency"}  # example.com/shop


def test_goleak_failure_piped_from_go_test(reports: Reports) -> None:
    output = reports.goleak.read_text()
    result = triage(reports, "--format", "json", "-", ".", stdin=output)
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["report"]["format"] == "goleak"
    (site,) = document["sites"]
    assert (site["file"], site["line"], site["state"]) == ("orders/code.go", 14, "chan send")
    assert summary(site) == (2, "ctx-done-arm", "fix")  # goleak lists each goroutine
    assert site["created_by"]["local_file"] == "orders/leak_test.go"


def test_panic_traceback(reports: Reports) -> None:
    document = triage_json(reports, reports.panic)
    assert document["report"]["format"] == "traceback"
    found = sites_of(document)
    assert {key: summary(found[key]) for key in SITES} == SITES
    assert set(found) - set(SITES) == {MUTEX_SITE}  # goroutine 1 was running: not a leak


def test_build_paths_of_another_machine_map_to_this_checkout(
    reports: Reports, tmp_path: Path
) -> None:
    """The reports name /tmp/.../shop-src; the checkout triaged lives elsewhere."""
    checkout = tmp_path / "checkout"
    shutil.copytree(reports.program.source, checkout)
    for report in (
        reports.plain / "goroutine-debug2.txt",
        reports.trimpath / "goroutine-debug2.txt",
    ):
        result = unleak("triage", "--format", "json", str(report), ".", cwd=checkout)
        found = sites_of(json.loads(result.stdout))
        assert {key: summary(found[key]) for key in SITES} == SITES
        created = found[("squares/code.go", 13)]["created_by"]
        # package main: found by the tail of its build path (or its -trimpath path)
        assert (created["function"], created["local_file"]) == ("main.leak", "cmd/leaky/main.go")


def test_diff_applies_and_the_rebuilt_program_leaks_only_what_has_no_fix(
    reports: Reports, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(reports.program.source, checkout)
    patch = unleak(
        "triage",
        "--format",
        "diff",
        "-q",
        str(reports.plain / "goroutineleak.pb.gz"),
        ".",
        cwd=checkout,
    )
    assert patch.returncode == 1 and patch.stderr == ""
    assert patch.stdout.count("diff --git ") == 4
    applied = unleak("apply", "-", cwd=checkout, stdin=patch.stdout)
    assert applied.returncode == 0, applied.stderr
    binary = reports.program.rebuild(checkout)
    after = tmp_path / "after"
    after.mkdir()
    run = subprocess.run(
        [str(binary), "-out", str(after)], capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, run.stderr
    result = unleak(
        "triage", "--format", "json", str(after / "goroutineleak.pb.gz"), ".", cwd=checkout
    )
    remaining = {key: summary(site) for key, site in sites_of(json.loads(result.stdout)).items()}
    remaining.pop(MUTEX_SITE, None)
    assert remaining == {
        ("replies/code.go", 13): (1, "range-unclosed-channel", "finding"),
        ("stuck/stuck.go", 24): (1, None, "no-known-fix"),
    }


def test_reads_a_running_program_over_loopback_http(reports: Reports, tmp_path: Path) -> None:
    server = subprocess.Popen(
        reports.program.command("-serve"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base = server.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:"), base
        for endpoint in ("goroutineleak", "goroutineleak?debug=1", "goroutine?debug=2"):
            document = triage_json(reports, f"{base}/debug/pprof/{endpoint}")
            found = sites_of(document)
            assert {key: summary(found[key]) for key in SITES} == SITES, endpoint
        missing = triage(reports, f"{base}/debug/pprof/nosuchprofile", ".")
        assert missing.returncode == 2
        assert ONE_LINE_ERROR.match(missing.stderr) and "HTTP 404" in missing.stderr
        # SIGQUIT: the runtime dumps every goroutine (and its own) and exits.
        server.send_signal(signal.SIGQUIT)
        _, stderr = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=60)
    assert stderr.startswith("SIGQUIT: quit")
    found = sites_of(_stdin_json(reports, stderr))
    assert {key: summary(found[key]) for key in SITES} == SITES


def _stdin_json(reports: Reports, text: str) -> dict[str, Any]:
    result = triage(reports, "--format", "json", "-", ".", stdin=text)
    assert result.returncode == 1, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.mark.parametrize(
    "url",
    [
        "http://10.1.2.3:6060/debug/pprof/goroutineleak",
        "http://example.com/debug/pprof/goroutine?debug=2",
        "http://127.0.0.1.example.com/debug/pprof/goroutine",
        "https://127.0.0.1:6060/debug/pprof/goroutine",
    ],
)
def test_urls_off_loopback_are_refused(tmp_path: Path, url: str) -> None:
    module = make_module(tmp_path / "m", {})
    result = unleak("triage", url, ".", cwd=module)
    assert result.returncode == 2 and result.stdout == ""
    assert ONE_LINE_ERROR.match(result.stderr), result.stderr
    assert "loopback" in result.stderr


def test_no_blocked_goroutine_exits_zero(reports: Reports) -> None:
    for name in REPORT_FILES:
        result = triage(reports, str(reports.clean / name), ".")
        assert result.returncode == 0, (name, result.stdout, result.stderr)
        assert result.stdout == ""
        assert result.stderr.endswith(", none blocked\n")


def test_truncated_reports_are_one_line_errors(reports: Reports, tmp_path: Path) -> None:
    leak_text = (reports.plain / "goroutineleak.txt").read_text()
    dump = (reports.plain / "goroutine-debug2.txt").read_text()
    proto = (reports.plain / "goroutineleak.pb.gz").read_bytes()
    goleak = reports.goleak.read_text()
    cases: dict[str, tuple[bytes, str]] = {
        "leak.txt": (
            leak_text.rstrip("\n")[: leak_text.rstrip("\n").rindex("\n\n") + 1].encode(),
            "truncated goroutineleak profile (text): it holds",
        ),
        "leak.pb.gz": (
            proto[: len(proto) // 2],
            "truncated gzip-compressed profile (the gzip stream ends early); expected",
        ),
        "dump.txt": (
            # cut after a function line, before its file:line
            dump[: dump.index("\n", dump.index("shop/squares.SumOfSquares(")) + 1].encode(),
            "truncated goroutine dump (debug=2): the last goroutine",
        ),
        "goleak.txt": (
            goleak[: goleak.rindex("]")].encode(),
            "truncated goleak report: the list of goroutines has no closing `]`",
        ),
    }
    for name, (data, expected) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = triage(reports, str(path), ".")
        assert result.returncode == 2, (name, result.stdout)
        assert ONE_LINE_ERROR.match(result.stderr), result.stderr
        assert expected in result.stderr, result.stderr
        assert "expected" in result.stderr


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"package main\n\nfunc main() {}\n", "not a goroutine report; expected a goroutine dump"),
        (b"", "empty input; expected a goroutine dump"),
        (b"\x89PNG\r\n\x1a\n\0\0\0", "binary data that is not a gzip-compressed profile"),
    ],
    ids=["go-source", "empty", "binary"],
)
def test_unknown_input_is_a_one_line_error(tmp_path: Path, content: bytes, expected: str) -> None:
    module = make_module(tmp_path / "m", {})
    (module / "report").write_bytes(content)
    result = unleak("triage", "report", ".", cwd=module)
    assert result.returncode == 2 and result.stdout == ""
    assert ONE_LINE_ERROR.match(result.stderr), result.stderr
    assert f"unleak: report: {expected}" in result.stderr
    assert "goroutineleak profile" in result.stderr and "goleak" in result.stderr


def test_another_pprof_profile_is_refused(reports: Reports) -> None:
    """A heap profile is valid profile.proto, but not goroutines."""
    server = subprocess.Popen(reports.program.command("-serve"), stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base = server.stdout.readline().strip()
        result = triage(reports, f"{base}/debug/pprof/heap", ".")
    finally:
        server.kill()
        server.wait(timeout=60)
    assert result.returncode == 2
    assert ONE_LINE_ERROR.match(result.stderr), result.stderr
    assert "a pprof profile of alloc_objects, alloc_space" in result.stderr
    assert "not of goroutines; expected the complete goroutineleak or goroutine" in result.stderr


def test_path_outside_any_module_is_an_error(reports: Reports, tmp_path: Path) -> None:
    result = unleak("triage", str(reports.panic), str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert ONE_LINE_ERROR.match(result.stderr)
    assert "no go.mod at or above it" in result.stderr


def documented_schema() -> dict[str, Any]:
    text = (ROOT / "docs" / "triage.md").read_text(encoding="utf-8")
    section = text.split("#### JSON Schema", 1)[1]
    match = re.search(r"```json\n(.*?)```", section, re.S)
    assert match, "docs/triage.md lost its JSON Schema block"
    schema: dict[str, Any] = json.loads(match.group(1))
    return schema


@pytest.mark.parametrize("name", ["goroutineleak.txt", "goroutine-debug2.txt", "goroutine.pb.gz"])
def test_json_follows_the_documented_schema(reports: Reports, name: str) -> None:
    document = triage_json(reports, reports.trimpath / name)
    schema = documented_schema()
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    errors = list(validator(schema).iter_errors(document))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    assert document["module"] == {"path": "example.com/shop", "root": "."}
    assert document["summary"]["sites"] == len(document["sites"])
