"""`unleak pr`: the command line of the bot (registered on the main group by codemod/cli.py)."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import click

from codemod.bot.flow import BotError, Console, PrRequest, open_pull_request
from codemod.bot.forge import FORGES
from codemod.bot.git import BOT_IDENTITY, parse_identity
from codemod.cli import ignore_option, select_option
from codemod.engine import RunOptions
from codemod.model import Safety
from transforms import ALL_TRANSFORMS, transform_by_id

EXIT_ERROR = 2
# Every token a run may hold: messages are scrubbed of them whatever their source.
TOKEN_VARIABLES = ("GITHUB_TOKEN", "GH_TOKEN", "GITEA_TOKEN")


def _ids(values: tuple[str, ...], flag: str) -> frozenset[str] | None:
    if not values:
        return None
    ids = frozenset(part.strip() for value in values for part in value.split(",") if part.strip())
    unknown = sorted(i for i in ids if transform_by_id(i) is None)
    if unknown:
        known = ", ".join(t.id for t in ALL_TRANSFORMS)
        raise click.BadParameter(
            f"unknown transform id {', '.join(unknown)} (known: {known})", param_hint=flag
        )
    return ids


class _Scrubber:
    """Removes every token this process could know from a message, in all its spellings."""

    def __init__(self, token_file: Path | None) -> None:
        from codemod.bot.token import Token, TokenError

        self.tokens: list[Token] = []
        values = [os.environ.get(name, "").strip() for name in TOKEN_VARIABLES]
        if token_file is not None:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                values.append(token_file.read_text(encoding="utf-8").strip())
        for value in values:
            try:
                self.tokens.append(Token(value))
            except TokenError:
                continue

    def __call__(self, text: str) -> str:
        for token in self.tokens:
            text = token.scrub(text)
        return text


@click.command("pr")
@click.argument("path", required=False, default=".", type=click.Path(exists=True))
@click.option("--base", required=True, help="The branch the pull request merges into.")
@click.option("--branch", default="unleak/fixes", show_default=True, help="The bot's own branch.")
@click.option("--remote", default="origin", show_default=True, help="The git remote to push to.")
@click.option(
    "--forge",
    type=click.Choice(FORGES),
    help="github or gitea (default: github for github.com remotes).",
)
@click.option("--repo", metavar="OWNER/NAME", help="The repository (default: from the remote URL).")
@click.option(
    "--api-url",
    metavar="URL",
    help="REST API root (default: api.github.com, https://HOST/api/v3, https://HOST/api/v1).",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Read the token from this file instead of GITHUB_TOKEN / GITEA_TOKEN.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the branch, commits and pull request body; touch no remote.",
)
@select_option
@ignore_option
@click.option("--unsafe/--no-unsafe", default=None, help="Also apply fixes marked `review`.")
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="Read settings from this file (default: the nearest config in the base commit).",
)
@click.option("--jobs", "-j", type=click.IntRange(min=1), help="Worker processes.")
@click.option(
    "--author",
    envvar="UNLEAK_AUTHOR",
    metavar="'NAME <EMAIL>'",
    help=f"Author and committer of the bot's commits [env UNLEAK_AUTHOR; default: "
    f"{BOT_IDENTITY[0]} <{BOT_IDENTITY[1]}>].",
)
def pr(
    path: str,
    base: str,
    branch: str,
    remote: str,
    forge: str | None,
    repo: str | None,
    api_url: str | None,
    token_file: Path | None,
    dry_run: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    unsafe: bool | None,
    config_file: str | None,
    jobs: int | None,
    author: str | None,
) -> None:
    """Fix PATH on a branch from --base, one commit per transform, and open a pull request.

    Runs in a temporary git worktree (your checkout is not touched), pushes only to
    --branch, and finds its pull request again by that branch: a second run updates it
    instead of opening another.
    """
    scrub = _Scrubber(token_file)
    try:
        identity = parse_identity(author) if author else BOT_IDENTITY
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--author / UNLEAK_AUTHOR") from None
    options = RunOptions(
        select=_ids(select, "--select"),
        ignore=_ids(ignore, "--ignore") or frozenset(),
        fix=True,
        apply_threshold=Safety.REVIEW if unsafe else Safety.SAFE,
    )
    given = {
        name
        for name, value in (("select", select), ("ignore", ignore), ("unsafe", unsafe))
        if value not in ((), None)
    }
    request = PrRequest(
        path=Path(path),
        base=base,
        branch=branch,
        remote=remote,
        forge=forge,
        repo=repo,
        api_url=api_url,
        token_file=token_file,
        dry_run=dry_run,
        options=options,
        flags_given=frozenset(given),
        config_file=config_file,
        jobs=jobs,
        author=identity,
    )
    console = Console(
        out=lambda text: click.echo(scrub(text)),
        say=lambda text: click.echo(f"unleak: {scrub(text)}", err=True),
    )
    try:
        code = open_pull_request(request, console)
    except BotError as error:
        console.say(str(error))
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        console.say("interrupted; the temporary worktree was removed")
        sys.exit(130)
    except Exception as error:  # a bug: one scrubbed line, never a traceback holding secrets
        if os.environ.get("UNLEAK_DEBUG"):
            raise
        console.say(f"internal error: {type(error).__name__}: {error} (UNLEAK_DEBUG=1 shows more)")
        sys.exit(EXIT_ERROR)
    sys.exit(code)
