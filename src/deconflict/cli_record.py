"""`deconflict audit ...`: verify and export the tamper-evident record, sign a checkpoint."""

from __future__ import annotations

import json
import sys
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
    verdict = run_verify(core_for(db), pk, kept)
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
    core = core_for(db)
    if out is None:
        n = export_jsonl(core, sys.stdout)
    else:
        with out.open("w") as f:
            n = export_jsonl(core, f)
    err.print(f"{n} lines written")


@audit_app.command("checkpoint")
def checkpoint(db: DbOption = None) -> None:
    """Sign the current chain head with the service's key now; prints the checkpoint."""
    from deconflict.services.audit import Signer
    from deconflict.services.audit import checkpoint as sign
    from deconflict.services.core import CLI

    settings = settings_for(db)
    cp = sign(core_for(db), Signer.load_or_create(settings.signing_key_path()), CLI)
    assert cp is not None
    typer.echo(json.dumps(cp.to_doc()))
