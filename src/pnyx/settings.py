"""The one Settings object, built at the edge (CLI or ASGI factory) and passed in."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pnyx.errors import InvalidInputError

DEFAULT_DATA_DIR = Path(".pnyx")
PLACEMENTS = ("pnyx", "engine")
"""Who places jobs on nodes (PNYX_PLACEMENT): the scheduling core, or each cluster's engine."""
JUDGES = ("entitlement", "allocation", "usage", "off")
"""How the live dispatcher judges a member above or below its share before it preempts
(PNYX_PREEMPTION_JUDGE; see pnyx.sched.preemption.Judge); ``off``: it never preempts."""


class Backend(StrEnum):
    """Where jobs run."""

    LOCAL = "local"
    SLURM = "slurm"


class Settings(BaseSettings):
    """Runtime configuration; environment variables PNYX_* override the defaults."""

    model_config = SettingsConfigDict(env_prefix="PNYX_", extra="forbid")

    mode: Literal["development", "production"] = "development"
    data_dir: Path = DEFAULT_DATA_DIR
    db_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    backend: Backend = Backend.LOCAL
    log_origin: str = "pnyx.example/facility"
    checkpoint_every_events: int = 1000
    checkpoint_every_s: float = 60.0
    log_key_file: Path | None = None  # the log's signing key; default: DATA_DIR/log-key
    # --- jobs: the dispatcher and the engines it drives (README "Where jobs run") ---
    dispatch_every_s: float = 1.0  # seconds between two dispatcher passes
    placement: str = "pnyx"  # who places jobs on nodes: "pnyx" (the scheduling core) or "engine"
    preemption_judge: str = "entitlement"  # entitlement | allocation | usage | off (never preempt)
    local_cluster: str | None = None  # inventory cluster the local backend serves (default: see
    # pnyx.services.dispatch_order.serving_cluster)
    local_accelerators: dict[str, int] = {"h100": 8}  # slots per type handed out on this host
    local_state_dir: Path | None = None  # default: DATA_DIR/backends/local
    slurm_conf: Path | None = None  # slurm.conf of the (first) Slurm cluster; else $SLURM_CONF
    slurm_cluster: str | None = None  # its Slurm ClusterName (and inventory id when declared)
    slurm_log_dir: Path | None = None  # where its jobs write their output (shared with nodes)
    slurm_accounting: bool = True  # slurmdbd present (sacct usage, --account)
    dataset_sites: dict[str, list[str]] = {}  # "name@version" -> sites holding a copy (broker)
    slurm_conf2: Path | None = None  # an optional second Slurm cluster (multi-cluster tests)
    slurm_cluster2: str | None = None
    slurm_log_dir2: Path | None = None
    artifacts_dir: Path | None = None  # content-addressed artifacts; default: DATA_DIR/artifacts
    artifacts_url: str | None = None  # fsspec URL (s3://...); artifacts_dir caches it

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Settings:
        if self.mode == "production":
            if self.db_url is None or self.db_url.startswith("sqlite"):
                raise InvalidInputError(
                    "production mode needs PostgreSQL: set PNYX_DB_URL=postgresql+psycopg://..."
                )
            if self.log_origin.startswith("pnyx.example"):
                raise InvalidInputError(
                    "production mode needs the log's real origin: set PNYX_LOG_ORIGIN"
                )
            if self.log_key_file is None or not self.log_key_file.is_file():
                raise InvalidInputError(
                    "production mode needs the log's signing key: set PNYX_LOG_KEY_FILE to an "
                    f"existing key file (got {self.log_key_file}; `pnyx ledger keygen` makes one)"
                )
        if self.checkpoint_every_events < 1:
            raise InvalidInputError("checkpoint_every_events must be >= 1")
        if self.checkpoint_every_s <= 0:
            raise InvalidInputError("checkpoint_every_s must be > 0 (seconds)")
        if self.dispatch_every_s <= 0:
            raise InvalidInputError("dispatch_every_s must be > 0 (seconds)")
        if self.placement not in PLACEMENTS:
            raise InvalidInputError(
                f"PNYX_PLACEMENT must be one of {', '.join(PLACEMENTS)}, got {self.placement!r}"
            )
        if self.preemption_judge not in JUDGES:
            raise InvalidInputError(
                f"PNYX_PREEMPTION_JUDGE must be one of {', '.join(JUDGES)}, "
                f"got {self.preemption_judge!r}"
            )
        if not self.local_accelerators or min(self.local_accelerators.values()) < 1:
            raise InvalidInputError(
                'local_accelerators needs at least one type with >= 1 slot, e.g. {"h100": 8}'
            )
        return self

    @property
    def log_key_path(self) -> Path:
        """Where the log's signing key lives: PNYX_LOG_KEY_FILE, else DATA_DIR/log-key."""
        return self.log_key_file or self.data_dir / "log-key"

    @property
    def artifacts_root(self) -> Path:
        """Where artifacts (dataset shards, manifests, indexes) live: PNYX_ARTIFACTS_DIR, else
        DATA_DIR/artifacts."""
        return self.artifacts_dir or self.data_dir / "artifacts"

    @property
    def local_state_path(self) -> Path:
        """Where the local backend keeps its jobs: PNYX_LOCAL_STATE_DIR, else under DATA_DIR."""
        return self.local_state_dir or self.data_dir / "backends" / "local"

    @property
    def database_url(self) -> str:
        """The database to use: --db, else the SQLite file in the data directory."""
        from pnyx.store.db import url_for_data_dir

        return self.db_url or url_for_data_dir(self.data_dir)
