"""The record on both backends: one entry per change in the same transaction, actors, per-party
access, signed checkpoints, verification, export, and gapless per-party event streams."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import text

from deconflict.domain.audit import GENESIS_HASH, digest
from deconflict.domain.clock import ManualClock
from deconflict.domain.errors import ActivationBlocked, ConflictDetected, Forbidden, NoticeTooLate
from deconflict.domain.parties import Principal, Role
from deconflict.services import agreements, audit, operations, parties
from deconflict.services.core import Core
from deconflict.storage import journal
from deconflict.storage.tables import PartyRow
from tests.services.helpers import ADMIN, circle_draft, record_scenario, setup_parties


def pid(principal: Principal) -> str:
    assert principal.party_id is not None
    return principal.party_id


def all_entries(core: Core) -> list[Any]:
    with core.read() as repo:
        return list(journal.iter_entries(repo.session))


def snapshot(core: Core) -> tuple[int, dict[str, int], int]:
    """Audit head, each party's last event number, and the stored event count."""
    with core.read() as repo:
        head = journal.audit_head(repo.session)
        seqs = {r.id: r.event_seq for r in repo.session.query(PartyRow)}
        count = repo.session.execute(text("SELECT count(*) FROM events")).scalar_one()
    return (head[0] if head else 0), seqs, int(count)


@pytest.fixture
def signer(tmp_path: Path) -> audit.Signer:
    return audit.Signer.load_or_create(tmp_path / "service-key.pem")


def test_every_change_appends_an_entry(core: Core, clock: ManualClock) -> None:
    record_scenario(core, clock)
    actions = [e.action for e in all_entries(core)]
    for expected in (
        "party.created",
        "token.issued",
        "token.revoked",
        "agreement.created",
        "operation.filed",
        "notice.sent",
        "notice.acknowledged",
        "operation.activated",
        "message.sent",
        "message.delivered",
        "message.read",
        "zone.declared",
        "zone.removed",
        "notice.escalated",
        "operation.cancelled",
        "channel.ok",
        "operation.ended",
    ):
        assert expected in actions, expected
    assert len(actions) >= 25
    assert [e.seq for e in all_entries(core)] == list(range(1, len(actions) + 1))
    verdict = audit.verify(core, None)
    assert verdict.ok, verdict.problem
    assert verdict.notes == ["no public key given: checkpoint signatures were not checked"]


def test_agreement_proposal_and_acceptance_are_recorded(core: Core) -> None:
    p = setup_parties(core, "Blue", "Red")
    green, _ = parties.create_party(core, "Green")
    green_sup = Principal("t-Green", green.id, "Green", Role.SUPERVISOR)
    draft = agreements.AgreementDraft(
        "north", ("Blue", "Green"), None, 600.0, agreements.Buffers(0.0, 0.0, 0.0), agreements.LatePolicy.FLAG
    )
    record = agreements.create_agreement(core, p["Blue"], draft)
    agreements.accept_agreement(core, green_sup, record.agreement.id)
    tail = [(e.action, e.actor_token_id) for e in all_entries(core)][-3:]
    assert tail == [
        ("agreement.created", "t-Blue"),
        ("agreement.accepted", "t-Green"),
        ("agreement.activated", "t-Green"),
    ]


def test_entries_name_the_actor(core: Core, clock: ManualClock) -> None:
    p = record_scenario(core, clock)
    actors = {(e.action, e.actor_party_id, e.actor_token_id, e.actor_role) for e in all_entries(core)}
    assert ("operation.filed", pid(p["Blue"]), "t-Blue", "supervisor") in actors
    assert ("notice.acknowledged", pid(p["Red"]), "t-Red", "supervisor") in actors
    assert ("agreement.created", None, "admin", "admin") in actors
    assert ("party.created", None, "cli", "admin") in actors
    assert ("notice.escalated", None, "system", "admin") in actors
    assert ("channel.ok", None, "system", "admin") in actors


@pytest.mark.parametrize("failure", ["late", "conflict", "blocked", "forbidden"])
def test_a_failed_command_writes_no_entry_and_no_event(core: Core, failure: str) -> None:
    p = setup_parties(core, "Blue", "Red")
    a = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    before = snapshot(core)
    if failure == "late":
        with pytest.raises(NoticeTooLate):
            operations.file_operation(core, p["Red"], circle_draft(48.0, 2.0, start_h=0.25))
    elif failure == "conflict":
        with pytest.raises(ConflictDetected):
            operations.file_operation(core, p["Red"], circle_draft(48.0, 2.0), reject_on_conflict=True)
    elif failure == "blocked":
        with pytest.raises(ActivationBlocked):
            operations.act(core, p["Blue"], a.id, "activate")
    else:
        with pytest.raises(Forbidden):
            operations.act(core, p["Red"], a.id, "cancel")
    assert snapshot(core) == before
    assert audit.verify(core, None).ok


def test_parties_get_only_the_entries_they_are_party_to(core: Core, clock: ManualClock) -> None:
    p = record_scenario(core, clock)
    everything = all_entries(core)
    assert audit.entries_for(core, ADMIN, 0, 10_000) == everything
    for name in ("Blue", "Red", "Grey"):
        mine = audit.entries_for(core, p[name], 0, 10_000)
        assert mine == [e for e in everything if pid(p[name]) in e.parties]
        assert mine
    grey = audit.entries_for(core, p["Grey"], 0, 10_000)
    assert {e.action for e in grey} == {"party.created", "token.issued", "operation.filed"}
    red = audit.entries_for(core, p["Red"], 0, 10_000)
    assert "message.read" in {e.action for e in red}
    page = audit.entries_for(core, p["Red"], red[2].seq, 3)
    assert page == red[3:6]
    with pytest.raises(Forbidden):
        audit.entries_for(core, Principal("x", None, None, Role.OBSERVER), 0, 10)


def test_checkpoint_verifies_with_the_right_key_only(core: Core, clock: ManualClock, signer: audit.Signer) -> None:
    record_scenario(core, clock)
    cp = audit.checkpoint(core, signer)
    assert cp is not None
    head = all_entries(core)[-1]
    assert (cp.head_seq, cp.head_hash, cp.key_id) == (head.seq, head.entry_hash, signer.key_id)
    assert audit.checkpoint(core, signer, only_if_moved=True) is None  # nothing new since
    verdict = audit.verify(core, signer.public_key_hex)
    assert verdict.ok, verdict.problem
    assert (verdict.entries_checked, verdict.checkpoints_checked, verdict.notes) == (head.seq, 1, [])
    other = audit.Signer(Ed25519PrivateKey.generate())
    verdict = audit.verify(core, other.public_key_hex)
    assert (verdict.ok, verdict.first_bad_seq) == (False, head.seq)
    assert "invalid signature" in (verdict.problem or "")
    assert audit.list_checkpoints(core) == [cp]


def test_signer_keeps_its_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "service.pem"
    first = audit.Signer.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert audit.Signer.load_or_create(path).public_key_hex == first.public_key_hex
    other = X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "x25519.pem").write_bytes(other)
    with pytest.raises(ValueError, match="does not hold an Ed25519 private key"):
        audit.Signer.load_or_create(tmp_path / "x25519.pem")


def test_checkpoint_of_an_empty_chain(core: Core, signer: audit.Signer) -> None:
    cp = audit.checkpoint(core, signer)
    assert cp is not None
    assert (cp.head_seq, cp.head_hash) == (0, GENESIS_HASH)
    assert audit.verify(core, signer.public_key_hex).ok


def test_checkpoint_due(core: Core, clock: ManualClock, signer: audit.Signer) -> None:
    assert not audit.checkpoint_due(core, 600.0)  # nothing to sign
    setup_parties(core, "Blue", "Red")
    assert audit.checkpoint_due(core, 600.0)
    audit.checkpoint(core, signer)
    assert not audit.checkpoint_due(core, 600.0)
    parties.create_party(core, "Grey")
    clock.advance(599)
    assert not audit.checkpoint_due(core, 600.0)
    clock.advance(1)
    assert audit.checkpoint_due(core, 600.0)


def test_tampering_in_the_store_is_found(core: Core, clock: ManualClock, signer: audit.Signer) -> None:
    record_scenario(core, clock)
    audit.checkpoint(core, signer)
    with core.engine.begin() as conn:
        conn.execute(text("UPDATE audit_entries SET actor_role = 'observer' WHERE seq = 7"))
    verdict = audit.verify(core, signer.public_key_hex)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 7)


def test_export_jsonl_round_trip(core: Core, clock: ManualClock, signer: audit.Signer) -> None:
    record_scenario(core, clock)
    audit.checkpoint(core, signer)
    out = io.StringIO()
    lines = audit.export_jsonl(core, out)
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(docs) == lines
    entries = [d for d in docs if d["type"] == "entry"]
    (cp,) = [d for d in docs if d["type"] == "checkpoint"]
    stored = all_entries(core)
    assert [d["seq"] for d in entries] == [e.seq for e in stored]
    # Anyone can check an export without the service: digests and links recompute from the documents.
    prev = GENESIS_HASH
    for d in entries:
        assert digest(d["payload"]) == d["payload_digest"]
        assert d["prev_hash"] == prev
        header = {k: v for k, v in d.items() if k not in ("type", "payload", "entry_hash")}
        assert digest(header) == d["entry_hash"]
        prev = d["entry_hash"]
    assert (cp["head_seq"], cp["head_hash"]) == (entries[-1]["seq"], prev)
    assert audit.verify(core, signer.public_key_hex, docs).ok


def test_event_sequence_per_party_is_gapless_and_ordered(core: Core, clock: ManualClock) -> None:
    p = record_scenario(core, clock)
    with core.read() as repo:
        for name in ("Blue", "Red", "Grey"):
            rows = journal.events_after(repo.session, pid(p[name]), 0, 100_000)
            assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
            assert [r.at for r in rows] == sorted(r.at for r in rows)
            assert journal.last_event_seq(repo.session, pid(p[name])) == len(rows)
            tail = journal.events_after(repo.session, pid(p[name]), 2, 3)
            assert [r.seq for r in tail] == [3, 4, 5][: len(tail)]
        assert len(journal.events_after(repo.session, pid(p["Blue"]), 0, 100_000)) > 10


def test_a_periodic_checkpoint_with_nothing_new_writes_nothing(core: Core, tmp_path: Path) -> None:
    signer = audit.Signer.load_or_create(tmp_path / "key.pem")
    parties.create_party(core, "Blue")
    assert audit.checkpoint(core, signer, only_if_moved=True) is not None
    with core.read() as repo:
        revision = repo.current_revision()
    assert audit.checkpoint(core, signer, only_if_moved=True) is None
    with core.read() as repo:
        assert repo.current_revision() == revision  # rolled back: no empty commit under the write lock
        assert len(journal.checkpoints(repo.session)) == 1
