"""The pure parts of benchmarks/realbugs.py: reading `git diff -U0`, proximity, line mapping."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from hypothesis import given
from hypothesis import strategies as st


def _load() -> ModuleType:
    path = Path(__file__).resolve().parent.parent / "benchmarks" / "realbugs.py"
    spec = importlib.util.spec_from_file_location("realbugs", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["realbugs"] = module
    spec.loader.exec_module(module)
    return module


realbugs = _load()

DIFF = """\
diff --git a/server/loop.go b/server/loop.go
index 1111111..2222222 100644
--- a/server/loop.go
+++ b/server/loop.go
@@ -10,2 +10,4 @@ func (s *Server) run() {
-\tfor range t.C {
-\t\ts.tick()
+\tfor {
+\t\tselect {
+\t\tcase <-t.C:
+\t\t}
@@ -30,0 +33 @@ func (s *Server) Stop() {
+\tclose(s.quit)
@@ -40 +43,0 @@ func other() {
-\tgo leak()
diff --git a/server/new.go b/server/new.go
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/server/new.go
@@ -0,0 +1,2 @@
+package server
+func helper() {}
"""


def test_hunks_are_read_per_old_path_and_a_new_file_per_new_path() -> None:
    hunks = realbugs.parse_unified_zero(DIFF)
    Hunk = realbugs.Hunk
    assert hunks["server/loop.go"] == [Hunk(10, 2, 10, 4), Hunk(30, 0, 33, 1), Hunk(40, 1, 43, 0)]
    assert hunks["server/new.go"] == [Hunk(0, 0, 1, 2)]


def test_changed_parent_lines_count_both_neighbours_of_an_insertion() -> None:
    hunks = realbugs.parse_unified_zero(DIFF)
    assert realbugs.changed_parent_lines(hunks["server/loop.go"]) == {10, 11, 30, 31, 40}
    # A file the fix adds has no parent lines.
    assert realbugs.changed_parent_lines(hunks["server/new.go"]) == {1}


def test_proximity_is_three_lines_either_side() -> None:
    assert realbugs.is_near(7, {10})
    assert realbugs.is_near(13, {10})
    assert not realbugs.is_near(6, {10})
    assert not realbugs.is_near(14, {10})


def test_parent_lines_map_through_the_hunks() -> None:
    hunks = realbugs.parse_unified_zero(DIFF)["server/loop.go"]
    assert realbugs.map_parent_line(5, hunks) == 5
    assert realbugs.map_parent_line(11, hunks) == 10  # changed: the start of its hunk
    assert realbugs.map_parent_line(20, hunks) == 22  # after +2
    assert realbugs.map_parent_line(30, hunks) == 32  # the insertion comes after line 30
    assert realbugs.map_parent_line(31, hunks) == 34
    assert realbugs.map_parent_line(50, hunks) == 52  # the deleted line takes one back


@given(
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5), st.integers(1, 20)), max_size=6),
    st.integers(1, 400),
)
def test_unchanged_lines_map_to_lines_holding_the_same_text(
    edits: list[tuple[int, int, int]], line: int
) -> None:
    # Build a parent file and a fixed file from random replacements, diff them with the
    # parser's own format, and check an unchanged line keeps its text where it maps to.
    parent = [f"p{n}" for n in range(1, 401)]
    fixed: list[str] = []
    hunks = []
    cursor = 0
    for removed, added, gap in edits:
        keep_until = min(cursor + gap, len(parent))
        fixed.extend(parent[cursor:keep_until])
        cursor = keep_until
        removed = min(removed, len(parent) - cursor)
        if not removed and not added:
            continue
        old_start = cursor + 1 if removed else cursor
        new_start = len(fixed) + 1 if added else len(fixed)
        hunks.append(realbugs.Hunk(old_start, removed, new_start, added))
        fixed.extend(f"n{cursor}-{k}" for k in range(added))
        cursor += removed
    fixed.extend(parent[cursor:])
    changed = {
        n for h in hunks if h.old_count for n in range(h.old_start, h.old_start + h.old_count)
    }
    if line in changed:
        return
    assert fixed[realbugs.map_parent_line(line, hunks) - 1] == parent[line - 1]


def test_same_finding_needs_the_rule_and_the_file_and_the_line_or_the_message() -> None:
    parent = {"file": "a.go", "id": "ctx-done-arm", "line": 20, "message": "send on `ch`"}
    moved = {**parent, "line": 40}
    assert realbugs.is_same_finding(parent, 21, {**parent, "line": 23})
    assert realbugs.is_same_finding(parent, 21, moved)  # same message further down
    assert not realbugs.is_same_finding(parent, 21, {**moved, "message": "send on `out`"})
    assert not realbugs.is_same_finding(parent, 21, {**parent, "id": "lost-cancel"})
    assert not realbugs.is_same_finding(parent, 21, {**parent, "file": "b.go"})


def test_only_non_test_go_files_unleak_walks_into_count() -> None:
    assert realbugs.is_scanned_go_source("server/loop.go")
    assert not realbugs.is_scanned_go_source("server/loop_test.go")
    assert not realbugs.is_scanned_go_source("vendor/x/y.go")
    assert not realbugs.is_scanned_go_source("server/testdata/z.go")
    assert not realbugs.is_scanned_go_source("README.md")
