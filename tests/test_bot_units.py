"""The bot's pure parts: remote URLs, forge defaults, the token, git config variables, texts."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest
from github import BadCredentialsException, GithubException, RateLimitExceededException
from hypothesis import given, settings
from hypothesis import strategies as st

from codemod.bot.body import (
    MAX_FILES_LISTED,
    RunFacts,
    commit_message,
    obsolete_comment,
    pull_body,
    pull_title,
)
from codemod.bot.changes import FileChange, TransformChange
from codemod.bot.fingerprint import fingerprint, fingerprints_comment, read_fingerprints
from codemod.bot.forge import (
    ForgeError,
    ForgeTarget,
    RemoteLocation,
    access_hint,
    describe_reset,
    parse_remote_url,
    resolve_target,
)
from codemod.bot.git import TRAILER, auth_entries, config_env, http_refusal, parse_identity
from codemod.bot.github import GitHubForge, github_message
from codemod.bot.proof import Check
from codemod.bot.token import Token, TokenError, read_token
from codemod.gomod import parse_gomod
from codemod.model import Safety
from tests.conftest import run_codemod
from transforms import ALL_TRANSFORMS

SECRET = "ghp_unitTESTsecret0123456789"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://github.com/acme/widgets.git",
            RemoteLocation("https", "github.com", "acme/widgets"),
        ),
        ("https://github.com/acme/widgets", RemoteLocation("https", "github.com", "acme/widgets")),
        ("git@github.com:acme/widgets.git", RemoteLocation("ssh", "github.com", "acme/widgets")),
        (
            "ssh://git@ghe.corp:2222/acme/widgets.git",
            RemoteLocation("ssh", "ghe.corp", "acme/widgets"),
        ),
        (
            "http://127.0.0.1:3000/acme/widgets.git",
            RemoteLocation("http", "127.0.0.1:3000", "acme/widgets"),
        ),
        ("/srv/git/widgets.git", None),
        ("../remote.git", None),
        ("file:///srv/git/widgets.git", None),
    ],
)
def test_parse_remote_url(url: str, expected: RemoteLocation | None) -> None:
    assert parse_remote_url(url) == expected


@pytest.mark.parametrize(
    ("url", "forge", "api"),
    [
        ("https://github.com/acme/w.git", None, "https://api.github.com"),
        ("git@github.com:acme/w.git", None, "https://api.github.com"),
        ("https://ghe.corp/acme/w.git", "github", "https://ghe.corp/api/v3"),
        ("git@ghe.corp:acme/w.git", "github", "https://ghe.corp/api/v3"),
        ("http://127.0.0.1:3000/acme/w.git", "gitea", "http://127.0.0.1:3000/api/v1"),
    ],
)
def test_forge_defaults_from_the_remote(url: str, forge: str | None, api: str) -> None:
    target = resolve_target(url, forge, None, None)
    assert (target.kind, target.repo, target.api_url) == (forge or "github", "acme/w", api)


@pytest.mark.parametrize(
    ("url", "forge", "repo", "api", "message"),
    [
        ("https://git.corp/acme/w.git", None, None, None, "pass --forge"),
        ("/srv/w.git", "github", None, None, "pass --repo"),
        ("/srv/w.git", "github", "acme/w", None, "pass --api-url"),
        ("https://github.com/acme/w.git", None, "not a repo", None, "expected owner/name"),
    ],
)
def test_forge_flags_that_must_be_given(
    url: str, forge: str | None, repo: str | None, api: str | None, message: str
) -> None:
    with pytest.raises(ForgeError, match=message):
        resolve_target(url, forge, repo, api)


def test_token_never_shows_itself() -> None:
    token = Token(SECRET)
    assert SECRET not in repr(token) and SECRET not in str(token) and SECRET not in f"{token}"
    assert token.reveal() == SECRET
    assert base64.b64decode(token.basic_credentials()) == f"x-access-token:{SECRET}".encode()


@given(
    before=st.text(max_size=40),
    after=st.text(max_size=40),
    form=st.integers(min_value=0, max_value=2),
)
def test_scrub_removes_every_spelling(before: str, after: str, form: int) -> None:
    token = Token(SECRET)
    scrubbed = token.scrub(before + token.forms()[form] + after)
    assert all(f not in scrubbed for f in token.forms())


def test_read_token_sources_and_errors(tmp_path: Path) -> None:
    assert read_token("github", None, {"GITHUB_TOKEN": SECRET}).reveal() == SECRET
    assert read_token("github", None, {"GH_TOKEN": SECRET}).reveal() == SECRET
    assert read_token("gitea", None, {"GITEA_TOKEN": f" {SECRET}\n"}).reveal() == SECRET
    file = tmp_path / "token"
    file.write_text(SECRET + "\n")
    assert read_token("gitea", file, {}).reveal() == SECRET
    with pytest.raises(TokenError, match="GITEA_TOKEN"):
        read_token("gitea", None, {"GITHUB_TOKEN": SECRET})
    file.write_text(f"{SECRET} second-part\n")
    with pytest.raises(TokenError) as error:
        read_token("gitea", file, {})
    assert SECRET not in str(error.value)
    with pytest.raises(TokenError, match="cannot read"):
        read_token("gitea", tmp_path / "missing", {})


def test_config_env_appends_after_the_callers_entries() -> None:
    existing = {"GIT_CONFIG_COUNT": "2"}
    env = config_env([("a.b", "1"), ("c.d", "2")], existing)
    assert env == {
        "GIT_CONFIG_COUNT": "4",
        "GIT_CONFIG_KEY_2": "a.b",
        "GIT_CONFIG_VALUE_2": "1",
        "GIT_CONFIG_KEY_3": "c.d",
        "GIT_CONFIG_VALUE_3": "2",
    }


def test_auth_entries_scope_the_header_to_the_remote() -> None:
    token = Token(SECRET)
    url = "https://github.com/acme/w.git"
    entries = auth_entries(url, token)
    assert entries[0] == (f"http.{url}.extraHeader", "")  # clears a persisted header first
    assert entries[1][0] == f"http.{url}.extraHeader"
    assert entries[1][1] == f"Authorization: Basic {token.basic_credentials()}"
    assert ("credential.helper", "") in entries
    assert auth_entries("/srv/w.git", token) == []
    assert auth_entries("git@github.com:acme/w.git", token) == []


def test_describe_reset() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    reset = str(int(now.timestamp()) + 600)
    assert describe_reset(reset, now) == "resets at 2026-01-01 12:10:00 UTC (in 10 min)"
    assert describe_reset(None, now) == "try again later"


def forge() -> GitHubForge:
    return GitHubForge("https://ghe.corp/api/v3", "acme/w", Token(SECRET))


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            BadCredentialsException(401, {"message": "Bad credentials"}, {}),
            "GitHub refused to act (401 Bad credentials); check GITHUB_TOKEN or --token-file",
        ),
        (
            GithubException(403, {"message": "Resource not accessible by integration"}, {}),
            "pull-requests: write on acme/w",
        ),
        (
            GithubException(404, {"message": "Not Found"}, {}),
            "no repository acme/w at https://ghe.corp/api/v3",
        ),
        (
            GithubException(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"message": "A pull request already exists for acme:b."}],
                },
                {},
            ),
            "(422 Validation Failed: A pull request already exists for acme:b.)",
        ),
        (
            RateLimitExceededException(
                403, {"message": "API rate limit exceeded"}, {"x-ratelimit-reset": "0"}
            ),
            "GitHub API rate limit exceeded while trying to act; resets at 1970-01-01",
        ),
        (
            GithubException(403, {"message": "secondary rate limit"}, {"Retry-After": "60"}),
            "rate limit exceeded while trying to act; retry after 60 s",
        ),
    ],
)
def test_github_errors_become_one_line(error: GithubException, expected: str) -> None:
    message = github_message(error, "act", forge())
    assert expected in message
    assert "\n" not in message


def change(transform_index: int, files: int = 1, safety: Safety = Safety.SAFE) -> TransformChange:
    return TransformChange(
        ALL_TRANSFORMS[transform_index],
        tuple(FileChange(f"pkg/f{i}.go", ((3, safety), (9, safety))) for i in range(files)),
    )


@pytest.mark.parametrize("transform", ALL_TRANSFORMS, ids=lambda t: t.id)
def test_commit_message_title_why_files_and_trailer(transform: object) -> None:
    index = ALL_TRANSFORMS.index(transform)  # type: ignore[arg-type]
    message = commit_message(change(index))
    lines = message.splitlines()
    target = ALL_TRANSFORMS[index]
    assert lines[0] == target.title
    assert lines[1] == ""
    assert all(len(line) <= 72 for line in lines[2:]), "the body is wrapped for git log"
    why = " ".join(target.documentation()["Why is this bad?"].split())
    assert " ".join(" ".join(lines).split()).find(why[:60]) >= 0
    assert "- pkg/f0.go (line 3, 9)" in lines
    assert f"unleak explain {target.id}" in message
    assert lines[-1] == f"{TRAILER}: {target.id}"


FACTS = RunFacts("main", "a" * 40, "unleak/fixes", ".", ("x", "y"), Safety.SAFE, "go1.27.3")
CHECKS = [
    Check("gofmt", True, "all parse"),
    Check("go vet", False, "`go vet ./pkg`: FAILED", "pkg/f.go:3: vet says no"),
]


@pytest.mark.parametrize("transform", ALL_TRANSFORMS, ids=lambda t: t.id)
def test_body_explains_every_change(transform: object) -> None:
    index = ALL_TRANSFORMS.index(transform)  # type: ignore[arg-type]
    target = ALL_TRANSFORMS[index]
    body = pull_body([change(index, safety=Safety.REVIEW)], CHECKS, FACTS)
    docs = target.documentation()
    assert f"### 1. {target.title}" in body
    assert " ".join(docs["What it does"].split()) in body
    assert " ".join(docs["Why is this bad?"].split()) in body
    assert "safety: **review**" in body
    assert f"unleak explain {target.id}" in body
    assert "- gofmt (passed): all parse" in body
    assert "- go vet (FAILED): `go vet ./pkg`: FAILED" in body
    assert "pkg/f.go:3: vet says no" in body


def test_body_lists_files_up_to_a_bound_and_counts() -> None:
    changes = [change(0, files=MAX_FILES_LISTED + 7), change(1)]
    body = pull_body(changes, [], FACTS)
    assert "| ... and 7 more | |" in body
    assert len(body) < 65536
    assert (
        pull_title(changes)
        == f"unleak: fix {2 * (MAX_FILES_LISTED + 7) + 2} goroutine-leak-prone idioms"
    )


def test_obsolete_comment_names_the_base() -> None:
    text = obsolete_comment("main", "b" * 40)
    assert text.startswith("<!-- unleak:obsolete -->")
    assert "`main` at `bbbbbbbbbbbb`" in text


MODULE_122 = parse_gomod("module example\n\ngo 1.22\n")
# Two lost-cancel findings in two functions, the same code in each.
TWO_LOST_CANCELS = """package p

import (
\t"context"
\t"time"
)

func First(parent context.Context) error {
\tctx, _ := context.WithTimeout(parent, time.Second)
\t<-ctx.Done()
\treturn ctx.Err()
}

func (s *Server) Second(parent context.Context) error {
\tctx, _ := context.WithTimeout(parent, time.Second)
\t<-ctx.Done()
\treturn ctx.Err()
}
"""


def fingerprints_of(source: str, path: str = "a/wait.go") -> list[str]:
    data = source.encode()
    result = run_codemod(data, MODULE_122, select="lost-cancel")
    return [fingerprint(f, path, data) for f in result.findings]


@settings(deadline=None, max_examples=40)
@given(
    st.lists(st.sampled_from(["", "// note", "const X = 1", "var y = 2", "type T int"])),
    st.sampled_from(["", "\t// a comment\n", "\tstart := time.Now()\n\t_ = start\n"]),
)
def test_fingerprints_survive_edits_elsewhere(before: list[str], inside: str) -> None:
    original = fingerprints_of(TWO_LOST_CANCELS)
    assert len(set(original)) == 2, "the same code in two functions: two fixes"
    edited = TWO_LOST_CANCELS.replace(
        "\n\nfunc First", "\n\n" + "\n".join(before) + "\n\nfunc First"
    ).replace("{\n\tctx, _ :=", "{\n" + inside + "\tctx, _ :=")
    assert fingerprints_of(edited) == original


@pytest.mark.parametrize(
    "change",
    [
        ("time.Second)", "2*time.Second)"),  # the code it rewrites
        ("func First", "func Renamed"),  # the function around it
    ],
)
def test_fingerprints_change_with_the_code_they_name(change: tuple[str, str]) -> None:
    original = fingerprints_of(TWO_LOST_CANCELS)
    edited = fingerprints_of(TWO_LOST_CANCELS.replace(*change, 1))
    assert edited[0] != original[0] and edited[1] == original[1]
    assert fingerprints_of(TWO_LOST_CANCELS, "b/wait.go")[0] != original[0]


def test_fingerprints_round_trip_through_a_body_a_human_edited() -> None:
    prints = fingerprints_of(TWO_LOST_CANCELS)
    body = f"Some text.\n\n{fingerprints_comment(prints)}\n\nA human's note.\n"
    assert read_fingerprints(body) == frozenset(prints)
    assert read_fingerprints(body.replace(fingerprints_comment(prints), "")) == frozenset()


@pytest.mark.parametrize(
    ("stderr", "status"),
    [
        (
            "fatal: could not read Username for 'http://127.0.0.1:3000': terminal prompts disabled",
            401,
        ),
        ("remote: invalid credentials\nfatal: Authentication failed for 'https://h/o/r.git/'", 401),
        (
            "fatal: unable to access 'https://h/o/r.git/': The requested URL returned error: 403",
            403,
        ),
        ("remote: Permission to o/r.git denied to bot.\nfatal: unable to access 'x'", 403),
        ("remote: Repository not found.\nfatal: repository 'https://h/o/r.git/' not found", 404),
        ("error: failed to push some refs to 'origin'", None),
        ("fatal: couldn't find remote ref refs/heads/x", None),
    ],
)
def test_http_refusals_are_read_from_git(stderr: str, status: int | None) -> None:
    assert http_refusal(stderr) == status


def test_access_hints_name_the_token_and_permission() -> None:
    gitea = ForgeTarget("gitea", "o/r", "http://h/api/v1")
    github = ForgeTarget("github", "o/r", "https://api.github.com")
    assert "check GITEA_TOKEN or --token-file" in access_hint(gitea, 401, "read")
    assert "write:repository" in access_hint(gitea, 403, "push")
    assert "Contents: write" in access_hint(github, 403, "push")
    assert "cannot see it" in access_hint(github, 404, "read")


def test_parse_identity() -> None:
    assert parse_identity("unleak[bot] <b@example.org>") == ("unleak[bot]", "b@example.org")
    for wrong in ("name only", "<a@b>", "N <no-at>", "N <a@b> extra"):
        with pytest.raises(ValueError):
            parse_identity(wrong)
