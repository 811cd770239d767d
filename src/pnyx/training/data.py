"""Training data with provenance: verified shards in, packed sequences and an order file out.

- :func:`load_corpus` reads each dataset version's manifest (from the artifact store by hash,
  or from a file) and every shard it lists through :class:`ArtifactStore`, which re-hashes the
  bytes: a tampered shard raises :class:`ArtifactIntegrityError` and is never used. Shard sizes
  and record counts must match the manifest; every document's text must match its sha256.
- Documents are numbered per dataset version by the global index of data-formats.md (manifest
  shard order, then line order).
- :class:`Packer` tokenizes every document once (with an end-of-sequence token after it); each
  epoch it shuffles the documents with a generator seeded by ``(seed, epoch)``, concatenates them,
  cuts ``seq_len``-token samples (the tail that does not fill a sample is dropped) and shuffles
  the samples too (so a long document is spread over many steps). Sample ``g`` of the run is
  sample ``g mod n`` of epoch ``g div n``. Step ``s`` (0-based) uses samples
  ``s*B .. s*B+B-1`` (``B`` = global batch); micro-batch ``m`` of rank ``r`` takes
  ``s*B + (m*world + r)*micro_batch + i``.
- The **order file** (JSON Lines) starts with a header naming the dataset versions and, per
  step, lists each sequence's pieces ``[dataset, global index, first token, end token]``, so
  anyone can list the exact documents (and token spans) the model saw at any step.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer

from pnyx.data.artifacts import ArtifactStore
from pnyx.data.manifest import manifest_hash, parse_manifest
from pnyx.data.shards import read_text_shard
from pnyx.errors import InvalidInputError
from pnyx.training.config import DataConfig

ORDER_FORMAT = 1
TEXT_MODALITIES = ("text", "code")


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset version used by a run, as recorded in its run manifest."""

    dataset: str
    version: int
    manifest_sha256: str
    modality: str
    license: str
    records: int
    shards: tuple[dict[str, Any], ...]

    def record(self) -> dict[str, Any]:
        """The run-manifest row of this version."""
        return {
            "dataset": self.dataset,
            "version": self.version,
            "manifest_sha256": self.manifest_sha256,
            "modality": self.modality,
            "license": self.license,
            "records": self.records,
            "shards": [dict(s) for s in self.shards],
        }


@dataclass
class Corpus:
    """All documents of a run's dataset versions, in (dataset, global index) order."""

    datasets: list[DatasetInfo]
    texts: list[str]
    doc_dataset: np.ndarray  # int32, dataset number of each document
    doc_index: np.ndarray  # int64, global index inside its dataset version
    doc_sha256: list[str]


def _read_manifest(store: ArtifactStore, ref_hash: str | None, ref_path: str | None) -> Any:
    if ref_hash is not None:
        data = store.read(ref_hash)  # verified: a tampered manifest is refused here
        return parse_manifest(data), ref_hash
    assert ref_path is not None
    try:
        data = Path(ref_path).read_bytes()
    except OSError as e:
        raise InvalidInputError(f"cannot read dataset manifest {ref_path}: {e}") from e
    manifest = parse_manifest(data)
    return manifest, manifest_hash(manifest)


def load_corpus(dc: DataConfig) -> Corpus:
    """Read and verify every shard of the configured dataset versions."""
    store = ArtifactStore(Path(dc.artifact_root))
    infos: list[DatasetInfo] = []
    texts: list[str] = []
    ds_col: list[int] = []
    idx_col: list[int] = []
    shas: list[str] = []
    for d, ref in enumerate(dc.datasets):
        manifest, mhash = _read_manifest(store, ref.manifest, ref.manifest_path)
        name = f"{manifest['dataset']}@{manifest['version']}"
        if manifest["modality"] not in TEXT_MODALITIES:
            raise InvalidInputError(
                f"dataset {name} is {manifest['modality']}; the recipe trains on text or code"
            )
        g = 0
        for s in manifest["shards"]:
            sha = s["sha256"]
            if s["format"] != "jsonl":
                raise InvalidInputError(f"dataset {name}: shard {sha} is not jsonl")
            data = store.read(sha)  # ArtifactIntegrityError if its bytes do not match
            records = read_text_shard(data)
            if len(data) != s["bytes"] or len(records) != s["records"]:
                raise InvalidInputError(
                    f"dataset {name}: shard {sha} has {len(data)} bytes / {len(records)} "
                    f"records, the manifest says {s['bytes']} / {s['records']}"
                )
            for rec in records:
                texts.append(rec.text)
                shas.append(rec.sha256)
                ds_col.append(d)
                idx_col.append(g)
                g += 1
        infos.append(
            DatasetInfo(
                dataset=manifest["dataset"],
                version=manifest["version"],
                manifest_sha256=mhash,
                modality=manifest["modality"],
                license=manifest["license"],
                records=manifest["records"],
                shards=tuple(
                    {"sha256": s["sha256"], "bytes": s["bytes"], "records": s["records"]}
                    for s in manifest["shards"]
                ),
            )
        )
    if not texts:
        raise InvalidInputError("the configured dataset versions hold no documents")
    return Corpus(infos, texts, np.asarray(ds_col, np.int32), np.asarray(idx_col, np.int64), shas)


class Packer:
    """Deterministic packing of tokenized documents into ``seq_len``-token samples."""

    def __init__(self, corpus: Corpus, tok: Tokenizer, seq_len: int, seed: int, eos_id: int):
        self.corpus = corpus
        self.seq_len = seq_len
        self.seed = seed
        encoded = tok.encode_batch(corpus.texts, add_special_tokens=False)
        self.doc_tokens = [np.asarray([*e.ids, eos_id], dtype=np.int64) for e in encoded]
        self.total_tokens = int(sum(len(t) for t in self.doc_tokens))
        self.samples_per_epoch = self.total_tokens // seq_len
        if self.samples_per_epoch < 1:
            raise InvalidInputError(
                f"the data holds {self.total_tokens} tokens, fewer than one sequence of {seq_len}"
            )
        self._epoch = -1
        self._stream = np.zeros(0, np.int64)
        self._perm = np.zeros(0, np.int64)
        self._starts = np.zeros(1, np.int64)
        self._order = np.zeros(0, np.int64)

    def _load_epoch(self, epoch: int) -> None:
        if epoch == self._epoch:
            return
        rng = np.random.default_rng([self.seed, epoch])
        perm = rng.permutation(len(self.doc_tokens))
        lengths = np.asarray([len(self.doc_tokens[i]) for i in perm], np.int64)
        self._starts = np.concatenate([[0], np.cumsum(lengths)])
        self._stream = np.concatenate([self.doc_tokens[i] for i in perm])
        self._perm = perm
        self._order = rng.permutation(self.samples_per_epoch)
        self._epoch = epoch

    def sample(self, g: int) -> tuple[np.ndarray, list[list[int]]]:
        """Tokens of run sample ``g`` and its pieces ``[dataset, index, first, end]``."""
        epoch, k = divmod(g, self.samples_per_epoch)
        self._load_epoch(epoch)
        k = int(self._order[k])
        lo, hi = k * self.seq_len, (k + 1) * self.seq_len
        i = int(np.searchsorted(self._starts, lo, side="right")) - 1
        pieces: list[list[int]] = []
        while i < len(self._perm) and self._starts[i] < hi:
            doc = int(self._perm[i])
            start = int(self._starts[i])
            pieces.append(
                [
                    int(self.corpus.doc_dataset[doc]),
                    int(self.corpus.doc_index[doc]),
                    max(lo, start) - start,
                    min(hi, int(self._starts[i + 1])) - start,
                ]
            )
            i += 1
        return self._stream[lo:hi], pieces

    def batch(self, samples: Sequence[int]) -> tuple[torch.Tensor, list[list[list[int]]]]:
        """A ``[len(samples), seq_len]`` int64 tensor and each sample's pieces."""
        rows, pieces = zip(*(self.sample(g) for g in samples), strict=True)
        return torch.from_numpy(np.stack(rows)), list(pieces)


@dataclass(frozen=True)
class Layout:
    """How a step's global batch is split over micro-batches and ranks."""

    micro_batch: int
    grad_accum: int
    world_size: int

    @property
    def global_batch(self) -> int:
        """Sequences per optimiser step, all ranks together."""
        return self.micro_batch * self.grad_accum * self.world_size

    def micro_samples(self, step: int, micro: int, rank: int) -> list[int]:
        """Run sample numbers of micro-batch ``micro`` of ``rank`` at 0-based ``step``."""
        first = step * self.global_batch + (micro * self.world_size + rank) * self.micro_batch
        return list(range(first, first + self.micro_batch))

    def step_samples(self, step: int) -> list[int]:
        """All run sample numbers of 0-based ``step`` (every rank and micro-batch)."""
        first = step * self.global_batch
        return list(range(first, first + self.global_batch))


# --- the order file ---------------------------------------------------------------------------


def order_header(datasets: Sequence[DatasetInfo], seq_len: int, layout: Layout, seed: int) -> str:
    """The first line of an order file."""
    return _line(
        {
            "order_file": ORDER_FORMAT,
            "datasets": [
                {"dataset": d.dataset, "version": d.version, "manifest_sha256": d.manifest_sha256}
                for d in datasets
            ],
            "seq_len": seq_len,
            "global_batch": layout.global_batch,
            "seed": seed,
            "piece": ["dataset", "index", "first_token", "end_token"],
        }
    )


def order_line(step: int, epoch: int, sequences: Sequence[Sequence[Sequence[int]]]) -> str:
    """The line of 1-based ``step``: each sequence's pieces."""
    return _line({"step": step, "epoch": epoch, "sequences": [list(s) for s in sequences]})


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True) + "\n"


def read_order(path: Path) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """An order file's header and its step lines by step."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not lines:
        raise InvalidInputError(f"order file {path} is empty")
    header = json.loads(lines[0])
    if header.get("order_file") != ORDER_FORMAT:
        raise InvalidInputError(f"{path} is not an order file (format {ORDER_FORMAT})")
    steps = {}
    for ln in lines[1:]:
        row = json.loads(ln)
        steps[int(row["step"])] = row
    return header, steps


def documents_at(path: Path, step: int) -> list[dict[str, Any]]:
    """The documents the model saw at 1-based ``step``: dataset, version, index (first seen
    order, each once), with the token spans taken from each."""
    header, steps = read_order(path)
    if step not in steps:
        raise InvalidInputError(f"order file {path} has no step {step}")
    datasets = header["datasets"]
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for seq in steps[step]["sequences"]:
        for d, index, first, end in seq:
            row = out.setdefault(
                (d, index),
                {
                    "dataset": datasets[d]["dataset"],
                    "version": datasets[d]["version"],
                    "manifest_sha256": datasets[d]["manifest_sha256"],
                    "index": index,
                    "spans": [],
                },
            )
            row["spans"].append([first, end])
    return list(out.values())


def truncate_order(path: Path, last_step: int) -> None:
    """Keep the header and the lines of steps ``<= last_step`` (resume)."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    kept = lines[:1] + [ln for ln in lines[1:] if json.loads(ln)["step"] <= last_step]
    path.write_text("".join(kept), encoding="utf-8")


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def texts_for_tokenizer(corpus: Corpus) -> Iterable[str]:
    """The documents a tokenizer is trained on (all of them, in corpus order)."""
    return iter(corpus.texts)
