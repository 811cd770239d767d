"""@addressed gives a command the addressing options and hands it the Source they name."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.testing import CliRunner

from pnyx.cli.common import JsonOpt
from pnyx.cli.source import Source, addressed
from pnyx.errors import InvalidInputError

seen: list[tuple[Source, str, int, bool]] = []
app = typer.Typer()


@app.command("full")
@addressed(principal=True)
def full(
    name: str, count: Annotated[int, typer.Option()] = 1, *, src: Source, json: JsonOpt = False
) -> None:
    """A command with every addressing option."""
    seen.append((src, name, count, json))


@app.command("bare")
@addressed(token=False)
def bare(src: Source) -> None:
    """A command with --url but no --token."""
    seen.append((src, "", 0, False))


@app.command("own-token")
@addressed(url=False, token=False)
def own_token(src: Source, token: Annotated[bool, typer.Option("--token")] = False) -> None:
    """A local command with a --token of its own (pnyx principal create --token)."""
    seen.append((src, "token" if token else "", 0, False))


def invoke(*args: str) -> tuple[int, str]:
    seen.clear()
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_the_command_gets_the_source_its_options_address() -> None:
    code, out = invoke("full", "x", "--count", "3", "--url", "http://h", "--token", "t", "--json")
    assert code == 0, out
    src, name, count, as_json = seen[0]
    assert (name, count, as_json) == ("x", 3, True)
    assert (src.url, src.token, src.principal, src.data, src.db) == ("http://h", "t", None,
                                                                     None, None)  # fmt: skip
    assert src.is_remote
    code, out = invoke("full", "y", "--data", "/tmp/store", "--as", "ada")
    assert code == 0, out
    local = seen[0][0]
    assert local.data == Path("/tmp/store") and not local.is_remote and local.principal == "ada"


def test_a_command_keeps_its_own_option_of_an_addressing_name() -> None:
    code, out = invoke("own-token", "--token", "--db", "sqlite://")
    assert code == 0, out
    assert seen[0][1] == "token" and seen[0][0].token is None and seen[0][0].db == "sqlite://"
    code, out = invoke("own-token", "--url", "http://h")
    assert code == 2 and "No such option" in out


def test_as_and_url_together_are_refused() -> None:
    seen.clear()
    result = CliRunner().invoke(app, ["full", "x", "--url", "http://h", "--as", "ada"])
    assert result.exit_code == 1 and not seen
    assert isinstance(result.exception, InvalidInputError)
    assert "--as acts on a local store" in str(result.exception)


def test_only_the_asked_for_options_exist() -> None:
    code, out = invoke("bare", "--url", "http://h")
    assert code == 0 and seen[0][0].url == "http://h", out
    code, out = invoke("bare", "--token", "t")
    assert code == 2 and "No such option" in out
    code, out = invoke("bare", "--as", "ada")
    assert code == 2 and "No such option" in out
    code, out = invoke("full", "--help")
    assert code == 0
    for option in ("--as", "--data", "--db", "--url", "--token", "--json", "--count"):
        assert option in out
    assert "every addressing option" in out  # the docstring is the help
