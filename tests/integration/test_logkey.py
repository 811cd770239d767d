"""The log's signing key: file storage, first-use generation, production refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pnyx.errors import ConflictError, InvalidInputError, NotFoundError
from pnyx.ledger import note
from pnyx.services.logkey import load_log_signer, write_key_file
from pnyx.services.setup import build_context
from pnyx.settings import Settings

ORIGIN = "log.facility.example/ledger"


def test_development_generates_a_private_key_file_once(tmp_path: Path) -> None:
    path = tmp_path / "data" / "log-key"
    signer = load_log_signer(path, ORIGIN, create=True)
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text().strip() == signer.key_string
    assert signer.name == ORIGIN
    again = load_log_signer(path, ORIGIN, create=True)
    assert again.verifier_key == signer.verifier_key


def test_missing_key_without_create_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="PNYX_LOG_KEY_FILE"):
        load_log_signer(tmp_path / "log-key", ORIGIN, create=False)


def test_key_of_another_origin_or_type_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other"
    write_key_file(other, note.generate_signer("other.example/log").key_string)
    with pytest.raises(InvalidInputError, match=r"named 'other\.example/log'"):
        load_log_signer(other, ORIGIN, create=False)
    cosigner = tmp_path / "cosigner"
    write_key_file(cosigner, note.generate_signer(ORIGIN, note.ALG_COSIGNATURE_V1).key_string)
    with pytest.raises(InvalidInputError, match="type 0x04"):
        load_log_signer(cosigner, ORIGIN, create=False)
    garbage = tmp_path / "garbage"
    garbage.write_text("PRIVATE+KEY+nope\n")
    with pytest.raises(InvalidInputError, match="garbage"):
        load_log_signer(garbage, ORIGIN, create=False)


def test_key_files_are_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "key"
    write_key_file(path, "first")
    with pytest.raises(ConflictError, match="not overwriting"):
        write_key_file(path, "second")
    write_key_file(path, "third", exist_ok=True)
    assert path.read_text() == "first\n"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]  # no temporary file left behind


def test_production_refuses_a_missing_key_file(tmp_path: Path) -> None:
    prod: dict[str, Any] = {
        "mode": "production",
        "db_url": "postgresql+psycopg://u@h/db",
        "log_origin": ORIGIN,
    }
    with pytest.raises(InvalidInputError, match="PNYX_LOG_KEY_FILE"):
        Settings(**prod)
    with pytest.raises(InvalidInputError, match="PNYX_LOG_KEY_FILE"):
        Settings(**prod, log_key_file=tmp_path / "absent")
    key = tmp_path / "log-key"
    write_key_file(key, note.generate_signer(ORIGIN).key_string)
    assert Settings(**prod, log_key_file=key).log_key_path == key


def test_build_context_loads_the_key_from_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", log_origin=ORIGIN, checkpoint_every_events=7)
    ctx = build_context(settings)
    try:
        assert ctx.log_signer is not None
        assert ctx.checkpoint_every_events == 7
        assert (tmp_path / "data" / "log-key").read_text().strip() == ctx.log_signer.key_string
    finally:
        ctx.db.dispose()
    again = build_context(settings)
    assert again.log_signer is not None
    assert again.log_signer.verifier_key == ctx.log_signer.verifier_key
    again.db.dispose()
