"""Database connection: SQLite (embedded default, WAL) or PostgreSQL, one explicit transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import QueuePool

from pnyx.errors import InvalidInputError

DB_FILE = "pnyx.db"
T = TypeVar("T")


def url_for_data_dir(data_dir: Path) -> str:
    """The SQLite URL of the embedded store in ``data_dir`` (created if missing)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite+pysqlite:///{(data_dir / DB_FILE).resolve()}"


class Database:
    """One engine; writes go through :meth:`transaction` (serialised per facility log)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = _make_engine(url, echo)
        self._echo = echo
        self._autocommit_engine: Engine | None = None

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite store."""
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any error."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only unit of work (rolled back at the end)."""
        with self.engine.connect().execution_options(pnyx_readonly=True) as conn:
            try:
                yield conn
            finally:
                conn.rollback()

    def read_once(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` on a connection with no transaction around it: each statement sees
        the latest committed state on its own (no BEGIN / ROLLBACK round trips, and on
        PostgreSQL no pre-ping either: a dropped connection is retried once).

        Only for reads that need no snapshot across statements, such as log proofs (stored
        tree nodes never change; each proof query checks the log size in the same statement).
        """
        if self.is_sqlite:
            with self.engine.connect().execution_options(pnyx_autocommit=True) as conn:
                return work(conn)
        if self._autocommit_engine is None:
            self._autocommit_engine = create_engine(
                self.url,
                echo=self._echo,
                isolation_level="AUTOCOMMIT",
                pool_size=5,
                max_overflow=10,
            )
        for attempt in (1, 2):
            try:
                with self._autocommit_engine.connect() as conn:
                    return work(conn)
            except DBAPIError as e:
                if attempt == 2 or not e.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def is_initialised(self) -> bool:
        """True when the schema exists."""
        return inspect(self.engine).has_table("events")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self._autocommit_engine is not None:
            self._autocommit_engine.dispose()


def _make_engine(url: str, echo: bool) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo)
    if url.startswith("postgresql"):
        return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)
    raise InvalidInputError(
        f"unsupported database URL {url.split(':', 1)[0]!r}: use sqlite+pysqlite:///FILE or "
        "postgresql+psycopg://USER@HOST:PORT/DB"
    )


def _sqlite_engine(url: str, echo: bool) -> Engine:
    # Pooled connections (SQLAlchemy's default for SQLite files): opening one runs its PRAGMAs
    # and closing the last one checkpoints and removes the WAL, 1-10 ms per transaction.
    engine = create_engine(
        url, echo=echo, poolclass=QueuePool, connect_args={"check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get("pnyx_autocommit", False):
            return  # Database.read_once: each statement is its own implicit transaction
        conn.exec_driver_sql("BEGIN" if options.get("pnyx_readonly", False) else "BEGIN IMMEDIATE")

    return engine
