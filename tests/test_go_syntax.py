"""codemod.go.syntax and timers: what a file imports, and under which names."""

from __future__ import annotations

import pytest

from codemod.go.parse import parse_source
from codemod.go.syntax import descendants, import_specs, imported_name, text_or_empty
from codemod.go.timers import imports_time

IMPORTS = b"""package p

import (
	"context"
	stdsync "sync"
	_ "embed"
	. "fmt"
	"golang.org/x/net/context/ctxhttp"
)

import "time"
"""


def test_import_specs_in_order_with_their_names() -> None:
    assert list(import_specs(parse_source(IMPORTS).root)) == [
        ("context", None),
        ("sync", "stdsync"),
        ("embed", "_"),
        ("fmt", "."),
        ("golang.org/x/net/context/ctxhttp", None),
        ("time", None),
    ]


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("context", "context"),
        ("sync", "stdsync"),
        ("embed", None),  # blank import: no name to use
        ("fmt", None),  # dot import
        ("golang.org/x/net/context/ctxhttp", "ctxhttp"),
        ("net/http", None),  # not imported
    ],
)
def test_imported_name(path: str, name: str | None) -> None:
    assert imported_name(parse_source(IMPORTS).root, path) == name


@pytest.mark.parametrize(
    ("imports", "standard"),
    [
        ('import "time"', True),
        ("", True),  # no import: taken as written
        ('import t "time"', False),  # `time` would not name it
        ('import (\n\t"time"\n\tt "time"\n)', True),
        ('import time "example.com/clock"', False),  # another package answers to `time`
    ],
)
def test_imports_time(imports: str, standard: bool) -> None:
    root = parse_source(f"package p\n\n{imports}\n".encode()).root
    assert imports_time(root) is standard


# (function, the text of its result field: "" where the field is absent)
RESULTS = [
    ("func f() error { return nil }", "error"),
    ("func f() (int, error) { return 0, nil }", "(int, error)"),
    ("func f() {}", ""),
]


@pytest.mark.parametrize(("function", "result"), RESULTS)
def test_text_or_empty(function: str, result: str) -> None:
    root = parse_source(f"package p\n\n{function}\n".encode()).root
    declaration = next(n for n in descendants(root) if n.type == "function_declaration")
    assert text_or_empty(declaration.child_by_field_name("result")) == result
