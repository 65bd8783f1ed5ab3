"""Sinks: the only places results leave the pipeline (terminal, files on disk, reports)."""

from __future__ import annotations

from typing import Protocol

from codemod.model import FileResult


class Sink(Protocol):
    def accept(self, result: FileResult) -> None: ...

    def close(self) -> None: ...
