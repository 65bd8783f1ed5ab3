"""--format json | sarif | github | diff, on a real Go module, validated against their schemas."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.cli_support import LEAKY, make_module, unleak
from tests.conftest import ROOT

CLEAN = b"package p\n\nfunc Add(a, b int) int {\n\treturn a + b\n}\n"
# Multi-byte text before the finding: SARIF columns count UTF-16 units, ours count bytes.
WIDE = LEAKY.replace(b"func Numbers", b"// \xc3\xa9t\xc3\xa9\nfunc Numbers").replace(
    b"\tgo func() {", b"\t/* \xc3\xa9 */ go func() {"
)

# The SARIF 2.1.0 schemas Microsoft publishes in npm packages (never committed here):
# the SARIF SDK's final 2.1.0 schema, and the 2.1.0 release-candidate copy in jest-sarif.
SARIF_SCHEMAS = {
    "sarif-sdk": ("@microsoft/sarif-multitool-linux@5.7.0", "package/sarif-2.1.0.json"),
    "jest-sarif": (
        "@microsoft/jest-sarif@1.0.0-beta.0",
        "package/lib/schemas/sarif-2.1.0-rtm.5.json",
    ),
}
SCHEMA_CACHE = Path.home() / ".cache" / "unleak-tests" / "sarif-schemas"


@pytest.fixture
def module(tmp_path: Path) -> Path:
    return make_module(tmp_path, {"leaky.go": LEAKY, "clean.go": CLEAN})


def sarif_schema(name: str) -> dict[str, Any]:
    """The schema from its npm package, downloaded once per machine into ~/.cache."""
    package, member = SARIF_SCHEMAS[name]
    cached = SCHEMA_CACHE / f"{name}.json"
    if not cached.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to fetch the SARIF schema from the npm registry")
        SCHEMA_CACHE.mkdir(parents=True, exist_ok=True)
        packed = subprocess.run(
            [npm, "pack", "--silent", package],
            cwd=SCHEMA_CACHE,
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        tarball = SCHEMA_CACHE / packed.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball) as archive:
            extracted = archive.extractfile(member)
            assert extracted is not None
            cached.write_bytes(extracted.read())
        tarball.unlink()
    schema: dict[str, Any] = json.loads(cached.read_text(encoding="utf-8"))
    return schema


def validate(document: object, schema: dict[str, Any]) -> None:
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def documented_json_schema() -> dict[str, Any]:
    text = (ROOT / "docs" / "json-format.md").read_text(encoding="utf-8")
    section = text.split("## JSON Schema", 1)[1]
    match = re.search(r"```json\n(.*?)```", section, re.S)
    assert match, "docs/json-format.md lost its JSON Schema block"
    schema: dict[str, Any] = json.loads(match.group(1))
    return schema


@pytest.mark.parametrize("command", [["scan"], ["fix", "--dry-run"]], ids=["scan", "fix"])
def test_json_report_follows_the_documented_schema(module: Path, command: list[str]) -> None:
    result = unleak(*command, "--format", "json", ".", cwd=module)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)  # stdout is the JSON document and nothing else
    validate(report, documented_json_schema())
    (finding,) = report["findings"]
    assert (finding["file"], finding["line"], finding["column"]) == ("leaky.go", 5, 2)
    assert (finding["end_line"], finding["end_column"]) == (9, 5)
    assert finding["id"] == "close-producer-channel" and finding["safety"] == "safe"
    assert "+\t\tdefer close(out)\n" in finding["fix"]
    assert finding["applied"] is (command[0] == "fix")
    assert report["command"] == command[0]
    assert report["summary"]["by_id"] == {"close-producer-channel": 1}
    assert report["summary"]["files"] == 2


def test_json_fix_diff_applies_with_git(module: Path) -> None:
    report = json.loads(unleak("scan", "--format", "json", ".", cwd=module).stdout)
    subprocess.run(["git", "init", "-q"], cwd=module, check=True)
    patch = report["findings"][0]["fix"]
    subprocess.run(["git", "apply", "-"], input=patch, text=True, cwd=module, check=True)
    assert b"defer close(out)" in (module / "leaky.go").read_bytes()


def test_json_report_without_findings_is_still_a_document(module: Path) -> None:
    (module / "leaky.go").unlink()
    result = unleak("scan", "--format", "json", ".", cwd=module)
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["findings"] == [] and report["summary"]["findings"] == 0


@pytest.mark.parametrize("schema_name", sorted(SARIF_SCHEMAS))
@pytest.mark.parametrize("command", [["scan"], ["fix", "--dry-run"]], ids=["scan", "fix"])
def test_sarif_is_valid_sarif_2_1_0(module: Path, command: list[str], schema_name: str) -> None:
    result = unleak(*command, "--format", "sarif", ".", cwd=module)
    assert result.returncode == 1, result.stderr
    log = json.loads(result.stdout)
    validate(log, sarif_schema(schema_name))
    assert log["version"] == "2.1.0"


def test_sarif_rules_results_and_fixes(module: Path) -> None:
    log = json.loads(unleak("scan", "--format", "sarif", ".", cwd=module).stdout)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    rule = next(r for r in rules if r["id"] == "close-producer-channel")
    assert "## Why is this bad?" in rule["help"]["markdown"]  # from documentation()
    assert rule["shortDescription"]["text"].startswith("Close the channel")
    (result,) = run["results"]
    assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == "close-producer-channel"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "leaky.go"
    assert location["region"]["startLine"] == 5 and location["region"]["startColumn"] == 2
    (change,) = result["fixes"][0]["artifactChanges"]
    source = (module / "leaky.go").read_bytes()
    fixed = source
    for replacement in reversed(change["replacements"]):
        region = replacement["deletedRegion"]
        start, length = region["byteOffset"], region["byteLength"]
        inserted = replacement.get("insertedContent", {}).get("text", "").encode()
        fixed = fixed[:start] + inserted + fixed[start + length :]
    # Applying the SARIF replacements gives exactly what `fix --write` writes.
    unleak("fix", "--write", ".", cwd=module)
    assert fixed == (module / "leaky.go").read_bytes() != source


def test_sarif_columns_count_utf16_units(module: Path) -> None:
    (module / "leaky.go").write_bytes(WIDE)
    log = json.loads(unleak("scan", "--format", "sarif", ".", cwd=module).stdout)
    region = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    plain = json.loads(unleak("scan", "--format", "json", ".", cwd=module).stdout)
    byte_column = plain["findings"][0]["column"]
    # `\t/* é */ go`: the é is two bytes but one UTF-16 unit.
    assert (byte_column, region["startColumn"]) == (11, 10)


def test_github_annotations(module: Path) -> None:
    (module / "sub dir").mkdir()
    (module / "sub dir" / "x,y.go").write_bytes(LEAKY)
    result = unleak("scan", "--format", "github", ".", cwd=module)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "::warning file=leaky.go,line=5,col=2,endLine=9,endColumn=5,"
        "title=unleak close-producer-channel [safe]::goroutine is the only sender on `out` "
        "but never closes it; a `range` over `out` blocks forever after the last value"
    )
    # Property values escape `,` and `:` as the workflow-command syntax requires.
    assert lines[1].startswith("::warning file=sub dir/x%2Cy.go,line=5,")


def test_scan_format_diff_is_the_fix_patch(module: Path) -> None:
    scanned = unleak("scan", "--format", "diff", "--color", "never", ".", cwd=module)
    fixed = unleak("fix", "--dry-run", "--color", "never", ".", cwd=module)
    assert scanned.returncode == 1
    assert scanned.stdout == fixed.stdout and "+\t\tdefer close(out)" in scanned.stdout
