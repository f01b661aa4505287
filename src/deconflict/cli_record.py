"""`deconflict audit ...` (verify and export the tamper-evident record, sign a checkpoint) and `deconflict report`."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from deconflict.cli_common import DbOption, core_for, err, fail, settings_for

audit_app = typer.Typer(help="Check and export the tamper-evident audit record.", no_args_is_help=True)


def _public_key(settings: Any, key: Path | None, public_key: str | None) -> str | None:
    from deconflict.services.audit import Signer

    if public_key:
        return public_key.strip()
    path = key or Path(settings.signing_key_path())
    if not path.exists():
        if key is not None:
            fail(f"no key file {key}")
        return None
    try:
        return Signer.load_or_create(path).public_key_hex
    except ValueError as exc:
        fail(str(exc))
    return None


def _existing_core(db: str | None) -> Any:
    """The store to check or export; a SQLite file that is not there is an error, not a new empty store."""
    from sqlalchemy.engine import make_url

    url = make_url(settings_for(db).database_url)
    file = url.database if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") else None
    if file is not None and not Path(file).exists():
        fail(f"no database file {file}")
    return core_for(db)


def _read_kept(path: Path) -> list[dict[str, Any]]:
    docs = []
    for i, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            docs.append(json.loads(line))
        except json.JSONDecodeError as exc:
            fail(f"{path}:{i}: not JSON ({exc.msg})")
    return docs


@audit_app.command("verify")
def verify(
    db: DbOption = None,
    key: Annotated[Path | None, typer.Option(help="the service's key file (default: the configured one)")] = None,
    public_key: Annotated[str | None, typer.Option(help="Ed25519 public key, hex (instead of --key)")] = None,
    against: Annotated[
        Path | None, typer.Option(help="JSON lines a party kept (entries, checkpoints): they must still hold")
    ] = None,
) -> None:
    """Recompute the hash chain and check every signed checkpoint; exit 1 naming the first bad entry."""
    from deconflict.services.audit import verify as run_verify

    settings = settings_for(db)
    pk = _public_key(settings, key, public_key)
    kept = _read_kept(against) if against else None
    core = _existing_core(db)
    try:
        verdict = run_verify(core, pk, kept)
    finally:
        core.engine.dispose()
    for note in verdict.notes:
        err.print(f"[yellow]note:[/] {note}")
    if not verdict.ok:
        err.print(f"[bold red]audit chain is NOT intact:[/] {verdict.problem}")
        err.print(f"first bad entry: {verdict.first_bad_seq}")
        raise typer.Exit(1)
    err.print(
        f"[green]audit chain intact:[/] {verdict.entries_checked} entries, "
        f"{verdict.checkpoints_checked} checkpoints, head {verdict.head_seq} {verdict.head_hash[:16]}…"
    )


@audit_app.command("export")
def export(
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl (one entry or checkpoint per line)")] = "jsonl",
    out: Annotated[Path | None, typer.Option(help="file to write (default: stdout)")] = None,
) -> None:
    """Write every audit entry, then every checkpoint, as JSON lines."""
    from deconflict.services.audit import export_jsonl

    if fmt != "jsonl":
        fail(f"--format must be jsonl, not {fmt!r}")
    core = _existing_core(db)
    try:
        if out is None:
            n = export_jsonl(core, sys.stdout)
        else:
            with out.open("w") as f:
                n = export_jsonl(core, f)
    finally:
        core.engine.dispose()
    err.print(f"{n} lines written")


@audit_app.command("checkpoint")
def checkpoint(db: DbOption = None) -> None:
    """Sign the current chain head with the service's key now; prints the checkpoint."""
    from deconflict.services.audit import Signer
    from deconflict.services.audit import checkpoint as sign
    from deconflict.services.core import CLI

    settings = settings_for(db)
    core = core_for(db)
    try:
        cp = sign(core, Signer.load_or_create(settings.signing_key_path()), CLI)
    finally:
        core.engine.dispose()
    assert cp is not None
    typer.echo(json.dumps(cp.to_doc()))


_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 date-time with its offset ('2031-06-01T08:00:00Z'), as UTC; BadParameter otherwise."""
    text = text.strip()
    if not _RFC3339.match(text):
        raise typer.BadParameter(f"{text!r} is not an RFC 3339 time such as 2031-06-01T08:00:00Z")
    stamp, fraction = text[:19], ""
    rest = text[19:]
    if rest.startswith("."):
        digits = re.match(r"\.(\d+)", rest)
        assert digits is not None
        fraction, rest = "." + digits.group(1)[:6].ljust(6, "0"), rest[digits.end() :]
    offset = "+00:00" if rest in ("Z", "z") else rest
    try:
        return datetime.fromisoformat(stamp.replace("t", "T").replace(" ", "T") + fraction + offset).astimezone(UTC)
    except ValueError as exc:
        raise typer.BadParameter(f"{text!r} is not a valid time: {exc}") from None


class ReportFormat(StrEnum):
    HTML = "html"
    JSON = "json"


def report(
    start: Annotated[
        datetime,
        typer.Option("--from", parser=parse_rfc3339, metavar="RFC3339", help="window start, e.g. 2031-06-01T08:00:00Z"),
    ],
    end: Annotated[
        datetime, typer.Option("--to", parser=parse_rfc3339, metavar="RFC3339", help="window end (inclusive)")
    ],
    party: Annotated[str | None, typer.Option(help="only what this party is party to, as it may see it")] = None,
    out: Annotated[Path | None, typer.Option(help="file to write (default: stdout)")] = None,
    fmt: Annotated[
        ReportFormat, typer.Option("--format", help="html (self-contained page) or json")
    ] = ReportFormat.HTML,
    db: DbOption = None,
) -> None:
    """After-action report of a time window: timeline, notices, answers, messages, conflicts, map, integrity."""
    from deconflict.domain.errors import DomainError
    from deconflict.report_html import render
    from deconflict.services.report import ReportQuery, build

    if start > end:
        fail(f"--from ({start.isoformat()}) is after --to ({end.isoformat()})")
    settings = settings_for(db)
    key_path = Path(settings.signing_key_path())
    public_key = _public_key(settings, None, None) if key_path.exists() else None
    try:
        doc = build(core_for(db), ReportQuery(start, end, party), public_key)
    except DomainError as exc:
        fail(exc.detail)
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n" if fmt is ReportFormat.JSON else render(doc)
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    s = doc["summary"]
    err.print(
        f"report written to {out}: {s['timeline_entries']} timeline entries, {s['notices']} notices "
        f"({s['late_notices']} late, {s['overdue_notices']} overdue), chain head {doc['audit']['head']['seq']}"
    )
