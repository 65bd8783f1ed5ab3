"""codemod.go.waitgroups: which expressions are a sync.WaitGroup in one file."""

from __future__ import annotations

import pytest
from tree_sitter import Node

from codemod.go.parse import parse_source
from codemod.go.syntax import descendants, imported_name, text
from codemod.go.waitgroups import WaitGroups, constructs_waitgroup


def waited_on(source: str) -> tuple[Node, Node]:
    """The file's root and the receiver of its `.Wait()` call."""
    root = parse_source(source.encode()).root
    call = next(
        n for n in descendants(root) if n.type == "call_expression" and text(n).endswith(".Wait()")
    )
    function = call.child_by_field_name("function")
    assert function is not None
    operand = function.child_by_field_name("operand")
    assert operand is not None
    return root, operand


CASES = [
    ("var", 'import "sync"\n\nfunc f() {\n\tvar wg sync.WaitGroup\n\twg.Wait()\n}', True),
    ("import alias", 'import s "sync"\n\nfunc f() {\n\tvar wg s.WaitGroup\n\twg.Wait()\n}', True),
    (
        "alias not followed by name",
        'import s "sync"\n\nfunc f() {\n\tvar wg sync.WaitGroup\n\twg.Wait()\n}',
        False,
    ),
    (
        "composite literal",
        'import "sync"\n\nfunc f() {\n\twg := &sync.WaitGroup{}\n\twg.Wait()\n}',
        True,
    ),
    ("new", 'import "sync"\n\nfunc f() {\n\twg := new(sync.WaitGroup)\n\twg.Wait()\n}', True),
    ("pointer parameter", 'import "sync"\n\nfunc f(wg *sync.WaitGroup) {\n\twg.Wait()\n}', True),
    ("value parameter", 'import "sync"\n\nfunc f(wg sync.WaitGroup) {\n\twg.Wait()\n}', False),
    (
        "struct field",
        'import "sync"\n\ntype s struct {\n\twg sync.WaitGroup\n}\n\n'
        "func f() {\n\tx := &s{}\n\tx.wg.Wait()\n}",
        True,
    ),
    (
        "pointer field of a parameter",
        'import "sync"\n\ntype s struct {\n\twg *sync.WaitGroup\n}\n\n'
        "func (x *s) f() {\n\tx.wg.Wait()\n}",
        True,
    ),
    (
        "another package's WaitGroup",
        'import (\n\t"sync"\n\n\t"example.com/group"\n)\n\nvar _ sync.Mutex\n\n'
        "func f() {\n\tvar wg group.WaitGroup\n\twg.Wait()\n}",
        False,
    ),
    (
        "errgroup is not one",
        'import "sync"\n\nfunc f() {\n\tvar g errgroup.Group\n\tg.Wait()\n}',
        False,
    ),
]


@pytest.mark.parametrize(("name", "body", "expected"), CASES, ids=[c[0] for c in CASES])
def test_is_waitgroup(name: str, body: str, expected: bool) -> None:
    root, receiver = waited_on(f"package p\n\n{body}\n")
    sync_name = imported_name(root, "sync")
    assert sync_name is not None
    assert WaitGroups(root, sync_name).is_waitgroup(receiver) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("sync.WaitGroup{}", True),
        ("&sync.WaitGroup{}", True),
        ("new(sync.WaitGroup)", True),
        ("new(sync.Mutex)", False),
        ("other.WaitGroup{}", False),
        ("makeGroup()", False),
    ],
)
def test_constructs_waitgroup(value: str, expected: bool) -> None:
    root = parse_source(f"package p\n\nvar x = {value}\n".encode()).root
    spec = next(n for n in descendants(root) if n.type == "var_spec")
    values = spec.child_by_field_name("value")
    assert values is not None
    assert constructs_waitgroup("sync", values.named_children[0]) is expected
