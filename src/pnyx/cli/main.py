"""The `pnyx` command line."""

from __future__ import annotations

import sys
from typing import NoReturn

import click
import typer
from sqlalchemy.exc import SQLAlchemyError

from pnyx.cli import (
    admin,
    allocation,
    council,
    data,
    data_search,  # noqa: F401  (adds the search commands to `pnyx data`)
    demo,
    facility,
    identity,
    jobs,
    ledger,
    serve,
    sim,
    witness,
)
from pnyx.cli import models as models_cli
from pnyx.cli import runs as runs_cli
from pnyx.errors import PnyxError

app = typer.Typer(
    name="pnyx",
    help="pnyx: operating software of a publicly governed AI supercomputing facility.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(admin.app, name="admin")
app.add_typer(identity.member_app, name="member")
app.add_typer(identity.principal_app, name="principal")
app.add_typer(identity.token_app, name="token")
app.add_typer(identity.key_app, name="key")
app.add_typer(identity.events_app, name="events")
app.add_typer(ledger.app, name="ledger")
app.add_typer(witness.app, name="witness")
app.add_typer(facility.app, name="facility")
app.add_typer(council.app, name="council")
app.add_typer(sim.app, name="sim")
app.add_typer(allocation.programme_app, name="programme")
app.add_typer(allocation.call_app, name="call")
app.add_typer(allocation.proposal_app, name="proposal")
app.add_typer(allocation.review_app, name="review")
app.add_typer(allocation.award_app, name="award")
app.add_typer(allocation.usage_app, name="usage")
app.add_typer(allocation.statement_app, name="statement")
app.add_typer(jobs.app, name="job")
app.add_typer(data.app, name="data")  # with the search commands of data_search
app.add_typer(models_cli.app, name="model")
app.add_typer(runs_cli.app, name="run")
app.command("up")(serve.up)
app.command("demo")(demo.demo)


def main() -> None:
    """Entry point: one clear line and a non-zero exit for every error, never a traceback."""
    try:
        code = app(standalone_mode=False)
    except click.exceptions.Abort:
        _fail_line("aborted", 130)
    except click.exceptions.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except PnyxError as e:
        _fail_line(f"error: {e}")
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        _fail_line(f"error: {e.strerror or e}{where}")
    except SQLAlchemyError as e:
        orig = getattr(e, "orig", None)
        reason = str(orig) if orig is not None else str(e)
        _fail_line(f"error: database: {reason.strip().splitlines()[0]}")
    sys.exit(code if isinstance(code, int) else 0)


def _fail_line(message: str, code: int = 1) -> NoReturn:
    """Write ``message`` as exactly one line on stderr and exit with ``code``."""
    sys.stderr.write(" ".join(message.split()) + "\n")
    sys.exit(code)
