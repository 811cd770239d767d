"""The public transparency log: key, checkpoints, entries, proofs, witnesses, C2SP tiles.

Everything is readable without a token. Posting a cosignature needs no token either: the
signature itself authenticates the witness. Issuing a checkpoint on demand and registering a
witness are for operators.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import PlainTextResponse
from pydantic import Field

from pnyx.api.deps import Caller, Ctx, Limit, Offset
from pnyx.api.schemas import Body
from pnyx.services import checkpoints, ledger, witnesses
from pnyx.services.dto import Page
from pnyx.services.ledger_dto import (
    CheckpointView,
    ConsistencyProofView,
    CosignatureView,
    EntriesView,
    InclusionProofView,
    LogHeadView,
    WitnessView,
)

router = APIRouter(tags=["log"])

TEXT = "text/plain; charset=utf-8"
TILE = "application/octet-stream"
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
MUTABLE = {"Cache-Control": "no-cache, max-age=0"}
Size = Annotated[int | None, Query(ge=0, description="tree size (default: latest checkpoint)")]


class WitnessIn(Body):
    """Register a witness: a display name and its note verifier key (type 0x04)."""

    name: str = Field(min_length=1, max_length=200)
    verifier_key: str = Field(min_length=1, max_length=300)
    member_id: str | None = None


class CosignatureIn(Body):
    """A witness's tlog-cosignature/v1 signature line over the checkpoint of that size."""

    checkpoint_size: int = Field(ge=1)
    cosignature: str = Field(min_length=1, max_length=1000)


@router.get("/api/v1/log/key", response_class=PlainTextResponse)
def log_key(ctx: Ctx) -> PlainTextResponse:
    """The log's note verifier key ``name+keyid+base64``."""
    return PlainTextResponse(checkpoints.log_verifier_key(ctx), media_type=TEXT)


@router.get("/api/v1/log/checkpoint", response_class=PlainTextResponse)
def latest_checkpoint(ctx: Ctx) -> PlainTextResponse:
    """The latest signed checkpoint with its witnesses' cosignatures (404 before the first)."""
    return _checkpoint_text(ctx)


@router.get("/checkpoint", response_class=PlainTextResponse)
def tlog_checkpoint(ctx: Ctx) -> PlainTextResponse:
    """C2SP tlog-tiles: the latest checkpoint."""
    return _checkpoint_text(ctx)


@router.get("/api/v1/log/head")
def head(ctx: Ctx) -> LogHeadView:
    """The current tree size and root, and the latest checkpoint."""
    return ledger.log_head(ctx)


@router.get("/api/v1/log/checkpoints")
def list_checkpoints(ctx: Ctx, offset: Offset = 0, limit: Limit = 100) -> Page[CheckpointView]:
    """Every checkpoint, oldest first."""
    return checkpoints.list_checkpoints(ctx, offset, limit)


@router.post("/api/v1/log/checkpoints", status_code=status.HTTP_201_CREATED)
def issue_checkpoint(ctx: Ctx, actor: Caller, response: Response) -> CheckpointView:
    """Sign the current tree head now (operators); 200 with the existing one if unchanged."""
    view, created = checkpoints.issue_checkpoint(ctx, actor)
    if not created:
        response.status_code = status.HTTP_200_OK
    return view


@router.get("/api/v1/log/entries")
def entries(
    ctx: Ctx,
    start: Annotated[int, Query(ge=0)] = 0,
    end: Annotated[int | None, Query(ge=1, description="exclusive; clamped")] = None,
) -> EntriesView:
    """Entries [start, end) exactly as stored (the leaf data as UTF-8), at most 1000."""
    return ledger.read_entries(ctx, start, end)


@router.get("/api/v1/log/proof/inclusion")
def inclusion_proof(
    ctx: Ctx,
    index: Annotated[int | None, Query(ge=0)] = None,
    leaf_hash: Annotated[str | None, Query(max_length=100, description="base64")] = None,
    size: Size = None,
) -> InclusionProofView:
    """Inclusion proof of the entry at ``index`` or with ``leaf_hash``."""
    return ledger.prove_inclusion(ctx, index=index, leaf_hash=leaf_hash, size=size)


@router.get("/api/v1/log/proof/consistency")
def consistency_proof(
    ctx: Ctx, old: Annotated[int, Query(ge=1)], new: Size = None
) -> ConsistencyProofView:
    """Consistency proof between tree sizes ``old`` and ``new``."""
    return ledger.prove_consistency(ctx, old, new)


@router.get("/api/v1/log/witnesses")
def list_witnesses(ctx: Ctx) -> list[WitnessView]:
    """The registered witnesses."""
    return witnesses.list_witnesses(ctx)


@router.post("/api/v1/log/witnesses", status_code=status.HTTP_201_CREATED)
def register_witness(body: WitnessIn, ctx: Ctx, actor: Caller) -> WitnessView:
    """Register a witness key (operators)."""
    return witnesses.register_witness(ctx, actor, body.name, body.verifier_key, body.member_id)


@router.post("/api/v1/log/cosignatures", status_code=status.HTTP_201_CREATED)
def add_cosignature(body: CosignatureIn, ctx: Ctx, response: Response) -> CosignatureView:
    """Store a registered witness's cosignature (no token: the signature authenticates)."""
    view, created = witnesses.add_cosignature(ctx, body.checkpoint_size, body.cosignature)
    if not created:
        response.status_code = status.HTTP_200_OK
    return view


@router.get("/api/v1/log/cosignatures")
def list_cosignatures(ctx: Ctx, offset: Offset = 0, limit: Limit = 500) -> Page[CosignatureView]:
    """Every stored witness cosignature, by checkpoint size then witness."""
    return witnesses.list_cosignatures(ctx, offset, limit)


@router.get("/tile/{path:path}", response_class=Response)
def tile(path: str, ctx: Ctx) -> Response:
    """C2SP tlog-tiles: ``/tile/<L>/<N>[.p/<W>]`` hash tiles, ``/tile/entries/<N>`` bundles."""
    return Response(ledger.read_tile(ctx, path), media_type=TILE, headers=IMMUTABLE)


def _checkpoint_text(ctx: Ctx) -> PlainTextResponse:
    note = checkpoints.latest_cosigned_note(ctx)
    return PlainTextResponse(note, media_type=TEXT, headers=MUTABLE)
