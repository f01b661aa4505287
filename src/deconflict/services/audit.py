"""The service's signing key, signed checkpoints of the audit chain, verification and export."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from deconflict.domain.audit import GENESIS_HASH, AuditEntry, Checkpoint, Verdict, verify_chain
from deconflict.domain.errors import Forbidden
from deconflict.domain.parties import Principal, Role
from deconflict.services.core import SYSTEM, Core
from deconflict.storage import journal


class Signer:
    """The service's Ed25519 key. It lives in a file outside the database, so whoever can rewrite the
    database cannot also sign a matching checkpoint."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key()
        raw = self.public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.public_key_hex = raw.hex()
        self.key_id = key_id(raw)

    @classmethod
    def load_or_create(cls, path: str | Path) -> Signer:
        path = Path(path)
        if path.exists():
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError(f"{path} does not hold an Ed25519 private key")
            return cls(key)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        return cls(key)

    def sign(self, at: datetime, head_seq: int, head_hash: str) -> Checkpoint:
        unsigned = Checkpoint(0, at, head_seq, head_hash, self.key_id, "")
        return Checkpoint(0, at, head_seq, head_hash, self.key_id, self._key.sign(unsigned.statement()).hex())


def key_id(raw_public_key: bytes) -> str:
    return hashlib.sha256(raw_public_key).hexdigest()


def signature_checker(public_key_hex: str) -> Any:
    """A check of checkpoints against one public key (checkpoints by any other key fail)."""
    raw = bytes.fromhex(public_key_hex)
    public = Ed25519PublicKey.from_public_bytes(raw)
    expected = key_id(raw)

    def ok(cp: Checkpoint) -> bool:
        if cp.key_id != expected:
            return False
        try:
            public.verify(bytes.fromhex(cp.signature), cp.statement())
        except (InvalidSignature, ValueError):
            return False
        return True

    return ok


def checkpoint(core: Core, signer: Signer, actor: Principal = SYSTEM, only_if_moved: bool = False) -> Checkpoint | None:
    """Sign the current head. With `only_if_moved`, nothing is signed when no entry was added since the last."""
    with core.write(actor, index=False) as tx:
        session = tx.repo.session
        head = journal.audit_head(session) or (0, GENESIS_HASH)
        last = journal.latest_checkpoint(session)
        if only_if_moved and last is not None and last.head_seq == head[0]:
            tx.abandon()
            return None
        return journal.add_checkpoint(session, signer.sign(tx.now, head[0], head[1]))


def checkpoint_due(core: Core, interval_s: float) -> bool:
    with core.read() as repo:
        last = journal.latest_checkpoint(repo.session)
        head = journal.audit_head(repo.session)
    if head is None or (last is not None and last.head_seq == head[0]):
        return False
    return last is None or (core.clock.now() - last.at).total_seconds() >= interval_s


def verify(core: Core, public_key_hex: str | None, kept: list[dict[str, Any]] | None = None) -> Verdict:
    """Recompute the whole chain and check every checkpoint (with the given public key, if any).

    `kept` are documents a party saved earlier (`GET /audit`, `/audit/checkpoints`, or `audit
    export`): their entries must still be in the chain unchanged, their checkpoints must hold.
    """
    kept_hashes, kept_cps = _kept(kept or [])
    with core.read() as repo:
        session = repo.session
        cps = journal.checkpoints(session) + kept_cps
        recorded = journal.recorded_audit_count(session)
        check = signature_checker(public_key_hex) if public_key_hex else None
        verdict = verify_chain(journal.iter_entries(session), cps, check, recorded, kept_hashes)
    if check is None:
        verdict.notes.append("no public key given: checkpoint signatures were not checked")
    return verdict


def _kept(docs: list[dict[str, Any]]) -> tuple[dict[int, str], list[Checkpoint]]:
    hashes: dict[int, str] = {}
    cps: list[Checkpoint] = []
    for d in docs:
        if d.get("type") == "checkpoint" or ("signature" in d and "head_seq" in d):
            at = datetime.fromisoformat(d["at"])
            cps.append(
                Checkpoint(int(d.get("id", 0)), at, int(d["head_seq"]), d["head_hash"], d["key_id"], d["signature"])
            )
        elif "entry_hash" in d and "seq" in d:
            hashes[int(d["seq"])] = str(d["entry_hash"])
    return hashes, cps


def verdict_doc(v: Verdict) -> dict[str, Any]:
    return {
        "ok": v.ok,
        "entries_checked": v.entries_checked,
        "checkpoints_checked": v.checkpoints_checked,
        "head_seq": v.head_seq,
        "head_hash": v.head_hash,
        "first_bad_seq": v.first_bad_seq,
        "problem": v.problem,
        "notes": v.notes,
    }


def entries_for(core: Core, principal: Principal, after_seq: int, limit: int) -> list[AuditEntry]:
    """The entries the caller's party is party to (all of them for an admin)."""
    with core.read() as repo:
        if principal.role is Role.ADMIN:
            return list(islice(journal.iter_entries(repo.session, after_seq), limit))
        if principal.party_id is None:
            raise Forbidden("audit entries are read with a party or admin token")
        return journal.entries_of_party(repo.session, principal.party_id, after_seq, limit)


def list_checkpoints(core: Core, after_id: int = 0, limit: int = 1000) -> list[Checkpoint]:
    with core.read() as repo:
        return journal.checkpoints(repo.session, after_id, limit)


def export_jsonl(core: Core, out: Any) -> int:
    """Write every entry, then every checkpoint, one JSON document per line; returns the lines."""
    n = 0
    with core.read() as repo:
        for e in journal.iter_entries(repo.session):
            out.write(json.dumps({"type": "entry", **e.to_doc()}, sort_keys=True) + "\n")
            n += 1
        for cp in journal.checkpoints(repo.session):
            out.write(json.dumps({"type": "checkpoint", **cp.to_doc()}, sort_keys=True) + "\n")
            n += 1
    return n
