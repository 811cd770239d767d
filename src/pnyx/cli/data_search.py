"""pnyx data index / count / locate / prove / verify-proof: search the training data.

Added to :data:`pnyx.cli.data.app`. Queries are exact text (UTF-8 bytes), given as an argument
or with ``--query-file`` (for long or binary-unfriendly text, up to 1 MiB).
"""

from __future__ import annotations

import json as jsonlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pnyx.cli.common import (
    JsonOpt,
    console,
    emit,
    err_console,
)
from pnyx.cli.data import app, artifact_store
from pnyx.cli.source import Source, addressed
from pnyx.data.search.proof import parse_proof_file, verify_proof
from pnyx.domain.identity import Actor
from pnyx.errors import InvalidInputError
from pnyx.services import search, search_proof
from pnyx.services.context import ServiceContext
from pnyx.services.search_dto import ShardIndexView

RefArg = Annotated[str, typer.Argument(help="NAME or NAME@VERSION (default: latest version)")]
QueryArg = Annotated[str | None, typer.Argument(help="the exact text to search for")]
QueryFileOpt = Annotated[
    Path | None, typer.Option("--query-file", help="read the query from this UTF-8 file")
]


def _query(text: str | None, path: Path | None) -> str:
    if (text is None) == (path is None):
        raise InvalidInputError("give the query as an argument or with --query-file (one of them)")
    if path is not None:
        try:
            return path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            raise InvalidInputError(f"{path}: the query is not UTF-8 ({e.reason})") from e
    assert text is not None
    return text


@app.command("index")
@addressed(url=False, token=False)
def index(ref: RefArg, src: Source, json: JsonOpt = False) -> None:
    """Build the search index of a text/code version, shard by shard (resumable)."""
    ctx = src.ctx
    columns = (TextColumn("indexing {task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=err_console, disable=json, transient=True) as bar:
        task = bar.add_task(ref, total=None)

        def progress(done: int, total: int, last: ShardIndexView) -> None:
            bar.update(task, completed=done, total=total)
            bar.console.print(
                f"shard {last.shard}: {last.status} {last.index_sha256[:16]} "
                f"({last.documents} documents, {last.text_bytes} bytes)",
                highlight=False,
            )

        view = search.build_index(ctx, Actor.system(), artifact_store(src.data), ref, progress)

    def render(v: Any) -> None:
        console.print(
            f"{v.dataset}@{v.version}: {len(v.shards)} shard indexes, {v.documents} documents, "
            f"{v.text_bytes} bytes of text, {v.index_bytes} bytes of index",
            highlight=False,
        )

    emit(view, json, render)


@app.command("count")
@addressed()
def count(
    ref: RefArg,
    src: Source,
    query: QueryArg = None,
    query_file: QueryFileOpt = None,
    json: JsonOpt = False,
) -> None:
    """Count the exact (overlapping) occurrences of a text in a dataset version."""
    text = _query(query, query_file)
    view = src.write(  # a query, POSTed: too long for a URL
        "/api/v1/search/count",
        {"dataset": ref, "query": text},
        lambda c, _: search.count(c, artifact_store(src.data), ref, text),
    )
    emit(view, json or src.is_remote, lambda v: console.print(f"{v.count}", highlight=False))


@app.command("locate")
@addressed()
def locate(
    ref: RefArg,
    src: Source,
    query: QueryArg = None,
    query_file: QueryFileOpt = None,
    limit: Annotated[int, typer.Option(help="at most this many occurrences (1..1000)")] = 10,
    runs: Annotated[bool, typer.Option(help="list the runs and steps that saw each hit")] = False,
    json: JsonOpt = False,
) -> None:
    """Locate occurrences: document id, byte offset, shard hash and a snippet."""
    text = _query(query, query_file)

    def local(ctx: ServiceContext, _: Actor) -> dict[str, Any]:
        store = artifact_store(src.data)
        out = search.locate(ctx, store, ref, text, limit).model_dump(mode="json")
        for hit in out["hits"] if runs else []:
            uses = search.training_use(ctx, store, ref, hit["global_doc"])
            hit["runs"] = [u.model_dump(mode="json") for u in uses]
        return out

    body = {"dataset": ref, "query": text, "limit": limit}
    out = src.write("/api/v1/search/locate", body, local)
    emit(out, json or src.is_remote, _render_hits)  # over --url: the server's JSON


def _render_hits(v: dict[str, Any]) -> None:
    console.print(f"{v['dataset']}@{v['version']}: {v['count']} occurrence(s)", highlight=False)
    for h in v["hits"]:
        snippet = f"{escape(h['before'])}[bold]{escape(h['match'])}[/bold]{escape(h['after'])}"
        console.print(
            f"  {escape(h['doc_id'])} @ byte {h['offset']} (shard {h['shard']} "
            f"{h['shard_sha256'][:12]}, doc {h['doc']}): …{snippet}…",
            highlight=False,
        )
        for run in h.get("runs", []):
            steps = run["steps"] if run["steps"] is not None else run["note"]
            console.print(f"    run {run['run_id']}: steps {steps}", highlight=False)


@app.command("prove")
@addressed()
def prove(
    ref: RefArg,
    src: Source,
    query: QueryArg = None,
    query_file: QueryFileOpt = None,
    out: Annotated[Path | None, typer.Option(help="write the proof to this file")] = None,
) -> None:
    """Write a proof that the text occurs (or not) in the version, checkable offline."""
    text = _query(query, query_file)
    doc = src.write(
        "/api/v1/search/prove",
        {"dataset": ref, "query": text},
        lambda c, _: search_proof.prove(c, artifact_store(src.data), ref, text),
    )
    rendered = jsonlib.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        sys.stdout.write(rendered)
    else:
        out.write_text(rendered, encoding="utf-8")
        err_console.print(f"{doc['claim']}: proof written to {out}", highlight=False)


@app.command("verify-proof")
def verify_proof_cmd(
    file: Annotated[Path, typer.Argument(help="a proof written by `pnyx data prove`")],
    key: Annotated[
        str | None,
        typer.Option(help="the log's verifier key (name+id+base64) or a file holding it"),
    ] = None,
    shard: Annotated[
        Path | None, typer.Option(help="the shard file, to check it against its hash too")
    ] = None,
    artifacts: Annotated[
        Path | None, typer.Option(help="an artifact store holding the index files: re-count")
    ] = None,
    json: JsonOpt = False,
) -> None:
    """Check a proof offline: no database, only the proof and the log's public key."""
    proof = parse_proof_file(file.read_bytes())
    verifier_key, source = _key(key, proof)
    shard_bytes = shard.read_bytes() if shard is not None else None
    report = verify_proof(proof, verifier_key, shard_file=shard_bytes, artifacts=artifacts)
    result = report.as_dict() | {"key_source": source}

    def render(r: dict[str, Any]) -> None:
        for line in r["checked"]:
            console.print(f"ok  {line}", highlight=False)
        console.print(f"{r['claim']}: {r['query']!r} in {r['dataset']}@{r['version']} verified")
        if source != "given":
            err_console.print("note: checked with the key inside the proof; pass --key with the "
                              "facility's published log key to trust the result")  # fmt: skip

    emit(result, json, render)


def _key(key: str | None, proof: dict[str, Any]) -> tuple[str, str]:
    if key is None:
        embedded = proof.get("log_key")
        if not isinstance(embedded, str):
            raise InvalidInputError("the proof names no log key: pass --key")
        return embedded, "proof"
    path = Path(key)
    if "+" not in key and path.is_file():
        return path.read_text(encoding="ascii").strip(), "given"
    return key.strip(), "given"
