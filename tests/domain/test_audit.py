"""The audit hash chain on in-memory entries: every kind of tampering names the first bad entry."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from deconflict.domain.audit import (
    GENESIS_HASH,
    AuditEntry,
    Checkpoint,
    canonical_json,
    chain_entry,
    digest,
    verify_chain,
)

T0 = datetime(2031, 6, 1, 8, 0, tzinfo=UTC)


def build(n: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    prev: tuple[int, str] | None = None
    for i in range(n):
        party = "blue" if i % 2 else "red"
        entry = chain_entry(
            prev,
            T0 + timedelta(seconds=i),
            (party, f"token-{party}", "supervisor"),
            "operation.filed",
            ("operation", f"op-{i}"),
            [party, "green"],
            {"i": i, "note": f"entry {i}", "lead_time_s": 1800.5 + i},
        )
        entries.append(entry)
        prev = (entry.seq, entry.entry_hash)
    return entries


def rehash(entries: list[AuditEntry], start: int) -> list[AuditEntry]:
    """What a forger with write access does: renumber and recompute every hash from `start` (0-based) on."""
    out = entries[:start]
    prev_hash = out[-1].entry_hash if out else GENESIS_HASH
    for i, e in enumerate(entries[start:], start=start):
        e = replace(e, seq=i + 1, prev_hash=prev_hash, payload_digest=digest(dict(e.payload)))
        e = replace(e, entry_hash=e.computed_hash())
        out.append(e)
        prev_hash = e.entry_hash
    return out


def signed(entries: list[AuditEntry], head_seq: int, cp_id: int = 1) -> Checkpoint:
    e = entries[head_seq - 1]
    return Checkpoint(cp_id, e.at, e.seq, e.entry_hash, "key-1", "sig-ok")


def good_signature(cp: Checkpoint) -> bool:
    return cp.signature == "sig-ok"


def test_chain_links_each_entry_to_the_previous_one() -> None:
    entries = build(5)
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in pairwise(entries):
        assert after.prev_hash == before.entry_hash
    assert all(e.entry_hash == e.computed_hash() for e in entries)
    assert entries[0].parties == ("green", "red")  # sorted, de-duplicated


def test_canonical_json_is_key_order_independent() -> None:
    assert canonical_json({"b": 1, "a": [1, 2]}) == b'{"a":[1,2],"b":1}'
    assert digest({"b": 1, "a": 2}) == digest({"a": 2, "b": 1})
    with pytest.raises(ValueError, match="Out of range float"):
        canonical_json({"x": float("nan")})


def test_untouched_chain_passes() -> None:
    entries = build(12)
    verdict = verify_chain(entries, [signed(entries, 6), signed(entries, 12, 2)], good_signature, 12)
    assert verdict.ok, verdict.problem
    assert (verdict.entries_checked, verdict.checkpoints_checked) == (12, 2)
    assert (verdict.head_seq, verdict.head_hash) == (12, entries[-1].entry_hash)
    assert verdict.first_bad_seq is None


def test_empty_chain_passes() -> None:
    verdict = verify_chain([], recorded_head_seq=0)
    assert verdict.ok
    assert (verdict.head_seq, verdict.head_hash) == (0, GENESIS_HASH)


def test_modified_payload_is_named() -> None:
    entries = build(10)
    entries[4] = replace(entries[4], payload={**entries[4].payload, "note": "forged"})
    verdict = verify_chain(entries, recorded_head_seq=10)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 5)
    assert "payload" in (verdict.problem or "")
    assert verdict.entries_checked == 4


@pytest.mark.parametrize(
    "change",
    [
        {"action": "operation.cancelled"},
        {"actor_party_id": "green"},
        {"actor_token_id": "another-token"},
        {"actor_role": "admin"},
        {"subject_id": "op-999"},
        {"parties": ("blue",)},
        {"at": T0 + timedelta(days=1)},
    ],
)
def test_modified_header_field_is_named(change: dict[str, object]) -> None:
    entries = build(10)
    entries[6] = replace(entries[6], **change)  # type: ignore[arg-type]
    verdict = verify_chain(entries)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 7)
    assert "hash does not match" in (verdict.problem or "")


def test_modified_payload_with_recomputed_digest_breaks_the_entry_hash() -> None:
    entries = build(10)
    payload = {**entries[2].payload, "note": "forged"}
    entries[2] = replace(entries[2], payload=payload, payload_digest=digest(payload))
    verdict = verify_chain(entries)
    assert verdict.first_bad_seq == 3


def test_deleted_entry_is_named() -> None:
    entries = build(10)
    del entries[3]
    verdict = verify_chain(entries, recorded_head_seq=10)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 4)
    assert "entry 4 is missing" in (verdict.problem or "")


def test_deleted_entry_with_renumbering_is_named() -> None:
    entries = build(10)
    del entries[3]
    entries = [replace(e, seq=i + 1) for i, e in enumerate(entries)]
    verdict = verify_chain(entries, recorded_head_seq=9)
    assert verdict.first_bad_seq == 4


def test_inserted_entry_is_named() -> None:
    entries = build(10)
    forged = replace(entries[4], payload={"i": 99}, payload_digest=digest({"i": 99}))
    entries.insert(4, forged)
    entries = [replace(e, seq=i + 1) for i, e in enumerate(entries)]
    verdict = verify_chain(entries, recorded_head_seq=11)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 5)


def test_inserted_entry_that_links_correctly_is_named() -> None:
    """A forger who hashes the new entry properly but cannot rewrite the rest: the next one still links past it."""
    entries = build(10)
    forged = chain_entry(
        (entries[3].seq, entries[3].entry_hash),
        entries[3].at,
        ("blue", "token-blue", "supervisor"),
        "message.sent",
        ("message", "m-1"),
        ["blue"],
        {"body": "forged"},
    )
    entries = entries[:4] + [forged] + [replace(e, seq=e.seq + 1) for e in entries[4:]]
    verdict = verify_chain(entries, recorded_head_seq=11)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 5)
    assert verdict.problem == "entry 5 inserted: entry 6 links to entry 4"


def test_several_inserted_entries_are_named() -> None:
    entries = build(10)
    prev: tuple[int, str] | None = (entries[1].seq, entries[1].entry_hash)
    forged: list[AuditEntry] = []
    for i in range(3):
        assert prev is not None
        e = chain_entry(prev, T0, (None, "cli", "admin"), "party.created", ("party", f"p{i}"), [], {"i": i})
        forged.append(e)
        prev = (e.seq, e.entry_hash)
    entries = entries[:2] + forged + [replace(e, seq=e.seq + 3) for e in entries[2:]]
    verdict = verify_chain(entries)
    assert (verdict.first_bad_seq, verdict.problem) == (3, "entries 3 to 5 inserted: entry 6 links to entry 2")


def test_insertion_at_the_start_is_named() -> None:
    entries = build(4)
    forged = chain_entry(None, T0, (None, "cli", "admin"), "party.created", ("party", "p"), [], {})
    verdict = verify_chain([forged, *(replace(e, seq=e.seq + 1) for e in entries)])
    assert (verdict.first_bad_seq, verdict.problem) == (1, "entry 1 inserted: entry 2 links to entry 0")


def test_swapped_entries_are_named() -> None:
    entries = build(10)
    entries[2], entries[6] = entries[6], entries[2]
    verdict = verify_chain(entries)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 3)
    assert "entry 3" in (verdict.problem or "")


def test_swapped_entry_contents_keeping_positions_are_named() -> None:
    entries = build(10)
    a, b = entries[2], entries[6]
    entries[2], entries[6] = replace(b, seq=3), replace(a, seq=7)
    verdict = verify_chain(entries)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 3)


def test_truncation_below_the_recorded_count_is_named() -> None:
    entries = build(10)
    verdict = verify_chain(entries[:7], recorded_head_seq=10)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 8)
    assert "recorded 10" in (verdict.problem or "")


def test_truncation_below_a_checkpoint_is_named() -> None:
    entries = build(10)
    verdict = verify_chain(entries[:7], [signed(entries, 9)], good_signature, recorded_head_seq=7)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 8)
    assert "vouches for entry 9" in (verdict.problem or "")


def test_truncation_below_a_kept_copy_is_named() -> None:
    entries = build(10)
    kept = {e.seq: e.entry_hash for e in entries}
    verdict = verify_chain(entries[:5], kept_hashes=kept)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 6)


def test_rewrite_with_recomputed_hashes_passes_the_chain_alone() -> None:
    entries = build(10)
    entries[3] = replace(entries[3], payload={"i": 3, "note": "rewritten"})
    assert verify_chain(rehash(entries, 3), recorded_head_seq=10).ok


def test_rewrite_with_recomputed_hashes_is_caught_by_a_checkpoint() -> None:
    original = build(10)
    checkpoints = [signed(original, 2), signed(original, 8, 2)]
    forged = list(original)
    forged[3] = replace(forged[3], payload={"i": 3, "note": "rewritten"})
    forged = rehash(forged, 3)
    verdict = verify_chain(forged, checkpoints, good_signature, recorded_head_seq=10)
    # The chain is consistent, so the earliest provably bad entry is the first checkpointed one that changed.
    assert (verdict.ok, verdict.first_bad_seq) == (False, 8)
    assert "checkpoint 2" in (verdict.problem or "")
    assert "after entry 2" in (verdict.problem or "")


def test_rewrite_is_pinned_to_the_entry_by_a_kept_copy() -> None:
    original = build(10)
    kept = {e.seq: e.entry_hash for e in original[:6]}
    forged = list(original)
    forged[3] = replace(forged[3], payload={"i": 3, "note": "rewritten"})
    verdict = verify_chain(rehash(forged, 3), [signed(original, 8)], good_signature, 10, kept)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 4)
    assert "kept" in (verdict.problem or "")


def test_kept_hash_mismatch_is_named() -> None:
    entries = build(10)
    kept = {3: entries[2].entry_hash, 7: "f" * 64}
    verdict = verify_chain(entries, kept_hashes=kept)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 7)


def test_bad_signature_is_named_at_its_head() -> None:
    entries = build(10)
    forged = replace(signed(entries, 6), signature="sig-forged")
    verdict = verify_chain(entries, [signed(entries, 3), forged], good_signature, 10)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 6)
    assert "invalid signature" in (verdict.problem or "")


def test_earlier_chain_break_wins_over_a_later_bad_signature() -> None:
    entries = build(10)
    entries[1] = replace(entries[1], action="forged")
    forged = replace(signed(entries, 6), signature="sig-forged")
    verdict = verify_chain(entries, [forged], good_signature)
    assert verdict.first_bad_seq == 2


def test_signatures_are_not_checked_without_a_checker() -> None:
    entries = build(4)
    verdict = verify_chain(entries, [replace(signed(entries, 4), signature="anything")])
    assert verdict.ok
    assert verdict.checkpoints_checked == 1
