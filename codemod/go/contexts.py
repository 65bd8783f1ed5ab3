"""Contexts: the packages that provide context.Context."""

from __future__ import annotations

# The standard package, and the pre-Go 1.7 one that now aliases it.
CONTEXT_PATHS = ("context", "golang.org/x/net/context")
