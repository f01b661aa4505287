"""The after-action report as one self-contained HTML page: inline CSS and SVG, no scripts, no network.

Every value from the report goes through `html.escape`. Sections the page has no special view
for (step 3's alerts, say) are shown as a plain table of their scalar fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

from deconflict.report_svg import CONFLICT_COLOUR, map_svg, party_colours
from deconflict.services.report_timeline import fmt_duration

Row = Mapping[str, Any]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1b1b1b;max-width:80rem}
h1{margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}code,.hash{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8rem;word-break:break-all}
tr.late td{background:#fff4d6}tr.overdue td{background:#fde0e0}tr.late.overdue td{background:#fbd3c0}
.flag{display:inline-block;padding:0 .35rem;border-radius:.25rem;font-size:.75rem;font-weight:bold;color:#fff}
.flag.late{background:#b8860b}.flag.overdue{background:#c0392b}.flag.degraded{background:#555}
.ok{color:#1e7e34;font-weight:bold}.bad{color:#c0392b;font-weight:bold}.muted{color:#666}
dl.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.2rem 1rem}
dl.summary dt{font-size:.8rem;color:#555}dl.summary dd{margin:0 0 .5rem;font-size:1.2rem}
svg.map{border:1px solid #ccc;max-width:100%;height:auto}svg .sea{fill:#f7fbff}
svg .op{fill-opacity:.22;stroke-width:1.5}svg .zone{fill-opacity:.12;stroke-width:1.5;stroke-dasharray:6 3}
svg .overlap{fill-opacity:.55;stroke-width:1}svg .scale{stroke:#333;stroke-width:3}
svg .label{font-size:12px;fill:#333}.swatch{display:inline-block;width:.9rem;height:.9rem;margin:0 .3rem 0 1rem}
"""


def _e(value: Any) -> str:
    return "—" if value is None or value == "" else escape(str(value))


def _table(headers: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]) -> str:
    """`rows` are (css class, already-escaped cells)."""
    if not rows:
        return '<p class="muted">None in this window.</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{css}">' + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>" for css, cells in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _flags(row: Row) -> tuple[str, str]:
    css = " ".join(k for k in ("late", "overdue") if row.get(k))
    badges = "".join(f'<span class="flag {k}">{k.upper()}</span> ' for k in ("late", "overdue") if row.get(k))
    if row.get("degraded_channel"):
        badges += '<span class="flag degraded">DEGRADED CHANNEL</span>'
    return css, badges


def _timeline(rows: Sequence[Row]) -> str:
    out = []
    for r in rows:
        css, badges = _flags(r)
        seq = "" if r.get("seq") is None else f'{r["seq"]}<br><span class="hash">{_e(r["entry_hash"][:16])}…</span>'
        out.append((css, [_e(r["at"]), seq, _e(r["category"]), _e(r.get("actor")), _e(r["summary"]), badges]))
    return _table(["time (UTC)", "entry", "kind", "actor", "what happened", "flags"], out)


def _notices(rows: Sequence[Row]) -> str:
    out = []
    for n in rows:
        css, badges = _flags(n)
        needs = fmt_duration(n["required_notice_s"])
        lead = f"{_e(fmt_duration(n['lead_time_s']))}<br><span class='muted'>needs {_e(needs)}</span>"
        response = fmt_duration(n["response_time_s"]) if n["response_time_s"] is not None else "unanswered"
        out.append(
            (
                css,
                [
                    _e(n["sent_at"]),
                    f"{_e(n['from_party'])} → {_e(n['to_party'])}",
                    f"{_e(n['trigger'])} <code>{_e(n['operation_id'][:8])}</code>",
                    lead,
                    _e(n["deadline_at"]),
                    f"{_e(n['status'])}" + (f"<br>{_e(n['reason'])}" if n.get("reason") else ""),
                    f"{_e(response)}<br><span class='muted'>{_e(n['responded_at'])}</span>",
                    _e(n["escalations"]),
                    badges,
                ],
            )
        )
    headers = ["sent (UTC)", "from → to", "notice of", "lead time", "deadline", "answer", "response time"]
    return _table([*headers, "escalations", "flags"], out)


def _messages(rows: Sequence[Row]) -> str:
    out = [
        (
            "",
            [
                _e(m["sent_at"]),
                f"{_e(m['from_party'])} → {_e(m['to_party'])}",
                _e(m["priority"]),
                _e(m["body"]),
                _e(m["delivered_at"]),
                _e(m["read_at"]),
            ],
        )
        for m in rows
    ]
    return _table(["sent (UTC)", "from → to", "priority", "message", "delivered", "read"], out)


def _conflicts(rows: Sequence[Row]) -> str:
    def side(s: Row) -> str:
        return f"{_e(s['party'])} {_e(s['kind'])} <code>{_e(s['id'][:8])}</code> extent {_e(s['extent'])}"

    out = []
    for c in rows:
        window = (
            f"{_e(c['time_start'])} → {_e(c['time_end'])}" if not c["time_gap_s"] else f"gap {c['time_gap_s']:.0f} s"
        )
        band = (
            f"{c['altitude_lower_m']:.0f}–{c['altitude_upper_m']:.0f} m"
            if not c["vertical_gap_m"]
            else f"gap {c['vertical_gap_m']:.0f} m"
        )
        distance = f"{c['horizontal_distance_m']:.0f} m"
        out.append(
            ("", [_e(c["created_at"]), _e(c["cleared_at"]), side(c["mine"]), side(c["theirs"]), window, band, distance])
        )
    return _table(["found (UTC)", "cleared", "one side", "other side", "time overlap", "altitudes", "distance"], out)


def _generic(rows: Sequence[Row]) -> str:
    keys = list(dict.fromkeys(k for r in rows for k, v in r.items() if not isinstance(v, dict | list)))
    return _table(
        keys, [(" ".join(k for k in ("late", "overdue") if r.get(k)), [_e(r.get(k)) for k in keys]) for r in rows]
    )


_VIEWS: dict[str, tuple[str, Callable[[Sequence[Row]], str]]] = {
    "timeline": ("Timeline", _timeline),
    "notices": ("Notices, lead times and answers", _notices),
    "messages": ("Hotline messages", _messages),
    "conflicts": ("Conflicts", _conflicts),
}


def _integrity(audit: Row) -> str:
    v, cp = audit["verification"], audit["checkpoint"]
    if v["ok"]:
        counts = f"{v['entries_checked']} entries, {v['checkpoints_checked']} checkpoints"
        verdict = f'<p class="ok">Chain intact at build time: {counts}.</p>'
    else:
        verdict = f'<p class="bad">Chain NOT intact: {_e(v["problem"])} (first bad entry {_e(v["first_bad_seq"])}).</p>'
    notes = "".join(f'<p class="muted">note: {_e(n)}</p>' for n in v.get("notes", []))
    rows = [("", ["chain head", _e(audit["head"]["seq"]), f'<span class="hash">{_e(audit["head"]["hash"])}</span>'])]
    if cp is None:
        rows.append(("", ["latest checkpoint", "—", "none signed yet"]))
    else:
        detail = (
            f'hash <span class="hash">{_e(cp["head_hash"])}</span><br>signed {_e(cp["at"])} by key '
            f'<span class="hash">{_e(cp["key_id"])}</span><br>signature <span class="hash">{_e(cp["signature"])}</span>'
        )
        rows.append(("", [f"latest checkpoint #{_e(cp['id'])}", _e(cp["head_seq"]), detail]))
        rows.append(("", ["entries after it", _e(audit["entries_after_checkpoint"]), ""]))
    if audit.get("public_key"):
        rows.append(("", ["service public key", "", f'<span class="hash">{_e(audit["public_key"])}</span>']))
    return verdict + notes + _table(["", "seq", "value"], rows)


def render(report: Row) -> str:
    party = report["party"]
    audience = f"as seen by {_e(party['name'])}" if party else "all parties"
    colours = party_colours(report["parties"].values())
    legend = "".join(f'<span class="swatch" style="background:{c}"></span>{_e(n)}' for n, c in colours.items())
    legend += f'<span class="swatch" style="background:{CONFLICT_COLOUR}"></span>conflict overlap'
    summary = "".join(
        f"<dt>{escape(k.replace('_', ' '))}</dt><dd>{_e(fmt_duration(v) if k.endswith('_s') else v)}</dd>"
        for k, v in report["summary"].items()
    )
    sections = [s for s in _VIEWS if s in report["sections"]] + [s for s in report["sections"] if s not in _VIEWS]
    body = []
    for name in sections:
        title, view = _VIEWS.get(name, (name.replace("_", " ").capitalize(), _generic))
        body.append(f'<section id="{escape(name)}"><h2>{escape(title)}</h2>{view(report.get(name, []))}</section>')
    window = report["window"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>After-action report {_e(window["from"])} – {_e(window["to"])}</title>
<style>{_CSS}</style></head><body>
<h1>After-action report</h1>
<p>{_e(window["from"])} to {_e(window["to"])} (UTC), {audience}. Built {_e(report["generated_at"])}.
Report digest <span class="hash">{_e(report["digest"])}</span> ({_e(report["format"])}).</p>
<p class="muted">Highlighted: <span class="flag late">LATE</span> notice given with less lead time than the agreement
requires; <span class="flag overdue">OVERDUE</span> answer not given by its deadline.</p>
<section id="integrity"><h2>Integrity</h2>{_integrity(report["audit"])}</section>
<section id="summary"><h2>Summary</h2><dl class="summary">{summary}</dl></section>
<section id="map"><h2>Map of the volumes involved</h2>{map_svg(report, colours)}<p>{legend}</p></section>
{"".join(body)}
</body></html>
"""
