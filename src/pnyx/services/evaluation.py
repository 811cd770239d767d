"""Evaluate a model version: held-out perplexity on documents of its training data that the run
never saw, and the multiple-choice benchmark; reports go to the artifact store and the ledger.

The held-out split is exact by construction: the run's order file lists every global sample
index the run trained on, so the documents of its dataset versions whose indices are absent
were never seen. A fixed number of them, chosen by their content hash, is scored.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from pnyx.data.artifacts import ArtifactStore
from pnyx.data.manifest import parse_manifest
from pnyx.data.shards import read_text_shard
from pnyx.domain import models as m
from pnyx.domain.events import canonical_json
from pnyx.domain.identity import Actor, Role, require_role
from pnyx.errors import ConflictError, InvalidInputError, NotFoundError
from pnyx.services.context import ServiceContext
from pnyx.services.models import resolve
from pnyx.services.models_dto import EvalReportView
from pnyx.services.record import record
from pnyx.store import models_repo as repo

HELDOUT_DOCS = 32  # held-out documents scored per evaluation


def evaluate_model(
    ctx: ServiceContext,
    actor: Actor,
    store: ArtifactStore,
    ref: str,
    *,
    heldout_docs: int = HELDOUT_DOCS,
) -> list[EvalReportView]:
    """Run every suite on a model version and record the reports (operators, safety officers)."""
    from pnyx.evaluation.suite import evaluate_directory  # torch: imported only when used

    require_role(actor, Role.OPERATOR, Role.SAFETY_OFFICER)
    with ctx.db.read() as conn:
        model, version = resolve(conn, ref)
        row = repo.version_row(conn, model, version)
        assert row is not None
        run = repo.run_row(conn, row["run_id"])
        assert run is not None
    heldout = heldout_documents(store, run, heldout_docs)
    with tempfile.TemporaryDirectory(prefix="pnyx-eval-") as tmp:
        for f in row["files"]:
            (Path(tmp) / f["path"]).write_bytes(store.read(f["sha256"]))
        reports = evaluate_directory(Path(tmp), [d["text"] for d in heldout])
    reports[m.HELDOUT_SUITE]["documents_sha256"] = [d["sha256"] for d in heldout]
    events = []
    for suite, report in sorted(reports.items()):
        report_sha = store.put_bytes(canonical_json({"model": ref, **report}))
        headline = {k: v for k, v in report.items() if isinstance(v, int | float | str)}
        events.append(m.ModelEvaluated(model, version, suite, report_sha, headline))
    with ctx.db.transaction() as conn:
        if repo.version_row(conn, model, version) is None:
            raise NotFoundError(f"model version {ref!r} does not exist")
        record(conn, ctx, actor, events)
        return [
            EvalReportView(**{k: e[k] for k in EvalReportView.model_fields})
            for e in repo.eval_rows(conn, model, version)
        ]


def heldout_documents(
    store: ArtifactStore, run: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` text documents of the run's dataset versions that it never trained on,
    chosen by content hash (deterministic); each {"sha256", "text", "dataset", "index"}."""
    seen = seen_documents(store.read(run["order_sha256"]))
    candidates: list[dict[str, Any]] = []
    for d in run["datasets"]:
        ref = f"{d['dataset']}@{d['version']}"
        manifest = parse_manifest(store.read(d["manifest_sha256"]))
        index = 0
        for shard in manifest["shards"]:
            if shard["format"] != "jsonl":
                index += int(shard["records"])
                continue
            for rec in read_text_shard(store.read(shard["sha256"])):
                if (ref, index) not in seen and rec.text.strip():
                    candidates.append(
                        {"sha256": rec.sha256, "text": rec.text, "dataset": ref, "index": index}
                    )
                index += 1
    if not candidates:
        raise ConflictError(
            f"run {run['run_id']} trained on every document of its datasets: no held-out split"
        )
    candidates.sort(key=lambda c: c["sha256"])
    return candidates[:limit]


def seen_documents(order: bytes) -> set[tuple[str, int]]:
    """(dataset ref NAME@N, global index) of every document an order file lists.

    The order file (the training recipe's, JSON Lines) starts with a header naming the dataset
    versions; each step line lists per sequence its pieces ``[dataset number, global index,
    first token, end token]``. A document counts as seen if any piece of it was trained on.
    """
    lines = [ln for ln in order.decode().splitlines() if ln.strip()]
    try:
        header = json.loads(lines[0]) if lines else {}
        refs = [f"{d['dataset']}@{d['version']}" for d in header["datasets"]]
        seen: set[tuple[str, int]] = set()
        for line in lines[1:]:
            for sequence in json.loads(line)["sequences"]:
                seen.update((refs[int(p[0])], int(p[1])) for p in sequence)
    except (ValueError, KeyError, IndexError, TypeError) as e:
        raise InvalidInputError(f"order file is malformed: {e!r}") from e
    return seen
