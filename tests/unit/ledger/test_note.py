"""C2SP signed notes, checkpoints and cosignatures."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pnyx.errors import InvalidInputError, VerificationError
from pnyx.ledger import merkle, note
from pnyx.ledger.note import Checkpoint

VECTORS = json.loads(
    (
        Path(__file__).resolve().parents[2] / "data" / "vectors" / "signed-note" / "vectors.json"
    ).read_text(encoding="utf-8")
)
VECTOR_NAMES = sorted(VECTORS)
ROOT = merkle.root_hash([b"a", b"b", b"c"])
BODY = Checkpoint("example.com/log", 3, ROOT).render()


def _vector(name: str) -> tuple[str, note.Verifier]:
    v: dict[str, Any] = VECTORS[name]
    return v["note"], note.parse_verifier_key(v["verifier_key"])


def _tamper_signature(signed: str) -> str:
    """Flip one bit in the last signature's Ed25519 bytes (after the 4-byte key id)."""
    text, _, line = signed.rstrip("\n").rpartition("\n")
    prefix, _, encoded = line.rpartition(" ")
    raw = bytearray(base64.b64decode(encoded))
    raw[10] ^= 0x01
    return f"{text}\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n"


# --- vectors ------------------------------------------------------------------------------


def test_vectors_are_present() -> None:
    assert len(VECTOR_NAMES) >= 3


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_vector_verifies_with_its_key(name: str) -> None:
    signed, verifier = _vector(name)
    opened = note.open_note(signed, [verifier])
    assert signed.startswith(opened.text)
    assert opened.text.endswith("\n")
    assert [s.name for s in opened.signatures] == [verifier.name]
    assert opened.unverified == ()
    assert note.parse_verifier_key(verifier.key_string) == verifier
    assert verifier.key_string == VECTORS[name]["verifier_key"]


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_vector_with_modified_text_fails(name: str) -> None:
    signed, verifier = _vector(name)
    with pytest.raises(VerificationError, match=f"invalid signature from key {verifier.name}"):
        note.open_note("X" + signed, [verifier])


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_vector_with_modified_signature_fails(name: str) -> None:
    signed, verifier = _vector(name)
    with pytest.raises(VerificationError, match="invalid signature"):
        note.open_note(_tamper_signature(signed), [verifier])


@pytest.mark.parametrize("name", VECTOR_NAMES)
def test_vector_with_wrong_key_fails(name: str) -> None:
    signed, verifier = _vector(name)
    impostor = note.generate_signer(verifier.name).verifier
    with pytest.raises(VerificationError, match="not signed by any known key"):
        note.open_note(signed, [impostor])
    _, other = _vector(next(n for n in VECTOR_NAMES if n != name))
    with pytest.raises(VerificationError, match="not signed by any known key"):
        note.open_note(signed, [other])


# --- keys ---------------------------------------------------------------------------------


def test_signer_key_round_trip() -> None:
    signer = note.generate_signer("example.com/log")
    parsed = note.parse_signer_key(signer.key_string)
    assert parsed.verifier_key == signer.verifier_key
    assert parsed.sign(b"m") == signer.sign(b"m")  # Ed25519 is deterministic
    assert signer.key_string.startswith("PRIVATE+KEY+example.com/log+")
    assert "PRIVATE" not in repr(signer)


def test_key_strings_whose_base64_contains_plus_parse() -> None:
    signer = note.Signer(
        "log", note.ALG_ED25519, Ed25519PrivateKey.from_private_bytes(b"\xfb" * 32)
    )
    assert "+" in signer.key_string.split("+", 4)[4]
    assert note.parse_signer_key(signer.key_string).verifier_key == signer.verifier_key


@pytest.mark.parametrize("name", ["", "a b", "a+b", "a\tb", "a\u2003b"])
def test_invalid_key_names_are_rejected(name: str) -> None:
    with pytest.raises(InvalidInputError, match="key name"):
        note.generate_signer(name)


@pytest.mark.parametrize(
    ("key", "match"),
    [
        ("example.com/foo+530d903a", "3 '\\+'-separated fields"),
        ("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "key id"),
        ("example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "key id"),
        ("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2", "base64"),
        ("example.com/foo+530d903a+AukyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", "type 0x02"),
        ("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv", "bytes"),
    ],
)
def test_malformed_verifier_keys_are_rejected(key: str, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        note.parse_verifier_key(key)


def test_malformed_signer_key_is_rejected() -> None:
    signer = note.generate_signer("log")
    with pytest.raises(InvalidInputError, match="PRIVATE\\+KEY"):
        note.parse_signer_key(signer.key_string.replace("PRIVATE", "PUBLIC"))
    with pytest.raises(InvalidInputError, match="key id"):
        note.parse_signer_key(signer.key_string.replace("+log+", "+gol+"))


def test_key_id_follows_the_spec() -> None:
    _, verifier = _vector("c2sp_example")
    assert verifier.key_id.hex() == "530d903a"
    cosigner = note.Verifier(verifier.name, note.ALG_COSIGNATURE_V1, verifier.public_key)
    assert cosigner.key_id != verifier.key_id  # the type byte is part of the key id


# --- notes --------------------------------------------------------------------------------


def test_sign_and_open_round_trip_with_unknown_signatures() -> None:
    alice, bob = note.generate_signer("alice"), note.generate_signer("bob")
    text = "hello\n\nworld\n"
    signed = note.sign_note(text, [alice, bob])
    assert signed.startswith(text + "\n\u2014 alice ")
    opened = note.open_note(signed, [alice.verifier])
    assert opened.text == text
    assert [s.name for s in opened.signatures] == ["alice"]
    assert [s.name for s in opened.unverified] == ["bob"]
    both = note.open_note(signed, [alice.verifier, bob.verifier])
    assert [s.name for s in both.signatures] == ["alice", "bob"]


def test_invalid_signature_from_a_known_key_rejects_the_note() -> None:
    alice, bob = note.generate_signer("alice"), note.generate_signer("bob")
    signed = _tamper_signature(note.sign_note("x\n", [alice, bob]))
    with pytest.raises(VerificationError, match="invalid signature from key bob\\+"):
        note.open_note(signed, [alice.verifier, bob.verifier])
    assert note.open_note(signed, [alice.verifier]).unverified[0].name == "bob"


@pytest.mark.parametrize("text", ["", "no final newline", "tab\there\n", "nul\x00\n", "cr\r\n"])
def test_sign_note_rejects_bad_text(text: str) -> None:
    with pytest.raises(InvalidInputError, match="note text"):
        note.sign_note(text, [note.generate_signer("a")])


def test_sign_note_rejects_cosignature_keys() -> None:
    with pytest.raises(InvalidInputError, match="0x01"):
        note.sign_note("x\n", [note.generate_signer("w", note.ALG_COSIGNATURE_V1)])


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s.rstrip("\n"),  # no final newline
        lambda s: s.replace("\n\n", "\n"),  # no blank line
        lambda s: s.replace("\u2014 ", "- "),  # not an em dash
        lambda s: s.replace("\u2014 alice ", "\u2014 alice"),  # no space before signature
        lambda s: s.replace("\u2014 alice ", "\u2014 alice +"),  # not base64
        lambda s: s + "\u2014 alice AAAA\n",  # too short
        lambda s: s.replace("x\n", "x\x01\n", 1),  # control character
        lambda s: s.split("\n\n")[0] + "\n\n\n",  # no signature lines
    ],
)
def test_malformed_notes_are_rejected(mangle: Any) -> None:
    alice = note.generate_signer("alice")
    signed = note.sign_note("x\n", [alice])
    note.open_note(signed, [alice.verifier])
    with pytest.raises(VerificationError):
        note.open_note(mangle(signed), [alice.verifier])


def test_a_bad_duplicate_signature_from_a_known_key_is_not_skipped() -> None:
    alice = note.generate_signer("alice")
    signed = note.sign_note("x\n", [alice])
    line = signed.split("\n\n")[1]
    assert len(note.open_note(signed + line, [alice.verifier]).signatures) == 1
    with pytest.raises(VerificationError, match="invalid signature from key alice"):
        note.open_note(signed + _tamper_signature(signed).split("\n\n")[1], [alice.verifier])


def test_too_many_signatures_are_rejected() -> None:
    alice = note.generate_signer("alice")
    signed = note.sign_note("x\n", [alice])
    line = signed.split("\n\n")[1]
    with pytest.raises(VerificationError, match="at most"):
        note.open_note(signed + line * note.MAX_SIGNATURES, [alice.verifier])


# --- checkpoints --------------------------------------------------------------------------


def test_checkpoint_render_parse_round_trip() -> None:
    checkpoint = Checkpoint("example.com/log", 3, ROOT, ("ext one", "ext two"))
    body = checkpoint.render()
    assert body == (f"example.com/log\n3\n{base64.b64encode(ROOT).decode()}\next one\next two\n")
    assert note.parse_checkpoint(body) == checkpoint
    assert note.parse_checkpoint(BODY).extensions == ()


def test_signed_checkpoint_opens() -> None:
    log = note.generate_signer("example.com/log")
    checkpoint, opened = note.open_checkpoint(note.sign_note(BODY, [log]), [log.verifier])
    assert checkpoint == Checkpoint("example.com/log", 3, ROOT)
    assert opened.text == BODY
    with pytest.raises(VerificationError, match="not a checkpoint"):
        note.open_checkpoint(note.sign_note("just text\n", [log]), [log.verifier])


B64_ROOT = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    "body",
    [
        f"\n3\n{B64_ROOT}\n",  # empty origin
        f"log\n03\n{B64_ROOT}\n",  # leading zero
        f"log\n-3\n{B64_ROOT}\n",  # negative
        f"log\nthree\n{B64_ROOT}\n",  # not a number
        f"log\n\u0663\n{B64_ROOT}\n",  # non-ASCII digit
        f"log\n3\n{base64.b64encode(ROOT[:31]).decode()}\n",  # 31-byte hash
        "log\n3\nnot base64!\n",
        f"log\n3\n{B64_ROOT}",  # no final newline
        "log\n3\n",  # too few lines
        f"log\n3\n{B64_ROOT}\n\n",  # empty extension line
    ],
)
def test_malformed_checkpoints_are_rejected(body: str) -> None:
    with pytest.raises(InvalidInputError):
        note.parse_checkpoint(body)


def test_checkpoint_constructor_validates() -> None:
    with pytest.raises(InvalidInputError, match="origin"):
        Checkpoint("", 1, ROOT)
    with pytest.raises(InvalidInputError, match="size"):
        Checkpoint("log", -1, ROOT)
    with pytest.raises(InvalidInputError, match="root hash"):
        Checkpoint("log", 1, ROOT[:16])
    with pytest.raises(InvalidInputError, match="extension"):
        Checkpoint("log", 1, ROOT, ("a\nb",))


# --- cosignatures -------------------------------------------------------------------------


def test_cosignature_round_trip() -> None:
    witness = note.generate_signer("witness.example/w1", note.ALG_COSIGNATURE_V1)
    line = note.cosign_checkpoint(BODY, witness, 1_679_315_147)
    assert line.startswith("\u2014 witness.example/w1 ") and line.endswith("\n")
    raw = base64.b64decode(line.split(" ")[2])
    assert len(raw) == 4 + 8 + 64
    assert raw[:4] == witness.key_id
    assert int.from_bytes(raw[4:12], "big") == 1_679_315_147
    assert note.verify_cosignature(BODY, line, witness.verifier) == 1_679_315_147


def test_cosigned_checkpoint_opens_with_log_and_witness_keys() -> None:
    log = note.generate_signer("example.com/log")
    witness = note.generate_signer("w1", note.ALG_COSIGNATURE_V1)
    signed = note.sign_note(BODY, [log]) + note.cosign_checkpoint(BODY, witness, 42)
    opened = note.open_note(signed, [log.verifier, witness.verifier])
    assert [(s.name, s.timestamp) for s in opened.signatures] == [
        ("example.com/log", None),
        ("w1", 42),
    ]
    assert [s.name for s in note.open_note(signed, [log.verifier]).unverified] == ["w1"]


def test_cosignature_tampering_is_rejected() -> None:
    witness = note.generate_signer("w1", note.ALG_COSIGNATURE_V1)
    line = note.cosign_checkpoint(BODY, witness, 1000)
    other_body = Checkpoint("example.com/log", 4, ROOT).render()
    with pytest.raises(VerificationError, match="invalid signature"):
        note.verify_cosignature(other_body, line, witness.verifier)
    with pytest.raises(VerificationError, match="invalid signature"):
        note.verify_cosignature(
            BODY, _tamper_signature(BODY + "\n" + line).split("\n\n")[1], witness.verifier
        )
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[11] ^= 0x01  # the timestamp is signed too
    forged = f"\u2014 w1 {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(VerificationError, match="invalid signature"):
        note.verify_cosignature(BODY, forged, witness.verifier)
    stranger = note.generate_signer("w1", note.ALG_COSIGNATURE_V1)
    with pytest.raises(VerificationError, match="expected w1\\+"):
        note.verify_cosignature(BODY, line, stranger.verifier)


def test_cosignature_arguments_are_checked() -> None:
    witness = note.generate_signer("w1", note.ALG_COSIGNATURE_V1)
    log = note.generate_signer("log")
    with pytest.raises(InvalidInputError, match="0x04"):
        note.cosign_checkpoint(BODY, log, 1)
    with pytest.raises(InvalidInputError, match="timestamp"):
        note.cosign_checkpoint(BODY, witness, 2**63)
    with pytest.raises(InvalidInputError, match="lines"):
        note.cosign_checkpoint("not a checkpoint\n", witness, 1)
    with pytest.raises(InvalidInputError, match="0x04"):
        note.verify_cosignature(BODY, "", log.verifier)


def test_spec_example_cosignature_layout() -> None:
    """The tlog-cosignature spec's example line: key id, then the u64 timestamp it signs."""
    line = (
        "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9d"
        "lrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
    )
    _, signatures = note.split_note(BODY + "\n" + line + "\n")
    (signature,) = signatures
    assert signature.name == "witness.example.com/w1"
    assert len(signature.signature) == 8 + 64
    assert int.from_bytes(signature.signature[:8], "big") == 1_679_315_147
