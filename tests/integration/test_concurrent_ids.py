"""Services that number new objects from a count stay collision-free under concurrent writers.

Without the log lock taken before the count, two PostgreSQL transactions read the same count and
the second insert fails on the primary key (SQLite serialises writers with BEGIN IMMEDIATE).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.integration.allocation_setup import OPERATOR, full_flow

from pnyx.services import accounting
from pnyx.services.context import ServiceContext

WRITERS = 6
EACH = 5


def test_concurrent_usage_records_get_distinct_ids(ctx: ServiceContext) -> None:
    full_flow(ctx)

    def write(worker: int) -> list[str]:
        return [
            accounting.record_usage(
                ctx,
                OPERATOR,
                "beta",
                "h100",
                60,
                "2026-02-01T00:00:00Z",
                "2026-02-01T00:01:00Z",
                f"job-{worker}-{i}",
            ).usage_id
            for i in range(EACH)
        ]

    with ThreadPoolExecutor(WRITERS) as pool:
        ids = [u for batch in pool.map(write, range(WRITERS)) for u in batch]
    assert len(ids) == WRITERS * EACH
    assert len(set(ids)) == len(ids)
    assert {u.job_id for u in accounting.list_usage(ctx)} == {
        f"job-{w}-{i}" for w in range(WRITERS) for i in range(EACH)
    }
