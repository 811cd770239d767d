#!/usr/bin/env bash
# Write a new Alembic migration for the difference between the packaged migrations and the
# code's table metadata:  deploy/new-migration.sh "add jobs tables"
# It migrates a scratch SQLite database to head, autogenerates the next revision into
# src/pnyx/store/migrations/versions/, and formats it. Review the file before committing;
# tests/integration/test_migrations.py fails while the schema and the migrations differ.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
message="${1:?usage: deploy/new-migration.sh MESSAGE}"
PY="${PYTHON:-.venv/bin/python}"
"$PY" - "$message" <<'PY'
import re
import sys
import tempfile
from pathlib import Path

from alembic import command

from pnyx.store.db import Database
from pnyx.store.schema import MIGRATIONS, alembic_config, migrate

versions = sorted(p.name for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
next_id = f"{int(versions[-1][:4]) + 1:04d}" if versions else "0001"
with tempfile.TemporaryDirectory() as tmp:
    db = Database(f"sqlite+pysqlite:///{Path(tmp) / 'scratch.db'}")
    migrate(db)
    with db.engine.begin() as conn:
        slug = re.sub(r"[^a-z0-9]+", "_", sys.argv[1].lower()).strip("_")
        command.revision(alembic_config(conn), message=slug, autogenerate=True, rev_id=next_id)
PY
"${RUFF:-.venv/bin/ruff}" format -q src/pnyx/store/migrations/versions
"${RUFF:-.venv/bin/ruff}" check -q --fix src/pnyx/store/migrations/versions
