"""The append path builds each entry by concatenation; it must equal the canonical encoding."""

from __future__ import annotations

import secrets

import pytest

from pnyx.domain.events import Event, canonical_json, commitment
from pnyx.domain.identity import MemberAdmitted, PrincipalCreated
from pnyx.domain.witness import WitnessRegistered
from pnyx.store.eventstore import EntryFormat, render_entry


def events() -> list[Event]:
    return [
        MemberAdmitted("de", 'Deutschland \u00fc \U0001f600 "quoted" \\ \n tab\t'),
        PrincipalCreated("p1", "Person", ["researcher", "operator"], None),
        PrincipalCreated("p2", "Zo\u00eb", [], "de"),
        WitnessRegistered("w-1", "W", "w+00000000+AAAA", None),
    ]


@pytest.mark.parametrize(
    ("actor", "at"), [("system", "2026-11-26T12:00:00.000000Z"), ("p-\u00e9l\u00e8ve", 't"1')]
)
def test_rendered_entries_equal_the_canonical_encoding(actor: str, at: str) -> None:
    fmt = EntryFormat(actor, at)
    for seq, event in enumerate(events()):
        for commit in (None, commitment(secrets.token_bytes(32), {"secret": seq})):
            body = event.public_payload()
            want = canonical_json(render_entry(seq * 1000 + 7, at, actor, event, commit))
            got = fmt.render(seq * 1000 + 7, event, body, commit)
            assert got.encode() == want


def test_a_body_that_is_not_plain_takes_the_reference_path() -> None:
    fmt = EntryFormat("system", "now")
    event = MemberAdmitted("de", "x")
    body = {"member_id": "de", "n\u00e4me": "x", "score": 1.5, "e": 1e21}
    want = canonical_json(
        {
            "seq": 3,
            "at": "now",
            "actor": "system",
            "kind": event.KIND,
            "v": event.VERSION,
            "visibility": str(event.VISIBILITY),
            "body": body,
        }
    )
    assert fmt.render(3, event, body, None).encode() == want


def test_a_seq_outside_json_safe_integers_is_refused() -> None:
    fmt = EntryFormat("system", "now")
    with pytest.raises(ValueError, match="seq"):
        fmt.render(2**53, MemberAdmitted("de", "x"), {}, None)
