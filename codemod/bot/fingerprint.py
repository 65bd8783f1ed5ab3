"""Fingerprints of proposed fixes: how the bot remembers what a human rejected.

A pull request the bot opened lists the fingerprint of every fix in it (in a hidden comment
of its body). When a human closes it unmerged, those fixes are rejected: later runs leave
them out. A fingerprint must survive unrelated edits of the file, so it holds no line
numbers: the transform id, the file, the top-level function around the finding and the
finding's own text with its whitespace collapsed.
"""

from __future__ import annotations

import hashlib
import re

from codemod.go.parse import parse_tree
from codemod.model import Finding, Position

FINGERPRINTS_MARKER = "unleak:fingerprints"
_FINGERPRINTS = re.compile(r"<!--\s*" + re.escape(FINGERPRINTS_MARKER) + r"\s+([0-9a-f\s]*)-->")
_LENGTH = 16  # hex digits: 64 bits, no collision among the fixes of one repository


def _offset(source: bytes, position: Position) -> int:
    """The byte offset of a 1-based (line, byte column) position."""
    start = 0
    for _ in range(position.line - 1):
        found = source.find(b"\n", start)
        if found < 0:
            return len(source)
        start = found + 1
    return min(len(source), start + position.column - 1)


def _declaration_name(source: bytes, offset: int) -> str:
    """`Name` or `(Receiver).Name` of the top-level function holding offset; '' outside one."""
    root = parse_tree(source).root_node
    for declaration in root.named_children:
        if not declaration.start_byte <= offset < declaration.end_byte:
            continue
        name = declaration.child_by_field_name("name")
        if name is None or declaration.type not in ("function_declaration", "method_declaration"):
            return ""
        text = source[name.start_byte : name.end_byte].decode("utf-8", "replace")
        receiver = declaration.child_by_field_name("receiver")
        if receiver is not None:
            raw = source[receiver.start_byte : receiver.end_byte].decode("utf-8", "replace")
            text = f"{''.join(raw.split())}.{text}"
        return text
    return ""


def fingerprint(finding: Finding, path: str, source: bytes) -> str:
    """A fix's identity: stable when lines move, changes when the code it rewrites does."""
    start, end = _offset(source, finding.start), _offset(source, finding.end)
    snippet = " ".join(source[start:end].decode("utf-8", "replace").split())
    function = _declaration_name(source, start)
    key = "\0".join((finding.transform_id, path, function, snippet))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:_LENGTH]


def fingerprints_comment(fingerprints: list[str]) -> str:
    """The hidden line of a pull request body that lists its fixes."""
    return f"<!-- {FINGERPRINTS_MARKER} {' '.join(sorted(set(fingerprints)))} -->"


def read_fingerprints(body: str) -> frozenset[str]:
    """The fingerprints a pull request body lists; none if a human removed the line."""
    found: set[str] = set()
    for match in _FINGERPRINTS.finditer(body):
        found.update(word for word in match.group(1).split() if len(word) == _LENGTH)
    return frozenset(found)
