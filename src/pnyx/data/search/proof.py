"""Membership proofs over the training data that verify offline, with only the log's public key.

A proof that text T occurs in ``dataset@version`` is a JSON file holding:

- ``occurrence``: the shard number, the document's line number and the byte offset of T, the
  document's full shard line (canonical JSON of id, text, source, sha256) and the RFC 9162
  inclusion proof of that line in the Merkle tree over the shard's lines;
- ``shards``: for that shard, the index manifest (naming the shard hash and the line root) and
  the ledger entry ``dataset.index_built`` that binds the index hash to the shard hash and the
  dataset version's manifest hash, with its inclusion proof in the log;
- ``dataset_manifest`` and its ledger entry ``dataset.version_added`` with inclusion proof;
- ``checkpoint``: a signed checkpoint note of the log covering both entries.

:func:`verify_proof` checks, in this order, and raises VerificationError whose message starts
with the part that failed (``checkpoint``, ``ledger entry ...``, ``dataset manifest``,
``index manifest``, ``shard``, ``document``): the checkpoint signature; each entry's inclusion
under the checkpoint; the manifest's hash against the version entry; the index manifest's hash
against the index entry, which must name the same version, manifest and shard; the shard hash
against the manifest's shard list; the document's text against its own sha256; the document
line's inclusion under the line root; and T at the stated offset.

An ``absent`` proof carries every shard's index manifest and entry instead of an occurrence: it
proves which indexes answered, bound to the ledger, not that they are right. Given the index
files (``artifacts``), the verifier re-runs the count on them after checking their hashes.
See docs/search.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pnyx.data.artifacts import ArtifactStore
from pnyx.data.search.corpus import line_root, split_lines
from pnyx.data.search.index import open_index
from pnyx.data.search.layout import IndexManifest, parse_index_manifest
from pnyx.domain.canonical import parse_canonical_json
from pnyx.errors import InvalidInputError, PnyxError, VerificationError
from pnyx.ledger import merkle, note

FORMAT = "pnyx-search-proof/1"
VERSION_EVENT = "dataset.version_added"
INDEX_EVENT = "dataset.index_built"


@dataclass(frozen=True)
class LedgerEntry:
    """A log entry (its canonical JSON text), its index and its inclusion proof."""

    index: int
    entry: str
    proof: Sequence[bytes]

    def to_json(self) -> dict[str, Any]:
        """JSON form (proof hashes in base64)."""
        proof = [base64.b64encode(h).decode() for h in self.proof]
        return {"index": self.index, "entry": self.entry, "proof": proof}


@dataclass(frozen=True)
class OccurrenceEvidence:
    """Where the text is: shard, line, byte offset, the line itself and its inclusion proof."""

    shard: int
    doc: int
    offset: int
    line: str
    line_proof: Sequence[bytes]

    def to_json(self) -> dict[str, Any]:
        """JSON form (line proof hashes in hex)."""
        return {
            "shard": self.shard,
            "doc": self.doc,
            "offset": self.offset,
            "line": self.line,
            "line_proof": [h.hex() for h in self.line_proof],
        }


@dataclass(frozen=True)
class ShardEvidence:
    """One shard's index manifest and the ledger entry that recorded it."""

    shard: int
    index_manifest: str
    entry: LedgerEntry


def line_proof(shard: bytes, doc: int) -> tuple[str, list[bytes]]:
    """Line ``doc`` of ``shard`` (as text) and its inclusion proof in the line tree."""
    lines = split_lines(shard)
    return lines[doc].decode("utf-8"), merkle.inclusion_proof(lines, doc)


def render_proof(
    *,
    query: str,
    dataset: str,
    version: int,
    count: int,
    occurrence: OccurrenceEvidence | None,
    shards: Sequence[ShardEvidence],
    dataset_manifest: bytes,
    version_entry: LedgerEntry,
    checkpoint: str,
    log_key: str,
) -> dict[str, Any]:
    """The proof document (a JSON object) for a present (with occurrence) or absent answer."""
    return {
        "format": FORMAT,
        "query": query,
        "dataset": dataset,
        "version": version,
        "claim": "present" if occurrence else "absent",
        "count": count,
        "occurrence": occurrence.to_json() if occurrence else None,
        "shards": [
            {"shard": s.shard, "index_manifest": s.index_manifest, "entry": s.entry.to_json()}
            for s in shards
        ],
        "dataset_manifest": dataset_manifest.decode("utf-8"),
        "version_entry": version_entry.to_json(),
        "checkpoint": checkpoint,
        "log_key": log_key,
    }


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ProofReport:
    """What a verified proof established."""

    claim: str
    dataset: str
    version: int
    query: str
    checkpoint_size: int
    checked: list[str]
    recounted: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {"ok": True, **self.__dict__}


def _fail(part: str, message: str) -> VerificationError:
    return VerificationError(f"{part}: {message}")


def _get(obj: dict[str, Any], key: str, kind: type, part: str) -> Any:
    value = obj.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _fail(part, f"field {key!r} is missing or not a {kind.__name__}")
    return value


def parse_proof_file(data: bytes) -> dict[str, Any]:
    """The proof object in ``data``; VerificationError if it is not a proof file."""
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, ValueError) as e:
        raise _fail("proof file", f"not UTF-8 JSON: {e}") from e
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise _fail("proof file", f"not a {FORMAT} document")
    return obj


def verify_proof(
    proof: dict[str, Any],
    verifier_key: str,
    *,
    shard_file: bytes | None = None,
    artifacts: Path | None = None,
) -> ProofReport:
    """Check ``proof`` against the log key ``verifier_key``; raise VerificationError naming the
    part that failed. ``shard_file``: the shard's bytes, also checked against its hash and line
    root. ``artifacts``: an artifact store root holding the index files, to re-run the count."""
    checked: list[str] = []
    checkpoint = _verify_checkpoint(proof, verifier_key, checked)
    version_body = _verify_entry(
        _get(proof, "version_entry", dict, "proof file"), checkpoint, VERSION_EVENT
    )
    checked.append(f"ledger entry {VERSION_EVENT} is in the checkpointed log")
    manifest = _verify_dataset_manifest(proof, version_body, checked)
    indexes = _verify_shards(proof, checkpoint, manifest, checked)
    query = _get(proof, "query", str, "proof file")
    claim = proof.get("claim")
    if claim == "present":
        _verify_occurrence(proof, query, manifest, indexes, checked, shard_file)
    elif claim != "absent":
        raise _fail("proof file", f"claim must be 'present' or 'absent', got {claim!r}")
    elif len(indexes) != len(manifest["shards"]):
        raise _fail("index manifest", "an absent claim needs the index of every shard")
    recount = _recount(query, indexes, artifacts, claim, checked) if artifacts else None
    return ProofReport(
        claim, proof["dataset"], proof["version"], query, checkpoint.size, checked, recount
    )


def _verify_checkpoint(proof: dict[str, Any], key: str, checked: list[str]) -> note.Checkpoint:
    text = _get(proof, "checkpoint", str, "checkpoint")
    try:
        verifier = note.parse_verifier_key(key)
        cp, _ = note.open_checkpoint(text, [verifier])
    except PnyxError as e:
        raise _fail("checkpoint", str(e)) from e
    checked.append(f"checkpoint of size {cp.size} is signed by {verifier.name}")
    return cp


def _decode_hashes(values: Any, part: str, decode: Callable[[str], bytes]) -> list[bytes]:
    if not isinstance(values, list):
        raise _fail(part, "proof is not a list")
    try:
        return [decode(v) for v in values]
    except (TypeError, ValueError, binascii.Error) as e:
        raise _fail(part, f"proof hash is malformed: {e}") from e


def _verify_entry(obj: dict[str, Any], cp: note.Checkpoint, kind: str) -> dict[str, Any]:
    part = f"ledger entry {kind}"
    text = _get(obj, "entry", str, part)
    index = _get(obj, "index", int, part)
    proof = _decode_hashes(obj.get("proof"), part, lambda v: base64.b64decode(v, validate=True))
    entry = text.encode("utf-8")
    try:
        merkle.verify_inclusion(merkle.leaf_hash(entry), index, cp.size, proof, cp.root_hash)
        value = parse_canonical_json(entry)
    except PnyxError as e:
        raise _fail(part, f"not included in the checkpointed log at {index}: {e}") from e
    if not isinstance(value, dict) or value.get("kind") != kind or value.get("seq") != index:
        raise _fail(part, f"entry {index} is not a {kind} event")
    body = value.get("body")
    if not isinstance(body, dict):
        raise _fail(part, "entry has no body")
    return body


def _verify_dataset_manifest(
    proof: dict[str, Any], body: dict[str, Any], checked: list[str]
) -> dict[str, Any]:
    text = _get(proof, "dataset_manifest", str, "dataset manifest")
    data = text.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    if body.get("manifest_sha256") != digest:
        raise _fail(
            "dataset manifest",
            f"hashes to {digest}, the ledger entry records {body.get('manifest_sha256')}",
        )
    try:
        manifest = parse_canonical_json(data)
    except InvalidInputError as e:
        raise _fail("dataset manifest", str(e)) from e
    want = (proof.get("dataset"), proof.get("version"))
    if (manifest.get("dataset"), manifest.get("version")) != want or (
        body.get("dataset"),
        body.get("version"),
    ) != want:
        raise _fail("dataset manifest", f"is not the manifest of {want[0]}@{want[1]}")
    checked.append(f"dataset manifest {digest} is the one recorded for {want[0]}@{want[1]}")
    if not isinstance(manifest, dict):  # pragma: no cover  (checked by the comparison above)
        raise _fail("dataset manifest", "not an object")
    return manifest


def _verify_shards(
    proof: dict[str, Any], cp: note.Checkpoint, manifest: dict[str, Any], checked: list[str]
) -> dict[int, IndexManifest]:
    shards = manifest.get("shards")
    if not isinstance(shards, list):
        raise _fail("dataset manifest", "has no shard list")
    manifest_sha = hashlib.sha256(proof["dataset_manifest"].encode()).hexdigest()
    out: dict[int, IndexManifest] = {}
    for item in _get(proof, "shards", list, "proof file"):
        number = _get(item, "shard", int, "index manifest")
        if not 0 <= number < len(shards):
            raise _fail("shard", f"shard {number} is not in the manifest")
        body = _verify_entry(_get(item, "entry", dict, "proof file"), cp, INDEX_EVENT)
        text = _get(item, "index_manifest", str, "index manifest").encode("utf-8")
        digest = hashlib.sha256(text).hexdigest()
        if body.get("index_sha256") != digest:
            raise _fail("index manifest", f"of shard {number} hashes to {digest}, not the "
                        f"recorded {body.get('index_sha256')}")  # fmt: skip
        expected = (proof["dataset"], proof["version"], manifest_sha, number)
        got = (body.get("dataset"), body.get("version"), body.get("manifest_sha256"),
               body.get("shard"))  # fmt: skip
        if got != expected:
            raise _fail("index manifest", f"entry names {got}, expected {expected}")
        try:
            index = parse_index_manifest(text)
        except InvalidInputError as e:
            raise _fail("index manifest", str(e)) from e
        _check_shard(index, shards[number], number, body)
        out[number] = index
    checked.append(f"index of shard(s) {sorted(out)} recorded on the log for this manifest")
    return out


def _check_shard(index: IndexManifest, shard: Any, number: int, body: dict[str, Any]) -> None:
    if not isinstance(shard, dict) or shard.get("sha256") != index.shard_sha256:
        listed = shard.get("sha256") if isinstance(shard, dict) else None
        raise _fail("shard", f"{number}: the index names shard {index.shard_sha256}, the "
                    f"dataset manifest lists {listed}")  # fmt: skip
    if body.get("shard_sha256") != index.shard_sha256 or body.get("line_root") != index.line_root:
        raise _fail("shard", f"{number}: the ledger entry and the index manifest disagree")
    if shard.get("records") != index.records:
        raise _fail("shard", f"{number}: record counts differ between manifest and index")


def _verify_occurrence(
    proof: dict[str, Any],
    query: str,
    manifest: dict[str, Any],
    indexes: dict[int, IndexManifest],
    checked: list[str],
    shard_file: bytes | None,
) -> None:
    occ = _get(proof, "occurrence", dict, "document")
    number, doc = _get(occ, "shard", int, "document"), _get(occ, "doc", int, "document")
    index = indexes.get(number)
    if index is None:
        raise _fail("index manifest", f"the proof holds no index of shard {number}")
    line = _get(occ, "line", str, "document").encode("utf-8")
    record = _document_record(line)
    text = record["text"].encode("utf-8")
    if hashlib.sha256(text).hexdigest() != record["sha256"]:
        raise _fail("document", f"text of {record['id']!r} does not hash to its sha256")
    path = _decode_hashes(occ.get("line_proof"), "shard", bytes.fromhex)
    try:
        merkle.verify_inclusion(
            merkle.leaf_hash(line), doc, index.records, path, bytes.fromhex(index.line_root)
        )
    except PnyxError as e:
        raise _fail(
            "document",
            f"line {doc} is not in shard {number} under its line root: the line or its line "
            f"proof was changed ({e})",
        ) from e
    offset = _get(occ, "offset", int, "document")
    if offset < 0 or text[offset : offset + len(query.encode())] != query.encode():
        raise _fail("document", f"the query is not at byte {offset} of {record['id']!r}")
    checked.append(f"document {record['id']!r} (line {doc} of shard {number}) holds the query")
    if shard_file is not None:
        _verify_shard_file(shard_file, index, number)
        checked.append(f"shard file hashes to {index.shard_sha256} and to the line root")


def _document_record(line: bytes) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError as e:
        raise _fail("document", f"line is not JSON: {e}") from e
    if not isinstance(record, dict) or not all(
        isinstance(record.get(k), str) for k in ("id", "text", "sha256")
    ):
        raise _fail("document", "line is not a text record")
    return record


def _verify_shard_file(data: bytes, index: IndexManifest, number: int) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != index.shard_sha256:
        raise _fail("shard", f"{number}: the file hashes to {digest}, not {index.shard_sha256}")
    if line_root(split_lines(data)).hex() != index.line_root:  # pragma: no cover  (sha binds)
        raise _fail("shard", f"{number}: its line root is not {index.line_root}")


def _recount(
    query: str,
    indexes: dict[int, IndexManifest],
    artifacts: Path,
    claim: Any,
    checked: list[str],
) -> int:
    """Re-run the count on the index files (each hash-checked against its manifest)."""
    store = ArtifactStore(artifacts)
    total = 0
    for index in indexes.values():
        try:
            sha = hashlib.sha256(index.to_bytes()).hexdigest()
            total += open_index(store, sha).count(query.encode())
        except PnyxError as e:
            raise _fail("index manifest", f"cannot re-run the count: {e}") from e
    if claim == "absent" and total:
        raise _fail("index manifest", f"the indexes find {total} occurrence(s): not absent")
    if claim == "present" and not total:
        raise _fail("index manifest", "the index finds no occurrence of the proven text")
    checked.append(f"re-ran the count on the hash-checked index files: {total}")
    return total
