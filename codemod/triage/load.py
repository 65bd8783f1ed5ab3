"""Where a report comes from: a file, stdin (`-`), or a running program's pprof endpoint.

URLs are only fetched from loopback addresses: triage reads the debug endpoints of a program
on this machine, never anything on the network.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

MAX_REPORT_BYTES = 1 << 30
FETCH_TIMEOUT_S = 60


class LoadError(ValueError):
    """The report cannot be read; the message names the source and what to do."""


def load_report(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read(MAX_REPORT_BYTES + 1)
    if "://" in source:
        return fetch(source)
    try:
        return Path(source).read_bytes()
    except OSError as error:
        raise LoadError(f"{source}: cannot read: {error.strerror or error}") from error


def fetch(url: str) -> bytes:
    """GET a pprof endpoint of a program listening on loopback."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise LoadError(f"{url}: only http:// URLs of a program on loopback are read")
    host = parts.hostname or ""
    if not is_loopback(host):
        raise LoadError(
            f"{url}: {host or 'no host'} is not a loopback address; triage only reads "
            "from programs on this machine (127.0.0.1, [::1] or localhost)"
        )
    # No proxy: an http_proxy from the environment must not see (or reroute) loopback traffic.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=FETCH_TIMEOUT_S) as response:
            data: bytes = response.read(MAX_REPORT_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise LoadError(f"{url}: HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise LoadError(f"{url}: cannot connect: {reason}") from error
    return data


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
