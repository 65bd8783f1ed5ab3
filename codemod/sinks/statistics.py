"""`--statistics`: one line per rule (count, id, how many fixable, title), like ruff's."""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from codemod.model import FileResult, Safety
from codemod.suppress import NO_REASON_ID, UNUSED_IGNORE_ID
from transforms import transform_by_id

UNUSED_IGNORE_TITLE = "`//unleak:ignore` comment that silences nothing"


def rule_title(rule_id: str) -> str:
    transform = transform_by_id(rule_id)
    if transform is not None:
        return transform.title
    if rule_id == NO_REASON_ID:
        return "`//unleak:ignore` comment that gives no reason"
    return UNUSED_IGNORE_TITLE if rule_id == UNUSED_IGNORE_ID else ""


class StatisticsSink:
    """Counts findings per rule and prints the table at close, most frequent first.

    Fixable: the finding carries a fix at or above `threshold` (what `fix` would apply).
    """

    def __init__(self, stream: TextIO, threshold: Safety) -> None:
        self.stream = stream
        self.threshold = threshold
        self.counts: Counter[str] = Counter()
        self.fixable: Counter[str] = Counter()

    def accept(self, result: FileResult) -> None:
        for finding in result.findings:
            self.counts[finding.transform_id] += 1
            if finding.fix is not None and finding.safety >= self.threshold:
                self.fixable[finding.transform_id] += 1

    def lines(self) -> list[str]:
        if not self.counts:
            return []
        rules = sorted(self.counts, key=lambda rule: (-self.counts[rule], rule))
        count_width = len(str(max(self.counts.values())))
        id_width = max(len(rule) for rule in rules)
        fixable_width = len(str(max(self.fixable.values(), default=0)))
        return [
            f"{self.counts[rule]:>{count_width}}  {rule:<{id_width}}  "
            f"{self.fixable[rule]:>{fixable_width}} fixable  {rule_title(rule)}".rstrip()
            for rule in rules
        ]

    def close(self) -> None:
        for line in self.lines():
            self.stream.write(line + "\n")
        self.stream.flush()
