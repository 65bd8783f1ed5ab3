"""The forge token: read once, never printed, and scrubbed from every message the bot emits."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from pathlib import Path

# The variables each forge's token is read from, first match wins.
TOKEN_VARIABLES: dict[str, tuple[str, ...]] = {
    "github": ("GITHUB_TOKEN", "GH_TOKEN"),
    "gitea": ("GITEA_TOKEN",),
}
# The user name git sends with the token (GitHub's convention; Gitea reads the password).
GIT_USER = "x-access-token"


class TokenError(Exception):
    """No usable token: a one-line message that never holds the token itself."""


class Token:
    """A secret string whose str() and repr() never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value or any(c.isspace() for c in value):
            raise TokenError("the token is empty or holds whitespace")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def basic_credentials(self) -> str:
        """base64 of `x-access-token:TOKEN`, for an HTTP Basic Authorization header."""
        return base64.b64encode(f"{GIT_USER}:{self._value}".encode()).decode("ascii")

    def forms(self) -> tuple[str, ...]:
        """Every spelling of the token that could reach a message: raw and base64-encoded."""
        return (
            self._value,
            self.basic_credentials(),
            base64.b64encode(self._value.encode()).decode("ascii"),
        )

    def scrub(self, text: str) -> str:
        for form in self.forms():
            text = text.replace(form, "***")
        return text

    def __repr__(self) -> str:
        return "Token(***)"

    __str__ = __repr__


def read_token(
    forge: str, token_file: Path | None, environ: Mapping[str, str] = os.environ
) -> Token:
    """The token from --token-file, else the forge's environment variable."""
    if token_file is not None:
        try:
            text = token_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise TokenError(f"--token-file {token_file}: cannot read it ({reason})") from None
        try:
            return Token(text.strip())
        except TokenError:
            raise TokenError(f"--token-file {token_file}: expected one token on one line") from None
    names = TOKEN_VARIABLES[forge]
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            try:
                return Token(value)
            except TokenError:
                raise TokenError(f"{name} holds whitespace inside the token") from None
    raise TokenError(
        f"no {forge} token: set {' or '.join(names)}, or pass --token-file FILE "
        "(--dry-run needs none)"
    )
