"""Portal pages of allocation: calls with their ranked proposals and scores, awards, statements."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from pnyx.services import accounting, awards, calls, programmes, statement_shares
from pnyx.services.share_dto import MemberShareHistory
from pnyx.web.routes import Ctx, member_names, render
from pnyx.web.seriesplot import Series, render_series_chart

router = APIRouter(include_in_schema=False)


@router.get("/calls", response_class=HTMLResponse)
def calls_page(ctx: Ctx) -> HTMLResponse:
    """Every call for proposals, and the programmes they belong to."""
    return render(
        "calls.html",
        active="/calls",
        calls=calls.list_calls(ctx),
        programmes=programmes.list_programmes(ctx),
    )


@router.get("/calls/{call_id}", response_class=HTMLResponse)
def call_page(ctx: Ctx, call_id: str) -> HTMLResponse:
    """One call: budget, review policy, proposals in rank order with the scores that decided."""
    proposals = calls.list_proposals(ctx, call_id)
    proposals.sort(key=lambda p: (p.rank is None, p.rank or 0, p.proposal_id))
    granted = {a.award_id: a.hours for a in awards.list_awards(ctx, call_id)}
    return render(
        "call.html",
        active="/calls",
        call=calls.get_call(ctx, call_id),
        proposals=proposals,
        granted=granted,
        members=member_names(ctx),
    )


@router.get("/awards", response_class=HTMLResponse)
def awards_page(ctx: Ctx) -> HTMLResponse:
    """Every award, and the statement of each member and programme."""
    return render(
        "awards.html",
        active="/awards",
        awards=awards.list_awards(ctx),
        members=member_names(ctx),
        by_member=accounting.statements(ctx, "member"),
        by_programme=accounting.statements(ctx, "programme"),
    )


@router.get("/statements/member/{member_id}", response_class=HTMLResponse)
def member_statement_page(ctx: Ctx, member_id: str) -> HTMLResponse:
    """A member's statement: awarded, used and remaining hours, and its delivered share of
    the facility per day against the share the Council enacted (plot and table)."""
    history = statement_shares.share_history_of(ctx, member_id)
    names = member_names(ctx)
    return render(
        "statement.html",
        active="/awards",
        member_id=member_id,
        member_name=names.get(member_id, member_id),
        statement=accounting.statement(ctx, "member", member_id),
        history=history,
        chart=share_chart(history, names.get(member_id, member_id)),
    )


def share_chart(history: MemberShareHistory, name: str) -> Markup:
    """Delivered vs enacted share per day, as inline SVG."""
    days = [d.day for d in history.days]
    series = [
        Series("delivered share", [d.delivered_share for d in history.days]),
        Series("enacted share", [d.enacted_share for d in history.days]),
    ]
    svg = render_series_chart(
        days,
        series,
        title=f"{name}: delivered vs enacted share per day",
        y_label="share of the facility",
        id_prefix="shares",
    )
    return Markup(svg)  # noqa: S704
