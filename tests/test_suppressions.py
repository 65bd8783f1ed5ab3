"""`//unleak:ignore [ID] reason` silences a finding: neither reported nor fixed."""

from __future__ import annotations

from pathlib import Path

import pytest

from codemod.suppress import parse_directive
from tests.cli_support import LEAKY, TWO_LEAKS, make_module, unleak

GO_LINE = b"\tgo func() {\n"
CPC = "close-producer-channel"


def with_comment(source: bytes, comment: bytes, above: bool) -> bytes:
    """Put `comment` on the finding's line (`go func() {`) or on its own line above it."""
    if above:
        return source.replace(GO_LINE, b"\t" + comment + b"\n" + GO_LINE, 1)
    return source.replace(GO_LINE, b"\tgo func() { " + comment + b"\n", 1)


@pytest.mark.parametrize("above", [False, True], ids=["same-line", "line-above"])
@pytest.mark.parametrize(
    "comment",
    [
        b"//unleak:ignore close-producer-channel the consumer reads exactly n values",
        b"//unleak:ignore",
        b"// unleak:ignore because tests read exactly n values",
    ],
    ids=["by-id", "bare", "all-with-reason"],
)
def test_suppressed_finding_is_neither_reported_nor_fixed(
    tmp_path: Path, comment: bytes, above: bool
) -> None:
    source = with_comment(LEAKY, comment, above)
    module = make_module(tmp_path, {"leaky.go": source})
    scanned = unleak("scan", ".", cwd=module)
    assert (scanned.returncode, scanned.stdout) == (0, ""), scanned.stderr
    fixed = unleak("fix", "--dry-run", ".", cwd=module)
    assert (fixed.returncode, fixed.stdout) == (0, "")
    unleak("fix", "--write", ".", cwd=module)
    assert (module / "leaky.go").read_bytes() == source


def test_suppression_for_another_id_does_not_silence(tmp_path: Path) -> None:
    source = with_comment(LEAKY, b"//unleak:ignore time-after-in-loop not this one", True)
    module = make_module(tmp_path, {"leaky.go": source})
    assert unleak("scan", ".", cwd=module).stdout.startswith("leaky.go:6:2: close-producer")


def test_suppression_two_lines_above_does_not_silence(tmp_path: Path) -> None:
    source = LEAKY.replace(b"\tout := make", b"\t//unleak:ignore\n\n\tout := make")
    module = make_module(tmp_path, {"leaky.go": source})
    assert unleak("scan", ".", cwd=module).returncode == 1


def test_suppression_silences_only_its_own_finding(tmp_path: Path) -> None:
    module = make_module(tmp_path, {"two.go": with_comment(TWO_LEAKS, b"//unleak:ignore", True)})
    result = unleak("fix", "--dry-run", "--color", "never", ".", cwd=module)
    assert result.stdout.count("+\t\tdefer close(out)") == 1
    assert "func Letters" in result.stdout  # the second function's fix is still there


def test_directive_inside_a_string_is_not_a_suppression(tmp_path: Path) -> None:
    source = LEAKY.replace(b"\tgo func() {\n", b'\tgo func() { _ = "//unleak:ignore"\n', 1)
    module = make_module(tmp_path, {"leaky.go": source})
    assert unleak("scan", ".", cwd=module).returncode == 1


def test_unused_ignores_are_reported_on_request(tmp_path: Path) -> None:
    clean = b"package p\n\n//unleak:ignore close-producer-channel stale\nfunc F() {}\n"
    used = with_comment(LEAKY, b"//unleak:ignore close-producer-channel used", True)
    module = make_module(tmp_path, {"clean.go": clean, "used.go": used})
    assert unleak("scan", ".", cwd=module).returncode == 0  # silent unless asked
    result = unleak("scan", "--report-unused-ignores", ".", cwd=module)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        # safe: `fix --report-unused-ignores` deletes the comment
        "clean.go:3:1: unused-ignore [safe] `//unleak:ignore close-producer-channel "
        "stale` silences nothing here (no close-producer-channel finding on this line or "
        "the next)"
    ]


def test_unused_ignore_for_an_unselected_id_is_not_judged(tmp_path: Path) -> None:
    clean = b"package p\n\n//unleak:ignore close-producer-channel stale\nfunc F() {}\n"
    module = make_module(tmp_path, {"clean.go": clean})
    result = unleak("scan", "--report-unused-ignores", "--ignore", CPC, ".", cwd=module)
    assert (result.returncode, result.stdout) == (0, "")


def test_misspelt_id_is_always_an_unused_ignore(tmp_path: Path) -> None:
    source = with_comment(LEAKY, b"//unleak:ignore close-producer-chanel typo", True)
    module = make_module(tmp_path, {"leaky.go": source})
    result = unleak("scan", "--report-unused-ignores", "--ignore", CPC, ".", cwd=module)
    assert result.stdout.startswith("leaky.go:5:2: unused-ignore [report-only]")


@pytest.mark.parametrize(
    "spelling", ["close_producer_channel", "CloseProducerChannel", "lost_cancel"]
)
def test_an_unknown_id_silences_nothing(tmp_path: Path, spelling: str) -> None:
    comment = f"//unleak:ignore {spelling} the consumer reads all".encode()
    module = make_module(tmp_path, {"leaky.go": with_comment(LEAKY, comment, True)})
    scanned = unleak("scan", ".", cwd=module)
    assert scanned.stdout.startswith("leaky.go:6:2: close-producer-channel"), scanned.stdout
    fixed = unleak("fix", "--dry-run", "--color", "never", ".", cwd=module)
    assert "+\t\tdefer close(out)" in fixed.stdout


def test_an_unknown_id_is_reported_as_unknown_even_beside_a_used_one(tmp_path: Path) -> None:
    comment = b"//unleak:ignore close-producer-channel,Close_Producer_Channel why"
    module = make_module(tmp_path, {"leaky.go": with_comment(LEAKY, comment, True)})
    result = unleak("scan", "--report-unused-ignores", ".", cwd=module)
    assert result.stdout.splitlines() == [
        f"leaky.go:5:2: unused-ignore [report-only] `{comment.decode()}` names no known "
        "transform id: Close_Producer_Channel (did you mean close-producer-channel?); it "
        "silences nothing"
    ]


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("//unleak:ignore", (None, "")),
        (
            "//unleak:ignore close-producer-channel why",
            (frozenset({"close-producer-channel"}), "why"),
        ),
        ("//unleak:ignore a-b,c-d", (frozenset({"a-b", "c-d"}), "")),
        ("// unleak:ignore because reasons", (None, "because reasons")),
        ("//unleak:ignore lost_cancel why", (frozenset({"lost_cancel"}), "why")),
        ("//unleak:ignore LostCancel", (frozenset({"LostCancel"}), "")),
        ("//unleak:ignored", None),
        ("// nolint", None),
    ],
)
def test_directive_grammar(
    comment: str, expected: tuple[frozenset[str] | None, str] | None
) -> None:
    assert parse_directive(comment) == expected
