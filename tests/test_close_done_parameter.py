"""close-done-parameter beyond the fixtures: what counts as closing on some paths only."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.gomod import parse_gomod
from codemod.model import Safety
from tests.conftest import run_codemod

GO_122 = parse_gomod("module example\n\ngo 1.22\n", Path("go.mod"))
ID = "close-done-parameter"

WATCH = """package example

func watch(updates <-chan int, NAME chan struct{}) {
	for u := range updates {
		if u > 0 {
			BODY
		}
	}
}
"""


def _safeties(body: str, name: str = "done") -> list[Safety]:
    source = WATCH.replace("BODY", body).replace("NAME", name).encode()
    return [f.safety for f in run_codemod(source, GO_122, select=ID, unsafe=True).findings]


def test_close_then_nil_on_some_paths_gets_a_guarded_defer() -> None:
    assert _safeties("close(done)\n\t\t\tdone = nil\n\t\t\treturn") == [Safety.REVIEW]


def test_close_without_forgetting_the_channel_is_only_reported() -> None:
    """A deferred close would close it a second time: panic."""
    assert _safeties("close(done)\n\t\t\treturn") == [Safety.REPORT_ONLY]


@pytest.mark.parametrize(
    "body",
    [
        "done <- struct{}{}",  # a value, not a close: the receiver decides
        "keep(done)",  # handed on: someone else may close it
        "go func() { close(done) }()",  # a closure closes it when it likes
    ],
)
def test_other_uses_keep_it_silent(body: str) -> None:
    assert _safeties(body) == []


def test_a_channel_not_named_as_a_signal_is_data() -> None:
    assert _safeties("close(out)\n\t\t\tout = nil\n\t\t\treturn", name="out") == []


def test_a_deferred_close_covers_every_path() -> None:
    source = WATCH.replace("\tfor u", "\tdefer close(done)\n\tfor u").replace("BODY", "return")
    assert run_codemod(source.replace("NAME", "done").encode(), GO_122, select=ID).findings == []
