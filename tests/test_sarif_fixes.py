"""SARIF fixes are the fix's own byte edits, emitted without diffing the files (issue 20
item 8: difflib took ~88% of a SARIF run on nats-server)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from codemod.engine import RunOptions, process_source
from codemod.gomod import ModuleFacts
from codemod.sinks.report import SarifSink
from tests.conftest import ROOT

FETCH = ROOT / "examples" / "fetch" / "fetch.go"


def _sarif(source: bytes, path: Path) -> list[dict[str, object]]:
    result = process_source(path, source, ModuleFacts("example.com/m", (1, 22), None), RunOptions())
    stream = io.StringIO()
    sink = SarifSink(stream)
    sink.accept(result)
    sink.close()
    results: list[dict[str, object]] = json.loads(stream.getvalue())["runs"][0]["results"]
    return results


def _applied(source: bytes, replacements: list[dict[str, dict[str, object]]]) -> bytes:
    for replacement in sorted(
        replacements, key=lambda r: -int(str(r["deletedRegion"]["byteOffset"]))
    ):
        start = int(str(replacement["deletedRegion"]["byteOffset"]))
        length = int(str(replacement["deletedRegion"]["byteLength"]))
        text = str(replacement.get("insertedContent", {}).get("text", "")).encode()
        source = source[:start] + text + source[start + length :]
    return source


def test_sarif_replacements_are_the_edits_themselves() -> None:
    source = FETCH.read_bytes()
    results = _sarif(source, FETCH)
    buffered = next(r for r in results if r["ruleId"] == "buffer-orphaned-result")
    (change,) = buffered["fixes"][0]["artifactChanges"]  # type: ignore[index]
    (replacement,) = change["replacements"]
    # `make(chan string)` -> `make(chan string, 1)`: three bytes inserted, no line replaced.
    assert replacement["deletedRegion"] == {
        "byteOffset": source.index(b"make(chan string)") + len(b"make(chan string"),
        "byteLength": 0,
    }
    assert replacement["insertedContent"] == {"text": ", 1"}


def test_sarif_of_a_large_file_never_diffs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    source = FETCH.read_bytes()
    padding = b"".join(b"\nfunc F%d() int { return %d }\n" % (n, n) for n in range(3000))
    large = source + padding

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("SequenceMatcher used for a fix whose edits are known")

    monkeypatch.setattr("difflib.SequenceMatcher", refuse)
    results = _sarif(large, FETCH)
    assert {r["ruleId"] for r in results} == {"buffer-orphaned-result", "lost-cancel"}
    for entry in results:
        (change,) = entry["fixes"][0]["artifactChanges"]  # type: ignore[index]
        fixed = _applied(large, change["replacements"])
        assert fixed != large and fixed.endswith(padding)
