"""Trust on first use of a server's log key: the known keys file and --key parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from pnyx.errors import ConflictError, InvalidInputError
from pnyx.ledger import note
from pnyx.services import knownlogs
from pnyx.services.logkey import write_key_file


def test_origin_is_scheme_host_port_and_path() -> None:
    assert (
        knownlogs.server_origin("http://Example.org:8080/pnyx/") == "http://example.org:8080/pnyx"
    )
    assert knownlogs.server_origin("https://log.example") == "https://log.example"
    with pytest.raises(InvalidInputError):
        knownlogs.server_origin("ftp://log.example")


def test_first_use_pins_later_use_matches_and_a_new_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config" / "known_logs"
    key = note.generate_signer("log.example/facility").verifier
    first = knownlogs.pin_log_key(path, "http://127.0.0.1:8000", key)
    assert first.first_use
    assert (
        first.message() == f"log key taken from the server (trust on first use): {key.key_string}"
    )
    assert path.read_text() == f"http://127.0.0.1:8000 {key.key_string}\n"
    again = knownlogs.pin_log_key(path, "http://127.0.0.1:8000/", key)
    assert not again.first_use
    assert key.key_string in again.message() and str(path) in again.message()
    other = note.generate_signer("log.example/facility").verifier
    with pytest.raises(ConflictError) as refused:
        knownlogs.pin_log_key(path, "http://127.0.0.1:8000", other)
    assert other.key_string in str(refused.value) and key.key_string in str(refused.value)
    assert knownlogs.pin_log_key(path, "http://127.0.0.1:8001", other).first_use  # other origin
    assert len(knownlogs.read_known_keys(path)) == 2


def test_known_keys_file_ignores_comments_and_rejects_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "known_logs"
    path.write_text("# servers\n\nhttp://a.example k+1+2\n")
    assert knownlogs.read_known_keys(path) == {"http://a.example": "k+1+2"}
    path.write_text("http://a.example\n")
    with pytest.raises(InvalidInputError, match="known_logs:1"):
        knownlogs.read_known_keys(path)


def test_key_option_takes_a_string_a_verifier_file_or_the_signer_file(tmp_path: Path) -> None:
    signer = note.generate_signer("log.example/facility")
    assert knownlogs.parse_log_key(signer.verifier_key) == signer.verifier
    public = tmp_path / "log.pub"
    public.write_text(signer.verifier_key + "\n")
    assert knownlogs.parse_log_key(str(public)) == signer.verifier
    secret = tmp_path / "log-key"
    write_key_file(secret, signer.key_string)
    assert knownlogs.parse_log_key(str(secret)) == signer.verifier
    witness = note.generate_signer("w.example", note.ALG_COSIGNATURE_V1)
    with pytest.raises(InvalidInputError, match="type 0x01"):
        knownlogs.parse_log_key(witness.verifier_key)
    with pytest.raises(InvalidInputError, match="neither"):
        knownlogs.parse_log_key(str(tmp_path / "missing"))


def test_default_path_follows_xdg_config_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", "/somewhere")
    assert knownlogs.default_known_keys() == Path("/somewhere/pnyx/known_logs")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert knownlogs.default_known_keys() == Path.home() / ".config" / "pnyx" / "known_logs"
