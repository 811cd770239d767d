"""Why a queued job waits, as the dispatcher last said, and since when: on the portal's job
page, in the API's job view and in `pnyx job show`; the dispatcher's settings."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from tests.integration.jobs_setup import OPERATOR
from tests.integration.test_dispatch_sched import Live
from typer.testing import CliRunner

from pnyx.api.app import create_app
from pnyx.cli.main import app as cli
from pnyx.errors import InvalidInputError
from pnyx.services import identity
from pnyx.services.context import ServiceContext, format_time
from pnyx.services.dispatch_queue import queue_view
from pnyx.settings import Settings


def _waiting(ctx: ServiceContext) -> tuple[Live, str, str, str]:
    """A job running on the open pod, a two-node job that must wait for it, and the time
    just before the pass that said why."""
    live = Live(ctx)
    running = live.submit(time_limit_s=3600)
    live.run()
    waiting = live.submit(nodes=2, time_limit_s=600)
    before = format_time(ctx.clock())
    live.run()
    return live, running, waiting, before


def test_the_job_page_api_and_cli_say_why_a_queued_job_waits(ctx: ServiceContext) -> None:
    live, running, waiting, before = _waiting(ctx)
    view = live.job(waiting)
    assert view.state == "queued"
    assert view.pending_reason is not None and view.pending_reason.startswith("reserved: ")
    said_at = view.pending_since
    assert said_at is not None and before < said_at < format_time(ctx.clock())
    live.run()  # the same reason again: it is not said anew
    assert live.job(waiting).pending_since == said_at
    client = TestClient(create_app(Settings(), ctx=ctx))
    page = client.get(f"/jobs/{waiting}", headers={"accept": "text/html"}).text
    shown = page.split('id="pending-reason">', 1)[1].split("</dd>", 1)[0]
    assert view.pending_reason in shown.replace("&#39;", "'")
    assert f'<time datetime="{said_at}">' in shown
    assert 'id="pending-reason"' not in client.get(f"/jobs/{running}").text  # it runs
    token = identity.issue_token(ctx, OPERATOR, "alice").token
    api = client.get(f"/api/v1/jobs/{waiting}", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    assert (api.json()["pending_reason"], api.json()["pending_since"]) == (
        view.pending_reason,
        said_at,
    )
    out = CliRunner().invoke(cli, ["job", "show", waiting, "--as", "alice", "--db", ctx.db.url])
    assert out.exit_code == 0, out.output
    assert f"pending (since {said_at}): reserved: " in " ".join(out.output.split())
    as_json = CliRunner().invoke(
        cli, ["job", "show", waiting, "--as", "alice", "--db", ctx.db.url, "--json"]
    )
    assert json.loads(as_json.stdout)["pending_since"] == said_at


def test_a_job_the_dispatcher_has_not_seen_says_so_on_its_page(ctx: ServiceContext) -> None:
    live = Live(ctx)
    job = live.submit()
    page = TestClient(create_app(Settings(), ctx=ctx)).get(f"/jobs/{job}").text
    assert "the dispatcher has not considered it yet" in page


def test_placement_and_judge_are_settings_with_clear_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PNYX_PLACEMENT", "engine")
    monkeypatch.setenv("PNYX_PREEMPTION_JUDGE", "allocation")
    settings = Settings()
    assert (settings.placement, settings.preemption_judge) == ("engine", "allocation")
    monkeypatch.setenv("PNYX_PLACEMENT", "slurm")
    with pytest.raises(InvalidInputError, match="PNYX_PLACEMENT must be one of pnyx, engine"):
        Settings()
    monkeypatch.setenv("PNYX_PLACEMENT", "pnyx")
    monkeypatch.setenv("PNYX_PREEMPTION_JUDGE", "fastest")
    with pytest.raises(InvalidInputError, match="PNYX_PREEMPTION_JUDGE must be one of"):
        Settings()
    assert Settings(preemption_judge="off").preemption_judge == "off"


def test_the_jobs_page_groups_the_queue_by_member_type_and_site(ctx: ServiceContext) -> None:
    live, running, waiting, _ = _waiting(ctx)
    other = live.submit("bob", accelerator_types=["h100"], nodes=2, time_limit_s=300)
    live.run()
    grouped = queue_view(ctx)
    assert [(g.key, g.jobs, g.accelerators) for g in grouped.waiting] == [
        (("de", "h100"), 1, 16),
        (("fr", "h100"), 1, 16),
    ]
    assert [(g.key, g.jobs, g.accelerators) for g in grouped.held] == [
        (("de-lab", "lab-gpu", "h100"), 1, 8)
    ]
    assert set(grouped.pending_reasons) == {waiting, other}
    page = TestClient(create_app(Settings(), ctx=ctx)).get("/jobs").text
    table = page.split('id="waiting-by-member"', 1)[1].split("</table>", 1)[0]
    row = table.split('data-member="fr" data-type="h100"', 1)[1].split("</tr>", 1)[0]
    assert ">FR<" in row  # the member's name
    assert '<td class="accelerators">16</td>' in row
    held = page.split('id="held-by-site"', 1)[1].split("</table>", 1)[0]
    assert 'data-site="de-lab" data-cluster="lab-gpu" data-type="h100"' in held
    queue = page.split('id="queue"', 1)[1].split("</table>", 1)[0]
    mine = queue.split(f'data-job="{waiting}"', 1)[1].split("</tr>", 1)[0]
    assert f'<td class="pending">{grouped.pending_reasons[waiting]}</td>' in mine
    assert running in queue
