"""Verify the public record from outside: recompute the tree, check checkpoints, replay state.

``verify_log(source)`` reads a log through a :class:`LogSource` (a database, or a live server
over HTTP: :mod:`pnyx.services.logsources`) and, in ONE pass over its entries:

1. checks each entry is canonical JSON whose ``seq`` is its index, and recomputes its leaf hash
   (and compares it with the hash the source stores, when it stores one);
2. grows the Merkle tree and, at each stored checkpoint's size, checks the checkpoint's
   signature with the log key and its root against the recomputed root. Every checkpoint is
   checked against one recomputed tree, so each later checkpoint is consistent with each
   earlier one; the source's own consistency proofs between consecutive checkpoints and
   inclusion proofs for a sample of entries are checked too (they are what clients rely on);
3. replays the public entries into a scratch store and computes the public views through the
   same read services the API uses (:data:`PUBLIC_VIEWS`), comparing each with what the source
   reports;
4. checks every stored witness cosignature (C2SP tlog-cosignature/v1) against the witness key
   registered ON THE RECORD (the ``witness.registered`` entries it has just checked), and, when
   a :class:`WitnessPolicy` asks for it, that the latest checkpoint is cosigned by enough of the
   witnesses the caller chose.

The first mismatch stops the pass; the report names it (an entry index, a checkpoint size or a
view). Unlike the ``verify_*`` checks, which raise, ``verify_log`` returns a report.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from pnyx.domain.witness import WitnessRegistered
from pnyx.errors import InvalidInputError, PnyxError, VerificationError
from pnyx.ledger import merkle, note
from pnyx.services import awards, council_read, events, identity, inventory, programmes
from pnyx.services.context import ServiceContext
from pnyx.services.entrycheck import EntryBatch, check_batches
from pnyx.services.replica import Replica

INCLUSION_SAMPLE = 16
_WITNESS_KIND_NAME = WitnessRegistered.KIND
_WITNESS_KIND = b'"kind":"' + _WITNESS_KIND_NAME.encode() + b'"'
PARALLEL_MIN_ENTRIES = 50_000  # below this, starting worker processes costs more than it saves

# --- the public views a replay must reproduce --------------------------------------------------


@dataclass(frozen=True)
class PublicView:
    """A piece of public state: the read service that computes it and the API that reports it.

    ``field`` picks one key of the API's JSON answer (None: the whole answer).
    """

    name: str
    path: str
    compute: Callable[[ServiceContext], Any]
    field: str | None = None


# One line per view; later areas (council results, awards, usage) add theirs here.
PUBLIC_VIEWS: tuple[PublicView, ...] = (
    PublicView("log_size", "/api/v1/log/head", events.event_count, "size"),
    PublicView("members", "/api/v1/members?limit=500", lambda c: identity.list_members(c, 0, 500)),
    PublicView("facility", "/api/v1/facility", inventory.facility_summary),
    PublicView("programmes", "/api/v1/programmes", programmes.list_programmes),
    PublicView("awards", "/api/v1/awards", awards.list_awards),
    PublicView("resolutions", "/api/v1/council/resolutions", council_read.list_resolutions),
    PublicView("shares", "/api/v1/council/shares", council_read.enacted_shares),
)


def jsonable(value: Any) -> Any:
    """A service result as the JSON value the API would send."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


# --- what a verifier reads ----------------------------------------------------------------------


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint as the source keeps it: its size, the root it states, the signed note."""

    size: int
    root_hash: bytes
    note: str


@dataclass(frozen=True)
class StoredCosignature:
    """A witness's cosignature as the source keeps it: checkpoint size, witness id, the line."""

    size: int
    witness_id: str
    line: str


@dataclass(frozen=True)
class WitnessPolicy:
    """What the caller requires of the latest checkpoint: valid cosignatures from at least
    ``minimum`` witnesses, counting only ``witnesses`` (their verifier keys) when given, else
    any witness registered on the record."""

    witnesses: tuple[note.Verifier, ...] = ()
    minimum: int = 0


@dataclass(frozen=True)
class Snapshot:
    """What the source reports at one moment: its log size and head, and its public views.

    ``rows`` / ``max_seq``: how many entry rows a database holds and their largest seq (None
    over HTTP), so a head that disagrees with the table is caught.
    """

    size: int
    root_hash: bytes | None
    views: dict[str, Any]
    rows: int | None = None
    max_seq: int | None = None


class LogSource(Protocol):
    """Where a verifier reads a log: a database or a live server."""

    name: str

    def verifier(self) -> note.Verifier:
        """The log's note verifier key."""

    def checkpoints(self) -> list[StoredCheckpoint]:
        """Every stored checkpoint, oldest first."""

    def cosignatures(self) -> list[StoredCosignature]:
        """Every stored witness cosignature, by checkpoint size."""

    def snapshot(self, views: Sequence[PublicView]) -> Snapshot:
        """The log size and ``views`` as reported at one moment (no write in between)."""

    def entries(self, start: int, end: int) -> Iterator[EntryBatch]:
        """The entries [start, end) in order, in batches."""

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """The source's inclusion proof for entry ``index`` in the tree of ``size``."""

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """The source's consistency proof between two tree sizes."""


# --- the report ---------------------------------------------------------------------------------


@dataclass
class VerifyReport:
    """Outcome of :func:`verify_log`; ``error`` is the first failure (None when ok)."""

    source: str
    entries: int = 0
    checkpoints: int = 0
    cosignatures: int = 0
    latest_cosigners: list[str] = field(default_factory=list)
    root_hash: str | None = None
    replayed_views: list[str] = field(default_factory=list)
    error: str | None = None
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        """True when everything checked held."""
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "ok": self.ok,
            "source": self.source,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "cosignatures": self.cosignatures,
            "latest_cosigners": self.latest_cosigners,
            "root_hash": self.root_hash,
            "replayed_views": self.replayed_views,
            "error": self.error,
            "wall_s": round(self.wall_s, 3),
        }


def verify_log(
    source: LogSource,
    *,
    replay: bool = True,
    views: Sequence[PublicView] = PUBLIC_VIEWS,
    workers: int | None = None,
    policy: WitnessPolicy | None = None,
) -> VerifyReport:
    """Check the whole log of ``source`` (see the module docstring); never raises on a mismatch.

    ``workers``: processes that check entries (default: every core for a log of at least
    PARALLEL_MIN_ENTRIES entries verified without replay, else 1). ``policy``: the witnesses
    the latest checkpoint must be cosigned by. Errors that are not about the log (an
    unreachable server, a missing key) still raise.
    """
    started = time.perf_counter()
    report = VerifyReport(source=source.name)
    try:
        _Pass(source, report, views if replay else None, workers, policy).run()
    except VerificationError as e:
        report.error = str(e)
    report.wall_s = time.perf_counter() - started
    return report


# --- the pass -------------------------------------------------------------------------------------


class _Pass:
    """One verification pass; raises VerificationError at the first mismatch."""

    def __init__(
        self,
        source: LogSource,
        report: VerifyReport,
        views: Sequence[PublicView] | None,
        workers: int | None,
        policy: WitnessPolicy | None = None,
    ) -> None:
        self.source = source
        self.policy = policy or WitnessPolicy()
        self.witnesses: dict[str, note.Verifier] = {}  # registered on the record, by id
        self.scan_witnesses = False  # only when there are cosignatures to check
        self.report = report
        self.views = views
        self.workers = workers or 1
        self.auto_workers = workers is None
        self.frontier: list[merkle.Node] = []
        self.size = 0
        self.sampled: dict[int, bytes] = {}
        self.sample: set[int] = set()
        self.origin: str | None = None

    def run(self) -> None:
        cosignatures = self.source.cosignatures()  # first: each names an existing checkpoint
        stored = self.source.checkpoints()
        policy = self.policy
        self.scan_witnesses = bool(cosignatures or policy.witnesses or policy.minimum > 0)
        _check_order(stored)
        snap = self.source.snapshot(self.views or ())
        verifier = self.source.verifier() if stored else None
        self.sample = _sample(snap.size)
        if self.auto_workers and self.views is None and snap.size >= PARALLEL_MIN_ENTRIES:
            self.workers = os.cpu_count() or 1
        pending = [c for c in stored if c.size <= snap.size]
        replica: Replica | None = Replica() if self.views is not None else None
        with replica or nullcontext():
            self._read_entries(snap.size, pending, verifier, replica)
            self._check_totals(snap, stored)
            self._check_proofs(stored, snap.size)
            if replica is not None:
                self._compare_views(replica, snap)
        self._check_cosignatures(pending, cosignatures)

    def _read_entries(
        self,
        size: int,
        checkpoints: list[StoredCheckpoint],
        verifier: note.Verifier | None,
        replica: Replica | None,
    ) -> None:
        queue = iter(checkpoints)
        due = next(queue, None)
        while due is not None and due.size == 0:
            self._check_checkpoint(due, verifier)
            due = next(queue, None)
        batches = self.source.entries(0, size)
        keep = replica is not None
        for checked in check_batches(batches, keep_objects=keep, workers=self.workers):
            batch, hashes = checked.batch, checked.hashes
            if batch.start != self.size:
                raise VerificationError(f"entry {self.size}: the source skipped to {batch.start}")
            if replica is not None and checked.objects is not None:
                replica.apply(batch.start, batch.entries, hashes, checked.objects)
            if self.scan_witnesses:
                self._note_witnesses(batch)
            for index in self.sample:
                if batch.start <= index < batch.start + len(hashes):
                    self.sampled[index] = hashes[index - batch.start]
            position = 0
            while due is not None and due.size <= batch.start + len(hashes):
                cut = due.size - batch.start
                self._grow(hashes[position:cut])
                position = cut
                self._check_checkpoint(due, verifier)
                due = next(queue, None)
            self._grow(hashes[position:])
        self.report.entries = self.size

    def _note_witnesses(self, batch: EntryBatch) -> None:
        """Remember the witness keys registered in ``batch`` (canonical JSON: the key/value
        pair appears exactly so, unescaped, only as an entry's own kind)."""
        for data in batch.entries:
            if _WITNESS_KIND in data:
                entry = json.loads(data)
                if entry.get("kind") != _WITNESS_KIND_NAME:
                    continue
                body = entry.get("body") or {}
                try:
                    verifier = note.parse_verifier_key(str(body.get("verifier_key")))
                except InvalidInputError:
                    continue  # a cosignature naming this witness then fails as unregistered
                self.witnesses.setdefault(str(body.get("witness_id")), verifier)

    def _grow(self, hashes: Sequence[bytes]) -> None:
        if hashes:
            self.frontier = merkle.extend_frontier(self.frontier, self.size, hashes)
            self.size += len(hashes)

    def _check_checkpoint(self, stored: StoredCheckpoint, verifier: note.Verifier | None) -> None:
        assert verifier is not None
        where = f"checkpoint at size {stored.size}"
        try:
            checkpoint, _ = note.open_checkpoint(stored.note, [verifier])
        except VerificationError as e:
            raise VerificationError(f"{where}: {e}") from e
        if checkpoint.size != stored.size:
            raise VerificationError(f"{where}: its note says size {checkpoint.size}")
        if self.origin is not None and checkpoint.origin != self.origin:
            raise VerificationError(f"{where}: origin {checkpoint.origin!r} != {self.origin!r}")
        if checkpoint.root_hash != stored.root_hash:
            raise VerificationError(
                f"{where}: signed root {b64(checkpoint.root_hash)} != stored root "
                f"{b64(stored.root_hash)}"
            )
        recomputed = merkle.root_from_frontier(self.frontier)
        if checkpoint.root_hash != recomputed:
            raise VerificationError(
                f"{where}: root {b64(checkpoint.root_hash)} != recomputed {b64(recomputed)}"
            )
        self.report.checkpoints += 1
        self.origin = checkpoint.origin

    def _check_totals(self, snap: Snapshot, stored: list[StoredCheckpoint]) -> None:
        if self.size != snap.size:
            raise VerificationError(
                f"entry {self.size}: missing (the source reports {snap.size} entries)"
            )
        beyond = [c.size for c in stored if c.size > snap.size]
        if beyond:
            raise VerificationError(
                f"checkpoint at size {beyond[0]}: beyond the log's {snap.size} entries"
            )
        if snap.rows is not None and snap.rows != snap.size:
            raise VerificationError(
                f"log head: size {snap.size} but the store holds {snap.rows} entries "
                f"(largest seq {snap.max_seq})"
            )
        root = merkle.root_from_frontier(self.frontier)
        self.report.root_hash = b64(root)
        if snap.root_hash is not None and snap.root_hash != root:
            raise VerificationError(
                f"log head: root {b64(snap.root_hash)} != recomputed {b64(root)} at size "
                f"{snap.size}"
            )

    def _check_proofs(self, stored: list[StoredCheckpoint], size: int) -> None:
        """The source's proofs: consecutive checkpoints (and the head), and sampled entries."""
        root = merkle.root_from_frontier(self.frontier)
        heads = [(c.size, c.root_hash, "checkpoint") for c in stored if c.size > 0]
        if not heads or heads[-1][0] != size:
            heads.append((size, root, "log head"))
        for (old, old_root, _), (new, new_root, what) in itertools.pairwise(heads):
            where = f"{what} at size {new}: consistency proof from size {old}"
            try:
                proof = self.source.consistency_proof(old, new)
                merkle.verify_consistency(old, new, old_root, new_root, proof)
            except PnyxError as e:
                raise VerificationError(f"{where}: {e}") from e
        for index, leaf in sorted(self.sampled.items()):
            try:
                proof = self.source.inclusion_proof(index, size)
                merkle.verify_inclusion(leaf, index, size, proof, root)
            except PnyxError as e:
                raise VerificationError(
                    f"entry {index}: inclusion proof at size {size}: {e}"
                ) from e

    def _check_cosignatures(
        self, stored: list[StoredCheckpoint], cosignatures: list[StoredCosignature]
    ) -> None:
        """Every cosignature verifies with its witness's key on the record; then the policy."""
        notes = {c.size: c.note for c in stored}
        latest = stored[-1].size if stored else None
        cosigners: dict[str, note.Verifier] = {}
        for cos in cosignatures:
            where = f"checkpoint at size {cos.size}: cosignature of witness {cos.witness_id}"
            signed = notes.get(cos.size)
            if signed is None:
                raise VerificationError(f"{where}: no such checkpoint in the log")
            verifier = self.witnesses.get(cos.witness_id)
            if verifier is None:
                raise VerificationError(f"{where}: the witness is not registered on the record")
            try:
                note.verify_cosignature(note.split_note(signed)[0], cos.line, verifier)
            except PnyxError as e:
                raise VerificationError(f"{where} ({verifier.key_string}): {e}") from e
            self.report.cosignatures += 1
            if cos.size == latest:
                cosigners[cos.witness_id] = verifier
        self.report.latest_cosigners = sorted(cosigners)
        self._check_policy(latest, cosigners)

    def _check_policy(self, latest: int | None, cosigners: dict[str, note.Verifier]) -> None:
        policy = self.policy
        if policy.minimum <= 0 and not policy.witnesses:
            return
        if latest is None:
            raise VerificationError(
                f"log: no checkpoint, so none cosigned by {policy.minimum} witness(es)"
            )
        keys = {v.key_string for v in cosigners.values()}
        missing = [w.key_string for w in policy.witnesses if w.key_string not in keys]
        count = len(policy.witnesses) - len(missing) if policy.witnesses else len(keys)
        needed = policy.minimum if policy.minimum > 0 else len(policy.witnesses)
        if count < needed:
            among = " of the required witnesses" if policy.witnesses else ""
            absent = f"; not cosigned by {', '.join(missing)}" if missing else ""
            raise VerificationError(
                f"checkpoint at size {latest}: valid cosignatures from {count}{among}, "
                f"need {needed}{absent}"
            )

    def _compare_views(self, replica: Replica, snap: Snapshot) -> None:
        assert self.views is not None
        for view in self.views:
            replayed = jsonable(view.compute(replica.ctx))
            reported = snap.views[view.name]
            difference = first_difference(replayed, reported)
            if difference is not None:
                raise VerificationError(f"view {view.name}: replayed != reported: {difference}")
            self.report.replayed_views.append(view.name)


# --- per-entry checks --------------------------------------------------------------------------


def _check_order(stored: list[StoredCheckpoint]) -> None:
    for before, after in itertools.pairwise(stored):
        if after.size <= before.size:
            raise VerificationError(
                f"checkpoint at size {after.size}: listed after the one at size {before.size}"
            )


def _sample(size: int) -> set[int]:
    """Entries whose inclusion proofs are checked: the first, the last and a random few."""
    if size == 0:
        return set()
    return {0, size - 1} | {secrets.randbelow(size) for _ in range(INCLUSION_SAMPLE)}


# --- helpers -------------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    """Standard base64 text of a hash."""
    return base64.b64encode(data).decode()


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two JSON values first differ (``items[2].name: 'x' != 'y'``), or None if equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                side = "replayed" if key in a else "reported"
                return f"{path}.{key}".lstrip(".") + f": only in the {side} view"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found is not None:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found is not None:
                return found
        if len(a) != len(b):
            return f"{path or 'value'}: {len(a)} items != {len(b)}"
        return None
    if a != b or type(a) is not type(b):
        return f"{path.lstrip('.') or 'value'}: {a!r} != {b!r}"
    return None
