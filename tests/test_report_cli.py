"""`deconflict report`: a real subprocess writes a self-contained HTML page and JSON; bad input exits 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from deconflict.api.app import build_core
from deconflict.cli import app
from deconflict.cli_record import parse_rfc3339
from deconflict.domain.agreements import LatePolicy
from deconflict.domain.clock import ManualClock
from deconflict.domain.hotline import Decision
from deconflict.services import audit, notices, operations
from deconflict.settings import Settings
from deconflict.storage import journal
from tests.conftest import T0
from tests.services.helpers import circle_draft, setup_parties

FROM, TO = "2031-06-01T07:00:00Z", "2031-06-01T12:00:00Z"


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[str, str]:
    """A database with a filing, a late filing, an acknowledgement and a signed checkpoint; (url, head hash)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'report.db'}")
    clock = ManualClock(T0)
    core = build_core(settings, clock)
    p = setup_parties(core, "Blue", "Red", late_policy=LatePolicy.FLAG)
    clock.advance(60)
    op = operations.file_operation(core, p["Blue"], circle_draft(48.0, 2.0)).operation
    clock.advance(60)
    operations.file_operation(core, p["Blue"], circle_draft(48.3, 2.3, start_h=0.25))
    (notice,) = notices.list_notices(core, p["Red"], notices.NoticeQuery(direction="in", operation_id=op.id))
    clock.advance(90)
    notices.answer(core, p["Red"], notice["id"], Decision.ACKNOWLEDGED, None)
    audit.checkpoint(core, audit.Signer.load_or_create(settings.signing_key_path()))
    with core.read() as repo:
        head = journal.audit_head(repo.session)
    core.engine.dispose()
    assert head is not None
    return settings.database_url, head[1]


def deconflict(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "deconflict.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def test_html_report_is_self_contained_and_names_the_chain_head(recorded: tuple[str, str], tmp_path: Path) -> None:
    db, head_hash = recorded
    out = tmp_path / "report.html"
    r = deconflict("report", "--from", FROM, "--to", TO, "--out", str(out), "--db", db)
    assert r.returncode == 0, r.stderr
    assert "report written" in r.stderr
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://", page)
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(", page, re.IGNORECASE)
    assert head_hash in page
    assert "<svg" in page
    assert page.count("<polygon") == 2  # the two filings; they do not meet
    assert "Chain intact" in page
    assert 'class="flag late"' in page
    assert 'tr class="late' in page


def test_json_report_for_a_party_parses(recorded: tuple[str, str]) -> None:
    db, head_hash = recorded
    r = deconflict("report", "--from", FROM, "--to", TO, "--format", "json", "--party", "Red", "--db", db)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["party"]["name"] == "Red"
    assert doc["audit"]["head"]["hash"] == head_hash
    assert doc["audit"]["verification"]["ok"] is True
    assert doc["audit"]["verification"]["notes"] == []  # the service's key was found next to the database
    assert [n["decision"] for n in doc["notices"]] == ["acknowledged", None]
    assert [n["late"] for n in doc["notices"]] == [False, True]
    assert "SECRET1" not in r.stdout
    assert "secret purpose" not in r.stdout


def test_bad_from_exits_2_naming_the_option(tmp_path: Path) -> None:
    r = deconflict("report", "--from", "yesterday", "--to", TO, "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert r.returncode == 2
    assert "--from" in r.stderr
    assert "RFC 3339" in " ".join(r.stderr.split())


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["report", *args], env={"COLUMNS": "200", "NO_COLOR": "1"})
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--from", "2031-06-01"),
        ("--from", "2031-06-01T08:00:00"),
        ("--from", "2031-13-01T08:00:00Z"),
        ("--to", "2031-06-01T25:00:00Z"),
        ("--to", "1780000000"),
    ],
)
def test_malformed_times_exit_2(option: str, value: str, tmp_path: Path) -> None:
    args = {"--from": FROM, "--to": TO, option: value}
    code, output = _invoke(*(x for kv in args.items() for x in kv), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert code == 2
    assert f"Invalid value for '{option}'" in output


def test_reversed_window_and_unknown_party_exit_2(recorded: tuple[str, str]) -> None:
    db, _ = recorded
    code, output = _invoke("--from", TO, "--to", FROM, "--db", db)
    assert code == 2
    assert "--from" in output
    assert "after --to" in output
    code, output = _invoke("--from", FROM, "--to", TO, "--party", "Purple", "--db", db)
    assert code == 2
    assert "no party named 'Purple'" in output


def test_rfc3339_offsets_and_fractions_become_utc() -> None:
    assert parse_rfc3339("2031-06-01T10:00:00+02:00") == datetime(2031, 6, 1, 8, tzinfo=UTC)
    assert parse_rfc3339("2031-06-01t08:00:00.25z") == datetime(2031, 6, 1, 8, 0, 0, 250_000, tzinfo=UTC)
    assert parse_rfc3339("2031-06-01T08:00:00.123456789Z") - T0 == timedelta(microseconds=123_456)
