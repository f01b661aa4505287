"""The tamper-evident record: a SHA-256 hash chain of audit entries, and how to check it.

Each entry's hash covers its position (`seq`), time, actor, action, subject, the parties it
concerns, the digest of its payload and the previous entry's hash. Changing, removing,
inserting or reordering any entry therefore breaks the link at that entry or the next one; a
signed checkpoint of the head (Ed25519, signed by the service) makes a wholesale rewrite and a
truncation provable too.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64
#: How many recent entry hashes verification remembers to tell an insertion from other breaks.
RECENT_HASHES = 1024


#: One encoder for every digest: `json.dumps` with these options would build a new one per call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> bytes:
    """The one byte form that digests and signatures are taken over: sorted keys, no spaces, UTF-8."""
    return _CANONICAL.encode(value).encode()


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor_party_id: str | None
    actor_token_id: str
    actor_role: str
    action: str
    subject_kind: str
    subject_id: str
    parties: tuple[str, ...]
    payload: Mapping[str, Any]
    payload_digest: str
    prev_hash: str
    entry_hash: str

    def header(self) -> dict[str, Any]:
        """Everything the entry hash covers (the payload through its digest)."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": [self.actor_party_id, self.actor_token_id, self.actor_role],
            "action": self.action,
            "subject": [self.subject_kind, self.subject_id],
            "parties": sorted(self.parties),
            "payload_digest": self.payload_digest,
            "prev_hash": self.prev_hash,
        }

    def computed_hash(self) -> str:
        return digest(self.header())

    def to_doc(self) -> dict[str, Any]:
        return {**self.header(), "payload": dict(self.payload), "entry_hash": self.entry_hash}


def chain_entry(
    prev: tuple[int, str] | None,
    at: datetime,
    actor: tuple[str | None, str, str],
    action: str,
    subject: tuple[str, str],
    parties: Iterable[str],
    payload: Mapping[str, Any],
) -> AuditEntry:
    """The next entry after `prev` = (seq, hash) of the current head (None for the first entry)."""
    seq, prev_hash = (prev[0] + 1, prev[1]) if prev else (1, GENESIS_HASH)
    fields: dict[str, Any] = {
        "seq": seq,
        "at": at,
        "actor_party_id": actor[0],
        "actor_token_id": actor[1],
        "actor_role": actor[2],
        "action": action,
        "subject_kind": subject[0],
        "subject_id": subject[1],
        "parties": tuple(sorted(set(parties))),
        "payload": payload,
        "payload_digest": digest(payload),
        "prev_hash": prev_hash,
    }
    # Hashed unfinished, then built again with its hash (cheaper than dataclasses.replace, once per entry).
    return AuditEntry(**fields, entry_hash=AuditEntry(**fields, entry_hash="").computed_hash())


@dataclass(frozen=True)
class Checkpoint:
    id: int
    at: datetime
    head_seq: int
    head_hash: str
    key_id: str
    signature: str

    def statement(self) -> bytes:
        """The bytes that are signed."""
        return canonical_json(
            {"at": self.at.isoformat(), "head_seq": self.head_seq, "head_hash": self.head_hash, "key_id": self.key_id}
        )

    def to_doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "key_id": self.key_id,
            "signature": self.signature,
        }


@dataclass
class Verdict:
    """The result of checking a chain: `first_bad_seq` names the earliest entry that is not as recorded."""

    entries_checked: int = 0
    checkpoints_checked: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    first_bad_seq: int | None = None
    problem: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def fail(self, seq: int, problem: str) -> None:
        if self.problem is None or (self.first_bad_seq is not None and seq < self.first_bad_seq):
            self.first_bad_seq, self.problem = seq, problem


SignatureCheck = Callable[[Checkpoint], bool]


def verify_chain(
    entries: Iterable[AuditEntry],
    checkpoints: Iterable[Checkpoint] = (),
    signature_ok: SignatureCheck | None = None,
    recorded_head_seq: int | None = None,
    kept_hashes: Mapping[int, str] | None = None,
) -> Verdict:
    """Recompute the chain from its first entry; stop at the first entry that is not as recorded.

    `entries` must come in stored order (by seq). `recorded_head_seq` is the count the store kept
    separately; fewer entries than that is a truncation. Each checkpoint must carry a valid
    signature and match the entry at its `head_seq`. `kept_hashes` (seq -> entry hash) are
    copies a party kept: each stored entry must still have that hash.
    """
    kept = kept_hashes or {}
    verdict = Verdict()
    by_seq: dict[int, list[Checkpoint]] = {}
    for cp in checkpoints:
        verdict.checkpoints_checked += 1
        if signature_ok is not None and not signature_ok(cp):
            verdict.fail(cp.head_seq, f"checkpoint {cp.id} (head {cp.head_seq}) has an invalid signature")
        by_seq.setdefault(cp.head_seq, []).append(cp)
    expected_seq, prev_hash = 1, GENESIS_HASH
    vouched = 0  # the head of the last checkpoint that still matched
    recent: dict[str, int] = {GENESIS_HASH: 0}  # entry hash -> seq, of the last RECENT_HASHES entries
    window: deque[str] = deque([GENESIS_HASH])
    for entry in entries:
        if not _check_entry(entry, expected_seq, prev_hash, verdict, recent):
            break
        if entry.seq in kept and kept[entry.seq] != entry.entry_hash:
            verdict.fail(entry.seq, f"entry {entry.seq} differs from the copy a party kept: it was rewritten")
            return verdict
        for cp in by_seq.get(entry.seq, ()):
            if cp.head_hash != entry.entry_hash:
                verdict.fail(
                    entry.seq,
                    f"entry {entry.seq} differs from checkpoint {cp.id} signed at {cp.at.isoformat()}: "
                    f"the history after entry {vouched} up to it was rewritten",
                )
                return verdict
            vouched = entry.seq
        verdict.entries_checked += 1
        verdict.head_seq, verdict.head_hash = entry.seq, entry.entry_hash
        expected_seq, prev_hash = entry.seq + 1, entry.entry_hash
        if len(window) >= RECENT_HASHES:
            del recent[window.popleft()]
        window.append(entry.entry_hash)
        recent[entry.entry_hash] = entry.seq
    if verdict.problem is not None:
        return verdict
    last = verdict.head_seq
    beyond = [cp for seq, cps in by_seq.items() if seq > last for cp in cps]
    if beyond:
        cp = min(beyond, key=lambda c: c.head_seq)
        verdict.fail(last + 1, f"the chain ends at entry {last} but checkpoint {cp.id} vouches for entry {cp.head_seq}")
    elif any(seq > last for seq in kept):
        verdict.fail(last + 1, f"the chain ends at entry {last} but a party kept entry {max(kept)}")
    elif recorded_head_seq is not None and recorded_head_seq > last:
        verdict.fail(last + 1, f"the chain ends at entry {last} but the store recorded {recorded_head_seq} entries")
    return verdict


def _check_entry(
    entry: AuditEntry, expected_seq: int, prev_hash: str, verdict: Verdict, recent: Mapping[str, int]
) -> bool:
    if entry.seq != expected_seq:
        if entry.seq > expected_seq:
            what = f"entry {expected_seq} is missing (the next stored entry is {entry.seq})"
        else:
            what = f"entry {entry.seq} appears out of order after entry {expected_seq - 1}"
        verdict.fail(expected_seq, what)
        return False
    if digest(dict(entry.payload)) != entry.payload_digest:
        verdict.fail(entry.seq, f"entry {entry.seq}: the payload does not match its digest (modified)")
        return False
    if entry.prev_hash != prev_hash:
        earlier = recent.get(entry.prev_hash)
        if earlier is not None:  # it links to an entry further back: the ones in between were put in
            first, last = earlier + 1, entry.seq - 1
            what = f"entry {first}" if first == last else f"entries {first} to {last}"
            verdict.fail(first, f"{what} inserted: entry {entry.seq} links to entry {earlier}")
            return False
        verdict.fail(
            entry.seq, f"entry {entry.seq}: does not link to entry {entry.seq - 1} (inserted, removed or reordered)"
        )
        return False
    if entry.computed_hash() != entry.entry_hash:
        verdict.fail(entry.seq, f"entry {entry.seq}: its hash does not match its content (modified)")
        return False
    return True
