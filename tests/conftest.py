"""Shared test helpers: fixture discovery and a one-call codemod check."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from codemod.engine import RunOptions, process_source
from codemod.gomod import ModuleFacts, parse_gomod
from codemod.model import FileResult, Safety
from codemod.package import Siblings
from tests.expectations import GOLDEN_NAME, Want, read_markers

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
DEFAULT_FIXTURE_GO_VERSION = "1.22"


@dataclass(frozen=True)
class FixtureCase:
    transform_id: str
    name: str
    directory: Path

    @property
    def id(self) -> str:
        return f"{self.transform_id}/{self.name}"

    @property
    def before(self) -> bytes:
        return (self.directory / "before.go").read_bytes()

    @property
    def after(self) -> bytes | None:
        path = self.directory / "after.go"
        return path.read_bytes() if path.exists() else None

    @property
    def module(self) -> ModuleFacts:
        gomod = self.directory / "go.mod"
        text = (
            gomod.read_text()
            if gomod.exists()
            else f"module fixture\n\ngo {DEFAULT_FIXTURE_GO_VERSION}\n"
        )
        # Always inside a module, as fixtures stand for code in one (go.mod may be implicit).
        return parse_gomod(text, gomod)

    @property
    def siblings(self) -> Siblings:
        """package/*.go: the rest of the case's package (other files of before.go's package)."""
        return Siblings.of_sources(
            {p.name: p.read_bytes() for p in sorted((self.directory / "package").glob("*.go"))}
        )

    def markers(self) -> list[Want]:
        """Every `// want "id:safety"` expectation in before.go."""
        return read_markers(self.before)

    @property
    def golden(self) -> Path:
        """findings.golden: every finding on before.go as `unleak scan` prints it."""
        return self.directory / GOLDEN_NAME


def fixture_cases() -> list[FixtureCase]:
    return [
        FixtureCase(case.parent.name, case.name, case)
        for case in sorted(FIXTURES.glob("*/*"))
        if (case / "before.go").exists() and not case.parent.name.startswith("_")
    ]


def run_codemod(
    source: bytes,
    module: ModuleFacts,
    select: str | None = None,
    unsafe: bool = False,
    path: Path = Path("fixture.go"),
    siblings: Siblings | None = None,
) -> FileResult:
    """The whole per-file pipeline on one source, as `unleak fix` runs it (gofmt included)."""
    options = RunOptions(
        select=frozenset({select}) if select else None,
        fix=True,
        apply_threshold=Safety.REVIEW if unsafe else Safety.SAFE,
    )
    return process_source(path, source, module, options, siblings)


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    return val.id if isinstance(val, FixtureCase) else None


@pytest.fixture(autouse=True)
def private_scan_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`unleak scan` caches results under $XDG_CACHE_HOME: each test gets its own, empty."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
