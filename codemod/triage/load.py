"""Where a report comes from: a file, stdin (`-`), or a running program's pprof endpoint.

URLs are only fetched from loopback addresses: triage reads the debug endpoints of a program
on this machine, never anything on the network. A redirect is not followed (it could lead
off loopback), and a fetch has a total deadline and a size cap, so a stuck or hostile
endpoint cannot keep triage waiting or fill its memory.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import sys
import threading
import time
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

# A debug=2 dump of a few hundred thousand goroutines fits; anything larger is refused.
MAX_REPORT_BYTES = 256 << 20
FETCH_DEADLINE_S = 60.0  # for the whole fetch: connect, headers and body together
_CHUNK = 1 << 16


class LoadError(ValueError):
    """The report cannot be read; the message names the source and what to do."""


def load_report(source: str) -> bytes:
    if source == "-":
        return _read_capped(sys.stdin.buffer, "stdin", MAX_REPORT_BYTES)
    if "://" in source:
        return fetch(source, FETCH_DEADLINE_S, MAX_REPORT_BYTES)  # read now: tests lower them
    try:
        with Path(source).open("rb") as stream:
            return _read_capped(stream, source, MAX_REPORT_BYTES)
    except OSError as error:
        raise LoadError(f"{source}: cannot read: {error.strerror or error}") from error


def _too_large(source: str, limit: int) -> LoadError:
    return LoadError(
        f"{source}: larger than {_size(limit)}; triage reads reports up to that size "
        "(for a huge program, take the aggregated debug=1 profile)"
    )


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit} bytes"


def _read_capped(stream: BinaryIO, source: str, limit: int) -> bytes:
    """At most limit bytes, read in chunks: never a buffer of the limit's size up front."""
    chunks: list[bytes] = []
    total = 0
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            raise _too_large(source, limit)
        chunks.append(chunk)
    return b"".join(chunks)


def fetch(
    url: str, deadline_s: float = FETCH_DEADLINE_S, max_bytes: int = MAX_REPORT_BYTES
) -> bytes:
    """GET a pprof endpoint of a program listening on loopback, within deadline_s in all."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise LoadError(f"{url}: only http:// URLs of a program on loopback are read")
    host = parts.hostname or ""
    if not is_loopback(host):
        raise LoadError(
            f"{url}: {host or 'no host'} is not a loopback address; triage only reads "
            "from programs on this machine (127.0.0.1, [::1] or localhost)"
        )
    try:
        port = 80 if parts.port is None else parts.port  # raises above 65535
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise LoadError(f"{url}: not a valid port; name the program's port (1 to 65535)")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    # http.client directly: it follows no redirect and never consults an http_proxy.
    connection = http.client.HTTPConnection(host, port, timeout=deadline_s)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        sock = connection.sock
        if sock is not None:  # wakes a read that is still waiting for bytes
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(deadline_s, expire)
    timer.daemon = True
    timer.start()
    try:
        return _get(connection, url, target, expired, time.monotonic() + deadline_s, max_bytes)
    except (http.client.HTTPException, OSError) as error:
        if expired.is_set():
            raise _late(url, deadline_s) from error
        failed = "cannot read" if isinstance(error, http.client.HTTPException) else "cannot connect"
        raise LoadError(f"{url}: {failed}: {error}") from error
    finally:
        timer.cancel()
        connection.close()


def _late(url: str, deadline_s: float) -> LoadError:
    return LoadError(f"{url}: no complete answer within {deadline_s:g} s; is the program stuck?")


def _get(
    connection: http.client.HTTPConnection,
    url: str,
    target: str,
    expired: threading.Event,
    deadline: float,
    max_bytes: int,
) -> bytes:
    connection.connect()
    if expired.is_set():
        raise OSError("deadline passed while connecting")
    connection.request("GET", target)
    response = connection.getresponse()
    if 300 <= response.status < 400:
        location = response.getheader("Location", "nowhere")
        raise LoadError(
            f"{url}: HTTP {response.status} redirect to {location}; triage follows no "
            "redirect: name the final URL of the program on loopback"
        )
    if response.status != 200:
        raise LoadError(f"{url}: HTTP {response.status} {response.reason}")
    declared = response.getheader("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(url, max_bytes)
    chunks: list[bytes] = []
    total = 0
    while chunk := response.read1(_CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise _too_large(url, max_bytes)
        if time.monotonic() > deadline:
            raise OSError("deadline passed")
        chunks.append(chunk)
    if expired.is_set():  # the watchdog cut the stream short: what arrived is incomplete
        raise OSError("deadline passed")
    return b"".join(chunks)


def is_loopback(host: str) -> bool:
    """An address in 127.0.0.0/8 or ::1, or a name that resolves to loopback only."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host != "localhost":
        return False  # no name lookups beyond localhost: they could reach a resolver
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(str(a)).is_loopback for a in addresses)
