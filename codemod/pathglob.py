"""Glob patterns over slash-separated relative paths: `*`, `?`, `[...]` and `**` (any depth)."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            parts.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            parts.append(".*")
            index += 2
            continue
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        elif char == "[":
            end = pattern.find("]", index + 1)
            if end < 0:
                parts.append(re.escape(char))
            else:
                body = pattern[index + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                parts.append(f"[{body}]")
                index = end
        else:
            parts.append(re.escape(char))
        index += 1
    return re.compile("".join(parts))


def matches(pattern: str, path: str) -> bool:
    """Whether `path` (relative, with /) or one of its parent directories matches `pattern`.

    A pattern without a slash matches a name at any depth (`*_gen.go`, `legacy`), as in
    .gitignore; one with a slash is anchored at the config file's directory (`internal/old/**`).
    """
    pattern = pattern.strip().removeprefix("./").rstrip("/")
    anchored = "/" in pattern
    pattern = pattern.lstrip("/")
    if not pattern:
        return False
    if not anchored:
        pattern = "**/" + pattern
    compiled = _compile(pattern)
    pieces = path.split("/")
    return any(compiled.fullmatch("/".join(pieces[:end])) for end in range(1, len(pieces) + 1))
