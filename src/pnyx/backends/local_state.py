"""Durable state of the local backend: one SQLite file in its state directory.

One row per pnyx job: its spec, its phase (``pending`` waiting for slots, ``launching`` slots
taken and supervisor being started, ``started`` supervisor running, ``final``), the slots it
holds, the supervisor's pid with its start time in clock ticks (so a reused pid is never taken
for the job's), and once final its state, exit code, reason and run times. The row id is the
backend's job id. A new backend object on the same directory (after a restart, even a SIGKILL)
reads the same rows, so it re-attaches to running jobs and never forgets one.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pnyx.backends.base import BackendState, JobSpec
from pnyx.backends.local_run import choose_slots

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    accelerator_type TEXT NOT NULL,
    need INTEGER NOT NULL,
    phase TEXT NOT NULL,
    slots TEXT NOT NULL DEFAULT '[]',
    pid INTEGER,
    pid_ticks INTEGER,
    submitted_at REAL NOT NULL,
    launched_at REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    state TEXT,
    reason TEXT NOT NULL DEFAULT '',
    exit_code INTEGER,
    ran INTEGER NOT NULL DEFAULT 0,
    start_time REAL,
    end_time REAL
);
CREATE INDEX IF NOT EXISTS jobs_phase ON jobs (phase, id);
"""
_CHUNK = 500  # ids per IN (...) query


@dataclass(frozen=True)
class Row:
    """One job as the local backend recorded it."""

    id: int
    job_id: str
    spec_json: str
    accelerator_type: str
    need: int  # slots: nodes x accelerators per node
    phase: str
    slots: tuple[int, ...]
    pid: int | None
    pid_ticks: int | None
    launched_at: float | None
    cancel_requested: bool
    state: BackendState | None
    reason: str
    exit_code: int | None
    ran: bool
    start_time: float | None
    end_time: float | None

    @property
    def spec(self) -> JobSpec:
        """The job's spec (parsed on demand: status passes never need it)."""
        return _spec_from(self.spec_json)

    @property
    def backend_job_id(self) -> str:
        """The backend's id of this job."""
        return str(self.id)


@dataclass(frozen=True)
class Final:
    """How a job ended, as written into its row."""

    state: BackendState
    reason: str
    exit_code: int | None = None
    ran: bool = False
    start_time: float | None = None
    end_time: float | None = None


def _spec_json(spec: JobSpec) -> str:
    data = asdict(spec)
    data["env"] = dict(spec.env)
    return json.dumps(data, sort_keys=True)


def _spec_from(text: str) -> JobSpec:
    data: dict[str, Any] = json.loads(text)
    data["command"] = tuple(data["command"])
    return JobSpec(**data)


def _row(r: sqlite3.Row) -> Row:
    return Row(
        id=r["id"],
        job_id=r["job_id"],
        spec_json=r["spec"],
        accelerator_type=r["accelerator_type"],
        need=r["need"],
        phase=r["phase"],
        slots=tuple(json.loads(r["slots"])),
        pid=r["pid"],
        pid_ticks=r["pid_ticks"],
        launched_at=r["launched_at"],
        cancel_requested=bool(r["cancel_requested"]),
        state=BackendState(r["state"]) if r["state"] else None,
        reason=r["reason"],
        exit_code=r["exit_code"],
        ran=bool(r["ran"]),
        start_time=r["start_time"],
        end_time=r["end_time"],
    )


class LocalStore:
    """The SQLite file of one local backend: one connection, one transaction at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=False
        )
        self._conn.row_factory = sqlite3.Row
        # NORMAL in WAL mode: a commit survives the pnyx process being killed (what matters:
        # the jobs themselves die with the host), not a power cut.
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the file (the store is unusable afterwards)."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One transaction; ``write`` takes the write lock at once (no upgrade deadlocks)."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def add(self, spec: JobSpec, now: float) -> tuple[Row, bool]:
        """Record ``spec`` as pending unless its job id is known: (row, True if new)."""
        with self._tx() as conn:
            found = conn.execute("SELECT * FROM jobs WHERE job_id = ?", (spec.job_id,)).fetchone()
            if found is not None:
                return _row(found), False
            conn.execute(
                "INSERT INTO jobs (job_id, spec, accelerator_type, need, phase, submitted_at) "
                "VALUES (?, ?, ?, ?, 'pending', ?)",
                (
                    spec.job_id,
                    _spec_json(spec),
                    spec.accelerator_type,
                    spec.nodes * spec.accelerators_per_node,
                    now,
                ),
            )
            new = conn.execute("SELECT * FROM jobs WHERE job_id = ?", (spec.job_id,)).fetchone()
            return _row(new), True

    def get(self, job_id: str) -> Row | None:
        """The row of ``job_id``, or None."""
        rows = self.get_many([job_id])
        return rows.get(job_id)

    def get_many(self, job_ids: Sequence[str]) -> dict[str, Row]:
        """Rows of the known ids among ``job_ids`` (one query per 500 ids)."""
        found: dict[str, Row] = {}
        with self._tx(write=False) as conn:
            for i in range(0, len(job_ids), _CHUNK):
                chunk = list(job_ids[i : i + _CHUNK])
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT * FROM jobs WHERE job_id IN ({marks})"  # noqa: S608 - placeholders
                found.update((r["job_id"], _row(r)) for r in conn.execute(sql, chunk))
        return found

    def active(self) -> list[Row]:
        """Rows holding slots (launching or started), oldest first."""
        with self._tx(write=False) as conn:
            sql = "SELECT * FROM jobs WHERE phase IN ('launching', 'started') ORDER BY id"
            return [_row(r) for r in conn.execute(sql)]

    def claim_slots(self, free: Mapping[str, int], now: float) -> list[Row]:
        """Move pending jobs that fit into ``launching`` (submission order, first fit).

        ``free`` maps an accelerator type to its slot count; slots held by active rows are
        taken out first. Runs in one transaction, so two backend objects never claim the same
        slot.
        """
        claimed: list[int] = []
        with self._tx() as conn:
            active = conn.execute(
                "SELECT accelerator_type, slots FROM jobs WHERE phase IN ('launching', 'started')"
            )
            used: dict[str, set[int]] = {kind: set() for kind in free}
            for kind, slots_json in active:
                used.setdefault(kind, set()).update(json.loads(slots_json))
            room = {kind: free[kind] - len(used[kind]) for kind in free}
            if not any(n > 0 for n in room.values()):
                return []
            pending = conn.execute(
                "SELECT id, accelerator_type, need FROM jobs WHERE phase = 'pending' ORDER BY id"
            ).fetchall()
            for row_id, kind, need in pending:
                if room.get(kind, 0) < need:
                    continue
                slots = choose_slots(free[kind], used[kind], need)
                assert slots is not None
                used[kind].update(slots)
                room[kind] -= need
                conn.execute(
                    "UPDATE jobs SET phase = 'launching', slots = ?, launched_at = ? WHERE id = ?",
                    (json.dumps(list(slots)), now, row_id),
                )
                claimed.append(row_id)
                if not any(n > 0 for n in room.values()):
                    break
            marks = ",".join("?" * len(claimed))
            sql = f"SELECT * FROM jobs WHERE id IN ({marks}) ORDER BY id"  # noqa: S608
            return [_row(r) for r in conn.execute(sql, claimed)] if claimed else []

    def set_started(self, row_id: int, pid: int, pid_ticks: int | None, now: float) -> None:
        """The supervisor of row ``row_id`` runs as ``pid``."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE jobs SET phase = 'started', pid = ?, pid_ticks = ?, launched_at = ? "
                "WHERE id = ? AND phase = 'launching'",
                (pid, pid_ticks, now, row_id),
            )

    def request_cancel(self, row_id: int) -> None:
        """Remember that the job was asked to stop."""
        with self._tx() as conn:
            conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (row_id,))

    def finalize(self, row_id: int, final: Final, *, only_phase: str | None = None) -> bool:
        """Record how the job ended and free its slots; False if it was final (or not in phase)."""
        # phase != 'final' always holds for a live row; only_phase narrows it further
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE jobs SET phase = 'final', slots = '[]', state = ?, reason = ?, "
                "exit_code = ?, ran = ?, start_time = ?, end_time = ? "
                "WHERE id = ? AND phase != 'final' AND phase = coalesce(?, phase)",
                (
                    final.state.value,
                    final.reason,
                    final.exit_code,
                    int(final.ran),
                    final.start_time,
                    final.end_time,
                    row_id,
                    only_phase,
                ),
            )
            return cur.rowcount == 1
