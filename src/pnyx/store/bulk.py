"""Insert many rows at once, as fast as each database allows (the log's append path).

PostgreSQL gets ``COPY ... FROM STDIN`` and SQLite the driver's own ``executemany``, both in the
caller's transaction; SQLAlchemy's executemany costs 10-30 us of Python per row on top. The
table is addressed by its plain name (the connection's search path), so a schema translate map
does not apply here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table


def insert_rows(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``."""
    if not rows:
        return
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValueError(f"table {table.name} has no column(s) {unknown}")
    names = ", ".join(columns)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    elif dialect == "sqlite":
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608  (our names)
        conn.exec_driver_sql(sql, list(rows))
    else:
        conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
