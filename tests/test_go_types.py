"""codemod.go.types: the types a file declares and the fields of its structs."""

from __future__ import annotations

from codemod.go.parse import parse_source
from codemod.go.syntax import text
from codemod.go.types import struct_field_types, top_level_types

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
