"""Contexts: the packages that provide context.Context, and the context package's functions
whose result nobody can cancel."""

from __future__ import annotations

# The standard package, and the pre-Go 1.7 one that now aliases it.
CONTEXT_PATHS = ("context", "golang.org/x/net/context")

# Contexts made from nothing: no parent, so no cancel reaches them.
ROOT_CONTEXTS = frozenset({"Background", "TODO"})
# Contexts that are never done: the roots, and a parent's values cut off from its cancel.
NEVER_CANCELLED = ROOT_CONTEXTS | {"WithoutCancel"}
# Keeps its parent's fate: never cancelled exactly when the parent is not.
INHERITS_CANCEL = frozenset({"WithValue"})
