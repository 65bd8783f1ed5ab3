"""Import management: the file ends up importing what a fix needs, as gofmt would lay it out."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from codemod.edits import apply_edits
from codemod.go.parse import parse_source
from codemod.imports import ImportConflict, import_edits, unused_import_edits

CASES = {
    "no imports": (
        "package p\n\nfunc f() {}\n",
        'package p\n\nimport "context"\n\nfunc f() {}\n',
    ),
    "single import": (
        'package p\n\nimport "fmt"\n\nfunc f() { fmt.Println() }\n',
        'package p\n\nimport (\n\t"context"\n\t"fmt"\n)\n\nfunc f() { fmt.Println() }\n',
    ),
    "group, sorted in the middle": (
        'package p\n\nimport (\n\t"bytes"\n\t"fmt"\n)\n',
        'package p\n\nimport (\n\t"bytes"\n\t"context"\n\t"fmt"\n)\n',
    ),
    "group, at the end of the std run": (
        'package p\n\nimport (\n\t"bytes"\n\n\t"example.com/x"\n)\n',
        'package p\n\nimport (\n\t"bytes"\n\t"context"\n\n\t"example.com/x"\n)\n',
    ),
    "group of third-party only": (
        'package p\n\nimport (\n\t"example.com/x"\n)\n',
        'package p\n\nimport (\n\t"context"\n\n\t"example.com/x"\n)\n',
    ),
    "already imported": (
        'package p\n\nimport "context"\n',
        'package p\n\nimport "context"\n',
    ),
}


@pytest.mark.parametrize(("before", "after"), CASES.values(), ids=CASES.keys())
def test_context_import_is_added(before: str, after: str) -> None:
    parsed = parse_source(before.encode())
    result = apply_edits(parsed.source, import_edits(parsed, ("context",)))
    assert result.decode() == after


@pytest.mark.parametrize(("before", "_after"), CASES.values(), ids=CASES.keys())
def test_result_is_gofmt_clean(before: str, _after: str) -> None:
    gofmt = shutil.which("gofmt")
    if gofmt is None:
        pytest.skip("gofmt not installed")
    parsed = parse_source(before.encode())
    result = apply_edits(
        parsed.source, import_edits(parsed, ("context", "golang.org/x/sync/errgroup"))
    )
    formatted = subprocess.run([gofmt], input=result, capture_output=True, check=True).stdout
    assert formatted.decode() == result.decode()


def test_aliased_import_is_a_conflict() -> None:
    parsed = parse_source(b'package p\n\nimport ctx "context"\n')
    with pytest.raises(ImportConflict):
        import_edits(parsed, ("context",))


UNUSED_CASES = {
    "used as a type": ("var mu sync.Mutex", True),
    "used in a composite literal": ("var wg = sync.WaitGroup{}", True),
    "used as a call": ("var once = sync.OnceFunc(func() {})", True),
    "no longer used": ("var n = 1", False),
}


@pytest.mark.parametrize(("declaration", "kept"), UNUSED_CASES.values(), ids=UNUSED_CASES.keys())
def test_only_unused_imports_are_dropped(declaration: str, kept: bool) -> None:
    source = f'package p\n\nimport (\n\t"fmt"\n\t"sync"\n)\n\n{declaration}\n\nvar _ = fmt.Sprint\n'
    parsed = parse_source(source.encode())
    result = apply_edits(parsed.source, unused_import_edits(parsed, ("sync",))).decode()
    assert ('"sync"' in result) == kept
    assert '"fmt"' in result
