"""codemod.go.types: the types a file declares, the fields of its structs, zero values."""

from __future__ import annotations

import pytest

from codemod.go.parse import parse_source
from codemod.go.syntax import FUNCTION_TYPES, descendants, text
from codemod.go.types import (
    struct_field_types,
    top_level_types,
    type_parameters_around,
    zero_value,
)

SOURCE = b"""package p

type (
	server struct {
		wg     sync.WaitGroup
		quit   chan struct{}
		a, b   int
		ticker *time.Ticker
	}
	names []string
	ctxKey = string
)

type list[T any] struct {
	items []T
}

func f() {
	type local struct {
		done chan bool
	}
	type server struct{}
}
"""


def test_top_level_types_name_specs_and_aliases() -> None:
    types = top_level_types(parse_source(SOURCE).root)
    assert {name: spec.type for name, spec in types.items()} == {
        "server": "type_spec",
        "names": "type_spec",
        "ctxKey": "type_alias",
        "list": "type_spec",
    }


def test_struct_fields_with_their_written_types() -> None:
    structs = struct_field_types(parse_source(SOURCE).root)
    assert "list" not in structs  # generic: its fields' types depend on T
    assert {name: text(kind) for name, kind in structs["local"].items()} == {"done": "chan bool"}
    # `server` is declared again inside f: which one a use means is not known here.
    assert structs["server"] == {}


def test_struct_fields_of_a_single_declaration() -> None:
    source = SOURCE.replace(b"\ttype server struct{}\n", b"")
    structs = struct_field_types(parse_source(source).root)
    assert {name: text(kind) for name, kind in structs["server"].items()} == {
        "wg": "sync.WaitGroup",
        "quit": "chan struct{}",
        "a": "int",
        "b": "int",
        "ticker": "*time.Ticker",
    }


ZERO_SOURCE = """package p

type point struct{ x, y int }
type celsius float64
type id = string
type pair[T any] struct{ a, b T }
type ids []int
type deep deeper
type deeper deepest
type deepest level4
type level4 level5
type level5 int

func (s *set[K]) f() {}
"""

# (type as written in a result list, its zero value; None: none can be written for sure)
ZEROS = [
    ("int", "0"),
    ("uint8", "0"),
    ("string", '""'),
    ("bool", "false"),
    ("error", "nil"),
    ("any", "nil"),
    ("*point", "nil"),
    ("[]byte", "nil"),
    ("map[string]int", "nil"),
    ("chan int", "nil"),
    ("func()", "nil"),
    ("interface{ M() }", "nil"),
    ("interface{}", "nil"),
    ("struct{}", "struct{}{}"),
    ("[2]int", "[2]int{}"),
    ("point", "point{}"),
    ("celsius", "0"),
    ("id", '""'),
    ("ids", "nil"),
    ("pair[int]", "pair[int]{}"),
    ("pair", None),  # generic without arguments: does not compile, not guessed
    ("deep", None),  # four steps to a predeclared type: followed no further
    ("K", "*new(K)"),  # a type parameter of the receiver
    ("time.Duration", None),  # declared in another package: not in sight
    ("unknown", None),
]


@pytest.mark.parametrize(("written", "expected"), ZEROS)
def test_zero_value(written: str, expected: str | None) -> None:
    source = ZERO_SOURCE + f"\nfunc g() ({written}, error) {{ return }}\n"
    root = parse_source(source.encode()).root
    functions = [n for n in root.named_children if n.type in FUNCTION_TYPES]
    method, function = functions[0], functions[1]
    result = function.child_by_field_name("result")
    assert result is not None
    type_node = result.named_children[0].child_by_field_name("type")
    assert type_node is not None and text(type_node) == written
    assert zero_value(type_node, top_level_types(root), type_parameters_around(method)) == expected


def test_type_parameters_around() -> None:
    source = b"package p\n\nfunc f[A any, B comparable]() { _ = func() {} }\n"
    root = parse_source(source).root
    literal = next(n for n in descendants(root) if n.type == "func_literal")
    assert type_parameters_around(literal) == {"A", "B"}
    assert type_parameters_around(root.named_children[-1]) == {"A", "B"}
