"""pnyx ledger verify: recompute the tree, check every checkpoint, replay the public state."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pnyx.cli.common import DataOpt, DbOpt, JsonOpt, UrlOpt, console, database_url, emit, fail
from pnyx.errors import ConflictError, InvalidInputError, NotFoundError
from pnyx.ledger import note
from pnyx.services import knownlogs, witnesses
from pnyx.services.logkey import parse_key_file
from pnyx.services.logsources import DbLogSource, HttpLogSource
from pnyx.services.verify import LogSource, WitnessPolicy, verify_log
from pnyx.settings import DEFAULT_DATA_DIR, Settings
from pnyx.store.db import Database

KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key",
        help="the log's verifier key: NAME+KEYID+BASE64, or a file holding it (default: the "
        "log's key file; for --url the key the server publishes, pinned on first use)",
    ),
]
KnownKeysOpt = Annotated[
    Path | None,
    typer.Option(
        "--known-keys",
        help="where --url pins each server's log key (default ~/.config/pnyx/known_logs)",
    ),
]
WitnessOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--witness",
        help="a witness verifier key (NAME+KEYID+BASE64, type 0x04) that must have cosigned "
        "the latest checkpoint; repeatable",
    ),
]
MinCosignaturesOpt = Annotated[
    int | None,
    typer.Option(
        "--min-cosignatures",
        min=0,
        help="how many valid cosignatures the latest checkpoint needs (from the --witness keys "
        "when given, default all of them; else from any witness on the record, default 0)",
    ),
]
NoReplayOpt = Annotated[
    bool, typer.Option("--no-replay", help="check entries, tree and checkpoints only")
]


def verify(
    data: DataOpt = None,
    db: DbOpt = None,
    url: UrlOpt = None,
    key: KeyOpt = None,
    known_keys: KnownKeysOpt = None,
    witness: WitnessOpt = None,
    min_cosignatures: MinCosignaturesOpt = None,
    no_replay: NoReplayOpt = False,
    json: JsonOpt = False,
) -> None:
    """Recompute every leaf and the tree, check every checkpoint's signature and consistency
    and every witness cosignature, replay the events and compare the public state; exit 0 only
    when all of that holds."""
    if url is not None and (data is not None or db is not None):
        raise typer.BadParameter("give one of --data, --db and --url")
    policy = _policy(witness or [], min_cosignatures)
    verifier = knownlogs.parse_log_key(key) if key else None
    if url is not None:
        http = HttpLogSource(url, verifier)
        try:
            trust = _trust(http, url, known_keys) if verifier is None else None
            _run(http, no_replay, json, policy, trust)
        finally:
            http.close()
        return
    database = _open(data, db)
    try:
        source = DbLogSource(database, verifier or _stored_key(data, db))
        _run(source, no_replay, json, policy, None)
    finally:
        database.dispose()


def _policy(keys: list[str], minimum: int | None) -> WitnessPolicy:
    chosen = tuple(witnesses.parse_witness_key(k) for k in keys)
    if minimum is not None and chosen and minimum > len(chosen):
        raise typer.BadParameter(
            f"--min-cosignatures {minimum} exceeds the {len(chosen)} --witness key(s) given"
        )
    return WitnessPolicy(chosen, minimum if minimum is not None else len(chosen))


def _trust(source: HttpLogSource, url: str, known_keys: Path | None) -> knownlogs.Pinning:
    """The server's key, checked against (or pinned in) the known keys file."""
    path = known_keys or knownlogs.default_known_keys()
    try:
        return knownlogs.pin_log_key(path, url, source.verifier())
    except ConflictError as e:
        fail(f"refusing to verify: {e}")


def _run(
    source: LogSource,
    no_replay: bool,
    json: bool,
    policy: WitnessPolicy,
    trust: knownlogs.Pinning | None,
) -> None:
    if trust is not None and not json:
        console.print(trust.message(), highlight=False, soft_wrap=True)
    report = verify_log(source, replay=not no_replay, policy=policy)
    out = report.as_dict()
    if trust is not None:
        out |= {"log_key": trust.key, "log_key_trust": trust.message()}
    emit(out, json, _render)
    if not report.ok:
        fail(f"verification failed: {report.error}")


def _open(data: Path | None, db: str | None) -> Database:
    if data is not None and not data.is_dir():
        raise NotFoundError(f"data directory {data} does not exist")
    database = Database(database_url(data, db))
    if not database.is_initialised():
        database.dispose()
        raise NotFoundError(f"no pnyx log in {data or db}")
    return database


def _stored_key(data: Path | None, db: str | None) -> note.Verifier | None:
    """The public half of the log key file (PNYX_LOG_KEY_FILE, else DATA_DIR/log-key)."""
    settings = Settings(data_dir=data or DEFAULT_DATA_DIR, db_url=db)
    path = settings.log_key_path
    if not path.is_file():
        return None
    signer = parse_key_file(path)
    if signer.alg != note.ALG_ED25519:
        raise InvalidInputError(f"{path} does not hold a note signing key (type 0x01)")
    return signer.verifier


def _render(out: dict[str, Any]) -> None:
    if not out["ok"]:
        return  # the one error line follows on stderr
    views = ", ".join(out["replayed_views"]) or "none (--no-replay)"
    cosigners = ", ".join(out["latest_cosigners"]) or "none"
    console.print(
        f"[green]ok[/green]: {out['entries']} entries, {out['checkpoints']} checkpoints, "
        f"{out['cosignatures']} cosignatures (latest checkpoint cosigned by: {cosigners}), "
        f"root {out['root_hash']}; replayed views: {views} ({out['wall_s']} s)",
        highlight=False,
    )
