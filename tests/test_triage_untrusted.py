"""`unleak triage` reads reports it cannot trust: crafted frames, hostile or stuck endpoints,
profiles built to blow up once decoded. None leads a fix outside the module, keeps triage
waiting past its deadline, or takes more memory than the report is worth.
"""

from __future__ import annotations

import contextlib
import gzip
import http.server
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from codemod.triage import load
from codemod.triage.command import triage
from codemod.triage.load import LoadError, load_report
from codemod.triage.mapping import find_module, local_file
from codemod.triage.model import Frame
from codemod.triage.parse import ReportError, parse_report
from tests.cli_support import LEAKY, env, make_module, unleak

ONE_LINE_ERROR = re.compile(r"^unleak: [^\n]+\n$")
SECRET = LEAKY.replace(b"package p", b"package main")
# A goroutine dump whose frames point, through `..`, at ../outside/pkg/secret.go.
CRAFTED_DUMP = """goroutine 1 [chan receive]:
main.Sum(0x3)
\t/b/../outside/pkg/secret.go:16 +0x25
main.main()
\t/b/m/main.go:3 +0x1d

goroutine 7 [chan send]:
main.Numbers.func1()
\t/b/../outside/pkg/secret.go:7 +0x25
created by main.Numbers in goroutine 1
\t/b/../outside/pkg/secret.go:5 +0x65
"""


@pytest.fixture
def beside_outside(tmp_path: Path) -> Path:
    """tmp_path/m, a module, next to tmp_path/outside/pkg/secret.go, a leaky file of no module."""
    module = make_module(tmp_path / "m", {"main.go": b"package main\n\nfunc main() {}\n"})
    (tmp_path / "outside" / "pkg").mkdir(parents=True)
    (tmp_path / "outside" / "pkg" / "secret.go").write_bytes(SECRET)
    return module


def test_a_crafted_frame_path_leads_no_fix_outside_the_module(beside_outside: Path) -> None:
    (beside_outside.parent / "rep.txt").write_text(CRAFTED_DUMP)
    patch = unleak(
        "triage", "--format", "diff", "--no-gofmt", "-q", "../rep.txt", ".", cwd=beside_outside
    )
    assert "outside" not in patch.stdout
    applied = unleak("apply", "-", cwd=beside_outside, stdin=patch.stdout)
    assert (beside_outside.parent / "outside" / "pkg" / "secret.go").read_bytes() == SECRET
    assert "applied" not in applied.stderr


@pytest.mark.parametrize(
    ("function", "file"),
    [
        ("main.Sum", "/b/../outside/pkg/secret.go"),
        ("main.Sum", "../outside/pkg/secret.go"),
        ("example.com/m/../outside/pkg.Sum", "/build/outside/pkg/secret.go"),
        ("main.Sum", "/build/m/link.go"),  # a symbolic link in the module to a file outside
    ],
)
def test_frames_never_map_outside_the_module(
    beside_outside: Path, function: str, file: str
) -> None:
    (beside_outside / "link.go").symlink_to("../outside/pkg/secret.go")
    module = find_module(beside_outside)
    assert local_file(Frame(function, file, 7), module) is None


# --- triage URL: a loopback server that misbehaves ---------------------------------------

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


class Server:
    """A loopback HTTP server running `handle` for every GET; `hits` counts the requests."""

    def __init__(self, handle: Handler) -> None:
        self.hits = 0
        outer = self

        class RequestHandler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                with contextlib.suppress(OSError):  # the client hung up, as it should
                    handle(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], Server]]:
    servers: list[Server] = []

    def start(handle: Handler) -> Server:
        servers.append(Server(handle))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def headers(request: http.server.BaseHTTPRequestHandler, status: int = 200, **extra: str) -> None:
    request.send_response(status)
    for name, value in extra.items():
        request.send_header(name.replace("_", "-"), value)
    request.end_headers()


def test_a_redirect_is_not_followed(serve: Callable[[Handler], Server]) -> None:
    elsewhere = serve(lambda request: headers(request, 200))
    redirecting = serve(lambda request: headers(request, 302, Location=f"{elsewhere.url}/x"))
    with pytest.raises(LoadError, match=r"HTTP 302 redirect to .*; triage follows no redirect"):
        load_report(f"{redirecting.url}/debug/pprof/goroutine?debug=2")
    assert redirecting.hits == 1 and elsewhere.hits == 0


@pytest.mark.parametrize("port", ["99999", "65536", "0", "x"])
def test_an_invalid_port_is_refused(port: str) -> None:
    with pytest.raises(LoadError, match="not a valid port"):
        load_report(f"http://127.0.0.1:{port}/debug/pprof/goroutine")


def endless(request: http.server.BaseHTTPRequestHandler) -> None:
    headers(request)
    block = b"goroutine 1 [running]:\n" * 4096
    while True:
        request.wfile.write(block)


def test_an_endless_stream_stops_at_the_size_cap(
    serve: Callable[[Handler], Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load, "MAX_REPORT_BYTES", 1 << 20)
    server = serve(endless)
    with pytest.raises(LoadError, match=r"larger than 1 MiB"):
        load_report(server.url)


def dripping(delay_s: float, before_body: bool) -> Handler:
    """A byte every delay_s, in the headers or in the body, for at most 6 s."""

    def handle(request: http.server.BaseHTTPRequestHandler) -> None:
        if before_body:
            request.wfile.write(b"HTTP/1.0 200 OK\r\n")
        else:
            headers(request)
        for _ in range(int(6 / delay_s)):
            request.wfile.write(b"X-Slow: 1\r\n" if before_body else b"g")
            request.wfile.flush()
            time.sleep(delay_s)

    return handle


@pytest.mark.parametrize("before_body", [False, True], ids=["body", "headers"])
def test_a_slow_stream_ends_at_the_total_deadline(
    serve: Callable[[Handler], Server], monkeypatch: pytest.MonkeyPatch, before_body: bool
) -> None:
    monkeypatch.setattr(load, "FETCH_DEADLINE_S", 1.0)
    server = serve(dripping(0.2, before_body))
    started = time.monotonic()
    with pytest.raises(LoadError, match="no complete answer within 1 s"):
        load_report(server.url)
    assert time.monotonic() - started < 3


def test_oversize_input_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = make_module(tmp_path / "m", {})
    (module / "big.txt").write_bytes(b"goroutine 1 [running]:\n" * 100_000)
    monkeypatch.setattr(load, "MAX_REPORT_BYTES", 1 << 20)
    monkeypatch.chdir(module)
    for source, stdin in (("big.txt", None), ("-", (module / "big.txt").read_bytes())):
        result = CliRunner().invoke(triage, [source, "."], input=stdin)
        assert result.exit_code == 2, result.output
        assert ONE_LINE_ERROR.match(result.stderr), result.stderr
        assert "larger than 1 MiB" in result.stderr


# --- crafted profile.proto ---------------------------------------------------------------


def varint(value: int) -> bytes:
    out = b""
    while value > 0x7F:
        out += bytes([value & 0x7F | 0x80])
        value >>= 7
    return out + bytes([value])


def field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


# A string table ("", "goroutine") and a sample type naming it: a goroutine profile so far.
GOROUTINE_PROFILE = field(6, b"") + field(6, b"goroutine") + field(1, b"\x08\x01")


def crafted(body: bytes) -> bytes:
    return gzip.compress(GOROUTINE_PROFILE + body, 9)


def test_a_small_crafted_profile_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    """16M empty samples: 39 KB compressed, 32 MB raw, 600 MB once decoded as it stood."""
    bomb = crafted(b"\x12\x00" * 16_000_000)
    assert len(bomb) < 40_000
    (tmp_path / "bomb.pb.gz").write_bytes(bomb)
    # VmHWM, this process's peak: getrusage's ru_maxrss keeps pytest's from before exec
    measure = (
        "import re, sys\n"
        "from codemod.triage.parse import ReportError, parse_report\n"
        "try:\n"
        "    parse_report(open(sys.argv[1], 'rb').read())\n"
        "except ReportError as error:\n"
        "    print(error)\n"
        "status = open('/proc/self/status').read()\n"
        "print(int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)) >> 10)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", measure, str(tmp_path / "bomb.pb.gz")],
        capture_output=True,
        text=True,
        env=env(),
        timeout=120,
        check=True,
    )
    message, peak_mib = result.stdout.splitlines()
    assert "would take more than 32 MiB once decoded" in message
    assert int(peak_mib) < 150  # interpreter, protobuf, and the 32 MB it decompressed


def test_a_sample_that_names_a_deeply_inlined_location_often_is_refused() -> None:
    """One location of 1,000 inlined lines, named 100,000 times: 10^8 frames from 9 KB."""
    location = field(4, b"\x08\x01" + field(4, b"") * 1000)
    sample = field(2, field(1, b"\x01" * 100_000) + field(2, b"\x01"))
    with pytest.raises(ReportError, match="more than 2,000,000 frames"):
        parse_report(crafted(location + sample))


def test_a_crafted_profile_is_one_line_and_exit_2(tmp_path: Path) -> None:
    module = make_module(tmp_path / "m", {})
    (module / "bomb.pb.gz").write_bytes(crafted(b"\x12\x00" * 1_000_000))
    result = unleak("triage", "bomb.pb.gz", ".", cwd=module)
    assert result.returncode == 2 and result.stdout == ""
    assert ONE_LINE_ERROR.match(result.stderr), result.stderr
    assert "once decoded" in result.stderr
