"""Portal pages of allocation: calls with their ranked proposals and scores, awards, statements."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from pnyx.services import accounting, awards, calls, programmes
from pnyx.web.routes import Ctx, member_names, render

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
