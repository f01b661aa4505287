"""`deconflict audit verify` on a real SQLite file tampered with by raw SQL: each change fails with
exit code 1 and names the first bad entry; the untouched file passes. Also export and --against."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from deconflict.api.app import build_core
from deconflict.cli import app
from deconflict.domain.audit import AuditEntry, chain_entry, digest
from deconflict.domain.clock import ManualClock
from deconflict.services import messages
from deconflict.services.audit import Signer
from deconflict.settings import Settings
from deconflict.storage import journal
from tests.conftest import T0
from tests.services.helpers import record_scenario

DECONFLICT = Path(sys.executable).parent / "deconflict"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_env_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("DECONFLICT_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A store with a few dozen entries, made through the services, and its signed head; (file, head)."""
    folder = tmp_path_factory.mktemp("pristine")
    db = folder / "record.db"
    clock = ManualClock(T0)
    core = build_core(Settings(database_url=f"sqlite:///{db}"), clock)
    p = record_scenario(core, clock)
    for i in range(12):
        clock.advance(30)
        sender, to = (p["Blue"], p["Red"]) if i % 2 else (p["Red"], p["Blue"])
        messages.send(core, sender, messages.MessageDraft(to.party_id or "", f"check {i}"))
    with core.read() as repo:
        head = journal.audit_head(repo.session)
    core.engine.dispose()
    assert head is not None
    assert head[0] >= 36
    signed = runner.invoke(app, ["audit", "checkpoint", "--db", f"sqlite:///{db}"])
    assert signed.exit_code == 0, signed.output
    assert json.loads(signed.stdout)["head_seq"] == head[0]
    return db, head[0]


@pytest.fixture
def store(pristine: tuple[Path, int], tmp_path: Path) -> tuple[Path, int]:
    """A private copy of the pristine store (and of its key file, kept next to it by default)."""
    db, head = pristine
    copy = tmp_path / "record.db"
    source, target = sqlite3.connect(db), sqlite3.connect(copy)
    try:
        source.backup(target)  # a consistent copy, whatever still sits in the write-ahead log
    finally:
        source.close()
        target.close()
    shutil.copy(f"{db}.signing-key.pem", f"{copy}.signing-key.pem")
    return copy, head


def url(db: Path) -> str:
    return f"sqlite:///{db}"


def verify(db: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", "--db", url(db), *extra])
    return result.exit_code, result.output


def first_bad(output: str) -> int:
    found = re.search(r"first bad entry: (\d+)", output)
    assert found is not None, output
    return int(found.group(1))


def sql(db: Path, *statements: str, params: tuple[Any, ...] = ()) -> None:
    con = sqlite3.connect(db)
    try:
        with con:
            for statement in statements:
                con.execute(statement, params if "?" in statement else ())
    finally:
        con.close()


def read_entries(db: Path) -> list[AuditEntry]:
    core = build_core(Settings(database_url=url(db)), migrate=False)
    try:
        with core.read() as repo:
            return list(journal.iter_entries(repo.session))
    finally:
        core.engine.dispose()


def write_entry(con: sqlite3.Connection, e: AuditEntry) -> None:
    con.execute(
        "UPDATE audit_entries SET payload = ?, payload_digest = ?, prev_hash = ?, entry_hash = ? WHERE seq = ?",
        (json.dumps(dict(e.payload)), e.payload_digest, e.prev_hash, e.entry_hash, e.seq),
    )


def test_untouched_store_passes_in_a_real_subprocess(store: tuple[Path, int]) -> None:
    db, head = store
    key = f"{db}.signing-key.pem"
    r = subprocess.run(
        [str(DECONFLICT), "audit", "verify", "--db", url(db), "--key", key],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("DECONFLICT_")},
    )
    assert r.returncode == 0, r.stderr
    assert f"{head} entries, 1 checkpoints, head {head}" in r.stderr
    assert "note:" not in r.stderr  # the signature was checked


def test_modified_payload_fails_in_a_real_subprocess(store: tuple[Path, int]) -> None:
    db, _ = store
    con = sqlite3.connect(db)
    with con:
        (payload,) = con.execute("SELECT payload FROM audit_entries WHERE seq = 10").fetchone()
        con.execute(
            "UPDATE audit_entries SET payload = ? WHERE seq = 10", (json.dumps({**json.loads(payload), "x": 1}),)
        )
    con.close()
    r = subprocess.run(
        [str(DECONFLICT), "audit", "verify", "--db", url(db)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("DECONFLICT_")},
    )
    assert r.returncode == 1
    assert first_bad(r.stderr) == 10
    assert "payload does not match its digest" in " ".join(r.stderr.split())


def test_untouched_store_passes(store: tuple[Path, int]) -> None:
    db, head = store
    code, out = verify(db)
    assert code == 0, out
    assert f"{head} entries" in out


def test_modified_header_field(store: tuple[Path, int]) -> None:
    db, _ = store
    sql(db, "UPDATE audit_entries SET actor_role = 'observer' WHERE seq = 12")
    code, out = verify(db)
    assert (code, first_bad(out)) == (1, 12)


def test_modified_payload_with_its_digest_recomputed(store: tuple[Path, int]) -> None:
    db, _ = store
    e = read_entries(db)[14]
    payload = {**e.payload, "forged": True}
    sql(
        db,
        "UPDATE audit_entries SET payload = ?, payload_digest = ? WHERE seq = 15",
        params=(json.dumps(payload), digest(payload)),
    )
    code, out = verify(db)
    assert (code, first_bad(out)) == (1, 15)


def test_deleted_entry(store: tuple[Path, int]) -> None:
    db, _ = store
    sql(db, "DELETE FROM audit_entries WHERE seq = 10")
    code, out = verify(db)
    assert (code, first_bad(out)) == (1, 10)


def test_deleted_entry_with_renumbering(store: tuple[Path, int]) -> None:
    db, head = store
    sql(
        db,
        "DELETE FROM audit_entries WHERE seq = 10",
        "UPDATE audit_entries SET seq = -(seq - 1) WHERE seq > 10",
        "UPDATE audit_entries SET seq = -seq WHERE seq < 0",
        f"UPDATE counters SET value = {head - 1} WHERE name = 'audit_seq'",
    )
    code, out = verify(db)
    assert (code, first_bad(out)) == (1, 10)


def test_inserted_forged_entry(store: tuple[Path, int]) -> None:
    """The forger links its entry to entry 9 correctly and renumbers every later one."""
    db, head = store
    nine = read_entries(db)[8]
    forged = chain_entry(
        (nine.seq, nine.entry_hash),
        nine.at,
        (nine.actor_party_id, nine.actor_token_id, nine.actor_role),
        "notice.acknowledged",
        ("notice", "forged"),
        nine.parties,
        {"decision": "acknowledged"},
    )
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE audit_entries SET seq = -(seq + 1) WHERE seq >= 10")
        con.execute("UPDATE audit_entries SET seq = -seq WHERE seq < 0")
        con.execute(
            "INSERT INTO audit_entries (seq, at, actor_party_id, actor_token_id, actor_role, action, subject_kind, "
            "subject_id, parties, payload, payload_digest, prev_hash, entry_hash) "
            "SELECT 10, at, actor_party_id, actor_token_id, actor_role, ?, ?, ?, parties, ?, ?, ?, ? "
            "FROM audit_entries WHERE seq = 9",
            (
                forged.action,
                forged.subject_kind,
                forged.subject_id,
                json.dumps(dict(forged.payload)),
                forged.payload_digest,
                forged.prev_hash,
                forged.entry_hash,
            ),
        )
        con.execute("UPDATE counters SET value = ? WHERE name = 'audit_seq'", (head + 1,))
    con.close()
    code, out = verify(db)
    assert (code, first_bad(out)) == (1, 10)
    assert "inserted" in out


def test_swapped_entries(store: tuple[Path, int]) -> None:
    db, _ = store
    sql(
        db,
        "UPDATE audit_entries SET seq = -1 WHERE seq = 10",
        "UPDATE audit_entries SET seq = 10 WHERE seq = 20",
        "UPDATE audit_entries SET seq = 20 WHERE seq = -1",
    )
    code, out = verify(db)
    assert (code, first_bad(out)) == (1, 10)


def test_truncated_tail(store: tuple[Path, int]) -> None:
    db, head = store
    sql(db, f"DELETE FROM audit_entries WHERE seq > {head - 5}")
    code, out = verify(db)
    assert (code, first_bad(out)) == (1, head - 4)


def test_truncated_tail_with_the_count_adjusted_is_caught_by_the_checkpoint(store: tuple[Path, int]) -> None:
    db, head = store
    sql(
        db,
        f"DELETE FROM audit_entries WHERE seq > {head - 5}",
        f"UPDATE counters SET value = {head - 5} WHERE name = 'audit_seq'",
    )
    code, out = verify(db)
    assert (code, first_bad(out)) == (1, head - 4)
    assert f"vouches for entry {head}" in " ".join(out.split())


def rewrite_from(db: Path, seq: int) -> None:
    """Change entry `seq` and recompute every digest and hash after it, as someone with write access could."""
    entries = read_entries(db)
    con = sqlite3.connect(db)
    with con:
        prev_hash = entries[seq - 2].entry_hash
        for e in entries[seq - 1 :]:
            payload = {**e.payload, "rewritten": True} if e.seq == seq else dict(e.payload)
            e = replace(e, payload=payload, payload_digest=digest(payload), prev_hash=prev_hash)
            e = replace(e, entry_hash=e.computed_hash())
            write_entry(con, e)
            prev_hash = e.entry_hash
    con.close()


def test_rewrite_with_recomputed_hashes_is_caught_by_the_checkpoint(store: tuple[Path, int]) -> None:
    db, head = store
    rewrite_from(db, 10)
    code, out = verify(db)
    assert code == 1
    assert first_bad(out) == head  # the chain alone is consistent: the signed head is what no longer holds
    assert "differs from checkpoint 1" in " ".join(out.split())


def test_rewrite_without_a_checkpoint_is_named_by_a_kept_export(store: tuple[Path, int], tmp_path: Path) -> None:
    """Deleting the checkpoints too defeats the store alone; an export a party kept still names the entry."""
    db, _ = store
    kept = tmp_path / "kept.jsonl"
    exported = runner.invoke(app, ["audit", "export", "--db", url(db), "--format", "jsonl", "--out", str(kept)])
    assert exported.exit_code == 0, exported.output
    rewrite_from(db, 10)
    sql(db, "DELETE FROM audit_checkpoints")
    code, out = verify(db)
    assert code == 0, out  # nothing in the store contradicts the rewrite
    code, out = verify(db, "--against", str(kept))
    assert (code, first_bad(out)) == (1, 10)
    assert "kept" in out


def test_checkpoint_by_another_key_fails(store: tuple[Path, int], tmp_path: Path) -> None:
    db, head = store
    other = tmp_path / "other.pem"
    code, out = verify(db, "--key", str(other))
    assert code == 2  # a key file that does not exist is a usage error
    assert "no key file" in out
    Signer.load_or_create(other)
    code, out = verify(db, "--key", str(other))
    assert (code, first_bad(out)) == (1, head)
    assert "invalid signature" in out


def test_export_jsonl(store: tuple[Path, int]) -> None:
    db, head = store
    result = runner.invoke(app, ["audit", "export", "--db", url(db), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    docs = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["type"] for d in docs] == ["entry"] * head + ["checkpoint"]
    assert [d["seq"] for d in docs[:-1]] == list(range(1, head + 1))
    assert docs[-1]["head_hash"] == docs[-2]["entry_hash"]
    assert f"{head + 1} lines written" in result.stderr
    bad = runner.invoke(app, ["audit", "export", "--db", url(db), "--format", "csv"])
    assert bad.exit_code == 2


def test_verify_against_an_unreadable_file_is_a_usage_error(store: tuple[Path, int], tmp_path: Path) -> None:
    db, _ = store
    kept = tmp_path / "kept.jsonl"
    kept.write_text('{"seq": 1}\nnot json\n')
    code, out = verify(db, "--against", str(kept))
    assert code == 2
    assert "kept.jsonl:2" in out


def test_a_store_that_does_not_exist_is_not_intact(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    code, out = verify(missing)
    assert code == 2, out
    assert not missing.exists()
