"""Command line: a thin shell over the same services the API uses.

Secrets a script needs (tokens) go to stdout alone; everything for people goes to stderr.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from deconflict.cli_common import DbOption, core_for, err, fail, settings_for
from deconflict.cli_live import feed_app, replay
from deconflict.cli_record import audit_app, report
from deconflict.domain.errors import DomainError
from deconflict.domain.parties import Role

app = typer.Typer(help="deconflict: multi-party airspace deconfliction service.", no_args_is_help=True)
party_app = typer.Typer(help="Manage parties.", no_args_is_help=True)
token_app = typer.Typer(help="Issue and revoke tokens.", no_args_is_help=True)
agreement_app = typer.Typer(help="Manage agreements between parties.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(party_app, name="party")
app.add_typer(token_app, name="token")
app.add_typer(agreement_app, name="agreement")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.command("report")(report)
app.add_typer(feed_app, name="feed")
app.command("replay")(replay)

#: Seconds a stopping server waits for open connections (streams) before closing them.
GRACE_S = 5

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration_s(text: str) -> float:
    """'30m', '1h30m', '90s', '45' (seconds) -> seconds."""
    text = text.strip().lower()
    try:
        return float(text)
    except ValueError:
        pass
    m = _DURATION.match(text)
    if not text or m is None or not any(m.groups()):
        raise typer.BadParameter(f"{text!r} is not a duration like 30m, 1h30m, 90s")
    h, mins, s = (float(g) if g else 0.0 for g in m.groups())
    return h * 3600 + mins * 60 + s


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    dev: Annotated[bool, typer.Option(help="development mode: allow weak secrets")] = False,
    replay_mode: Annotated[
        bool,
        typer.Option("--replay", help="replay mode: the clock follows replayed reports (exercises, analysis)"),
    ] = False,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs)."""
    import uvicorn

    from deconflict.api.app import create_app

    settings = settings_for(db)
    settings = settings.model_copy(update={"dev": dev, "replay": replay_mode or settings.replay})
    try:
        application = create_app(settings)
    except ValueError as exc:
        fail(str(exc))
    err.print(f"deconflict serving on http://{host}:{port}  (database: {settings.database_url})")
    # Event streams never end by themselves: give open connections a few seconds, then stop anyway.
    uvicorn.run(application, host=host, port=port, log_level="info", timeout_graceful_shutdown=GRACE_S)


@party_app.command("add")
def party_add(
    name: Annotated[str, typer.Argument(help="the party's name, e.g. 'Blue Air Force'")],
    role: Annotated[Role, typer.Option(help="role of the first token")] = Role.SUPERVISOR,
    db: DbOption = None,
) -> None:
    """Create a party; prints only its new token on stdout."""
    from deconflict.services.parties import create_party

    try:
        party, token = create_party(core_for(db), name, role)
    except DomainError as exc:
        fail(exc.detail)
    err.print(f"created party {party.name!r} ({party.id}) with a {role.value} token")
    typer.echo(token)


@party_app.command("list")
def party_list(db: DbOption = None) -> None:
    """List parties."""
    core = core_for(db)
    with core.read() as repo:
        for p in repo.parties():
            typer.echo(f"{p.id}\t{p.name}")


@token_app.command("add")
def token_add(
    role: Annotated[Role, typer.Option(help="operator, supervisor, observer or admin")],
    party: Annotated[str | None, typer.Option(help="party name (omit for an admin token)")] = None,
    label: Annotated[str, typer.Option(help="free label, e.g. who holds it")] = "",
    db: DbOption = None,
) -> None:
    """Issue a token; prints only the token on stdout."""
    from deconflict.services.parties import issue_token

    try:
        token_id, token = issue_token(core_for(db), party, role, label)
    except DomainError as exc:
        fail(exc.detail)
    err.print(f"issued {role.value} token {token_id}")
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(token_id: str, db: DbOption = None) -> None:
    """Revoke a token by id."""
    from deconflict.services.parties import revoke_token

    try:
        revoke_token(core_for(db), token_id)
    except DomainError as exc:
        fail(exc.detail)
    err.print(f"revoked {token_id}")


@agreement_app.command("add")
def agreement_add(
    parties: Annotated[list[str], typer.Argument(help="two or more party names")],
    name: Annotated[str, typer.Option(help="agreement name")] = "",
    min_notice: Annotated[str, typer.Option(help="minimum notice, e.g. 30m, 2h")] = "30m",
    lateral_buffer: Annotated[float, typer.Option(help="lateral buffer (m)")] = 1852.0,
    vertical_buffer: Annotated[float, typer.Option(help="vertical buffer (m)")] = 152.4,
    time_buffer: Annotated[float, typer.Option(help="time buffer (s)")] = 300.0,
    late_policy: Annotated[str, typer.Option(help="reject or flag")] = "reject",
    ack_deadline: Annotated[str, typer.Option(help="time to answer a notice, e.g. 10m")] = "10m",
    require_ack: Annotated[bool, typer.Option(help="activation waits for every counterpart's acknowledgement")] = True,
    escalation_interval: Annotated[str, typer.Option(help="repeat of an unanswered notice's escalation")] = "5m",
    tactical_lateral: Annotated[float, typer.Option(help="live separation minimum, lateral (m)")] = 9260.0,
    tactical_vertical: Annotated[float, typer.Option(help="live separation minimum, vertical (m)")] = 304.8,
    lookahead: Annotated[str, typer.Option(help="how far ahead live conflicts are predicted, e.g. 5m")] = "5m",
    share_track_identity: Annotated[
        bool, typer.Option(help="counterparts see aircraft ids and callsigns of tracks (else an alias)")
    ] = False,
    db: DbOption = None,
) -> None:
    """Bind parties by an agreement (active at once); prints the agreement id."""
    from deconflict.domain.agreements import Buffers, HotlineRules, LatePolicy, LiveRules
    from deconflict.services.agreements import AgreementDraft, create_agreement

    if late_policy not in ("reject", "flag"):
        fail(f"--late-policy must be 'reject' or 'flag', not {late_policy!r}")
    draft = AgreementDraft(
        name=name,
        party_names=tuple(parties),
        area=None,
        min_notice_s=parse_duration_s(min_notice),
        buffers=Buffers(lateral_buffer, vertical_buffer, time_buffer),
        late_policy=LatePolicy(late_policy),
        hotline=HotlineRules(parse_duration_s(ack_deadline), require_ack, parse_duration_s(escalation_interval)),
        live=LiveRules(tactical_lateral, tactical_vertical, parse_duration_s(lookahead), share_track_identity),
    )
    from deconflict.services.core import CLI

    try:
        record = create_agreement(core_for(db), CLI, draft)
    except DomainError as exc:
        fail(exc.detail)
    err.print(f"agreement {record.agreement.name!r} between {', '.join(parties)} is active")
    typer.echo(record.agreement.id)


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Apply database migrations."""
    core_for(db)
    err.print("database is up to date")


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    db: Annotated[Path, typer.Option(help="SQLite file for the demo (recreated)")] = Path("deconflict-demo.db"),
) -> None:
    """Start the server with a seeded two-party scenario and print how to try it."""
    import uvicorn

    from deconflict.api.app import build_core, create_app
    from deconflict.demo import seed
    from deconflict.demo_flights import DemoFlights

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    settings = settings_for(f"sqlite:///{db}")
    core = build_core(settings)
    with err.status("seeding the demo scenario"):
        seeded = seed(core)
    base = f"http://{host}:{port}"
    err.print(f"[bold]deconflict demo[/] on {base}  (database {db})")
    err.print(f"  console:   {base}/   (sign in with the BLUE or RED token below)")
    err.print(f"  API docs:  {base}/docs     health: {base}/healthz")
    err.print(f"  {seeded.conflicts_filed} conflicts were reported while seeding")
    err.print(
        f"  hotline: {seeded.notices_sent} notices, {seeded.acknowledged} acknowledged, "
        f"{seeded.objections} objection, {seeded.unanswered} unanswered past its deadline (escalated at start)"
    )
    err.print("  tokens (export them to try the README walkthrough):")
    typer.echo(f"export BLUE={seeded.blue_token}")
    typer.echo(f"export RED={seeded.red_token}")
    typer.echo(f"export ADMIN={seeded.admin_token}")
    err.print(f'  try:  curl -s -H "Authorization: Bearer $RED" {base}/api/v1/conflicts')
    err.print(
        "  live: simulated aircraft report every second; within a minute both parties see a predicted loss of "
        f"separation, a zone intrusion and a non-conforming aircraft: {base}/api/v1/alerts"
    )
    DemoFlights(core, seeded.blue, seeded.red).start()
    uvicorn.run(
        create_app(settings, core=core), host=host, port=port, log_level="warning", timeout_graceful_shutdown=GRACE_S
    )


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection of volumes", exists=True, dir_okay=False)],
    server: Annotated[str, typer.Option(help="server URL, e.g. http://127.0.0.1:8000")],
    token: Annotated[str, typer.Option(help="party token", envvar="DECONFLICT_TOKEN")],
) -> None:
    """Dry-run check of the volumes in a GeoJSON file; exit 0 if clear, 3 if conflicts, 2 on errors."""
    from deconflict.geojson import GeoJSONError, extents_from_geojson

    try:
        extents = extents_from_geojson(json.loads(file.read_text()))
    except (GeoJSONError, json.JSONDecodeError) as exc:
        fail(f"{file}: {exc}")
    try:
        response = httpx.post(
            f"{server.rstrip('/')}/api/v1/operations/check",
            json={"extents": extents},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
    except httpx.HTTPError as exc:
        fail(f"cannot reach {server}: {exc}")
    if response.status_code != 200:
        problem = response.json() if response.headers.get("content-type", "").endswith("json") else {}
        where = f" ({problem['field']})" if problem.get("field") else ""
        fail(f"server refused the check: {problem.get('detail', response.text)}{where}")
    result = response.json()
    _print_check(result)
    raise typer.Exit(3 if result["conflicts"] else 0)


def _print_check(result: dict[str, Any]) -> None:
    out = Console()
    if result.get("notice_error"):
        out.print(f"[yellow]notice:[/] {result['notice_error']}")
    if not result["conflicts"]:
        out.print("[green]no conflicts[/]")
        return
    table = Table(title=f"{len(result['conflicts'])} conflict(s)")
    for col in ("extent", "with", "party", "window (UTC)", "band (m)", "distance (m)"):
        table.add_column(col)
    for c in result["conflicts"]:
        window = (
            f"{c['time_start'] or '…'} → {c['time_end'] or '…'}"
            if c["time_gap_s"] == 0
            else f"gap {c['time_gap_s']:.0f} s"
        )
        band = (
            f"{c['altitude_lower_m']:.0f}–{c['altitude_upper_m']:.0f}"
            if c["vertical_gap_m"] == 0
            else f"gap {c['vertical_gap_m']:.0f}"
        )
        table.add_row(
            str(c["mine"]["extent"]),
            f"{c['theirs']['kind']} {c['theirs']['id'][:8]}",
            c["theirs"]["party_id"][:8],
            window,
            band,
            f"{c['horizontal_distance_m']:.1f}",
        )
    out.print(table)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
