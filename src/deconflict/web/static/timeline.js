// The picture in time and height: everything filed that is not over, the whole next 24 h, or one moment
// from now to 24 h ahead (the moment keeps its distance from "now", which follows the server clock),
// and an altitude band. A strip above the
// slider shows when own activity, counterparts' activity and conflicts happen.
import { FT_PER_M, altitudeM, flightLevel, localTime, utcDateTime } from "./format.js";

const $ = (id) => document.getElementById(id);
export const HORIZON_MS = 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;
const ROWS = ["own", "counterpart", "conflict"];

/** Milliseconds from an API time ({value}) or an ISO string; null (open-ended) stays null. */
const ms = (t) => (t === null || t === undefined ? null : Date.parse(t.value ?? t));

export class Timeline {
  /** `now()` gives the server's time; `onChange()` is called when what is shown should change. */
  constructor({ now, onChange }) {
    Object.assign(this, { now, onChange });
    this.mode = "day"; // "filed": all not yet over; "day": the next 24 h; "moment": now + the slider
    this.slider = $("t-slider");
    this.slider.max = String(HORIZON_MS / 60_000);
    $("t-filed").addEventListener("click", () => this.set({ mode: "filed" }));
    $("t-all").addEventListener("click", () => this.set({ mode: "day" }));
    $("t-now").addEventListener("click", () => this.set({ mode: "moment", aheadMin: 0 }));
    this.slider.addEventListener("input", () => this.set({ mode: "moment", aheadMin: Number(this.slider.value) }));
    for (const id of ["f-lower", "f-upper", "f-units"]) $(id).addEventListener("input", () => this.set({}));
    this.items = [];
    this.show();
  }

  set({ mode = this.mode, aheadMin = Number(this.slider.value) }) {
    this.mode = mode;
    this.slider.value = String(aheadMin);
    this.show();
    this.onChange();
  }

  /** The moment shown (ms), or null when a span is. */
  moment() {
    return this.mode === "moment" ? this.now().getTime() + Number(this.slider.value) * 60_000 : null;
  }

  /** Whether something active from `start` to `end` (API times or ISO strings; null: open-ended) is shown. */
  showsTime(start, end) {
    const from = ms(start) ?? Number.NEGATIVE_INFINITY;
    const to = ms(end) ?? Number.POSITIVE_INFINITY;
    const at = this.moment();
    if (at !== null) return from <= at && at < to;
    const nowMs = this.now().getTime();
    return to > nowMs && (this.mode === "filed" || from < nowMs + HORIZON_MS);
  }

  /** The altitude filter in metres: [lower, upper], either side null when left empty. */
  band() {
    const k = $("f-units").value === "FT" ? 1 / FT_PER_M : 1;
    const read = (id) => ($(id).value.trim() === "" ? null : Number($(id).value) * k);
    return [read("f-lower"), read("f-upper")];
  }

  showsBand(lowerM, upperM) {
    const [lower, upper] = this.band();
    return (lower === null || upperM >= lower) && (upper === null || lowerM <= upper);
  }

  /** Whether an API Volume4D (an extent, a zone's volume) is in the picture. */
  showsVolume(volume4d) {
    const v = volume4d.volume;
    return this.showsTime(volume4d.time_start, volume4d.time_end) && this.showsBand(altitudeM(v.altitude_lower), altitudeM(v.altitude_upper));
  }

  /** Whether a conflict (its `span`) is in the picture. */
  showsConflict(span) {
    return this.showsTime(span.start, span.end) && this.showsBand(span.lowerM, span.upperM);
  }

  /** What the strip shows: [{row: own|counterpart|conflict, start, end, label}] (see `activity`); only
   * those in the altitude band are drawn. */
  setItems(items) {
    this.items = items;
    this.drawStrip();
  }

  /** The labels, and the strip, for the current time and filter (called every few seconds, too). */
  show() {
    const at = this.moment();
    $("t-filed").setAttribute("aria-pressed", String(this.mode === "filed"));
    $("t-all").setAttribute("aria-pressed", String(this.mode === "day"));
    const label = $("t-at");
    if (at === null) {
      const nowIso = this.now().toISOString();
      const from = utcDateTime(nowIso);
      label.textContent = this.mode === "filed" ? `All filed, from ${from} on` : `All, ${from} → +24 h`;
      label.title = localTime(nowIso);
    } else {
      const iso = new Date(at).toISOString();
      const ahead = Number(this.slider.value);
      label.textContent = `${utcDateTime(iso)} (now + ${Math.floor(ahead / 60)} h ${String(ahead % 60).padStart(2, "0")} min)`;
      label.title = localTime(iso);
    }
    this.slider.setAttribute("aria-valuetext", label.textContent);
    const [lower, upper] = this.band();
    const side = (m, open) => (m === null ? open : `${flightLevel(m * FT_PER_M)} / ${Math.round(m)} m`);
    $("f-both").textContent =
      lower === null && upper === null ? "all altitudes" : `${side(lower, "ground")} – ${side(upper, "no limit")}`;
    this.drawStrip();
  }

  drawStrip() {
    const nowMs = this.now().getTime();
    const x = (t) => `${(100 * (Math.min(Math.max(t, nowMs), nowMs + HORIZON_MS) - nowMs)) / HORIZON_MS}%`;
    const rows = ROWS.map((row) => {
      const div = document.createElement("div");
      div.className = `strip-row ${row}`;
      for (const item of this.items.filter((i) => i.row === row && this.showsBand(i.lowerM, i.upperM))) {
        const from = ms(item.start) ?? nowMs;
        const to = ms(item.end) ?? nowMs + HORIZON_MS;
        if (to <= nowMs || from >= nowMs + HORIZON_MS) continue;
        const bar = document.createElement("span");
        bar.className = "bar";
        bar.style.left = x(from);
        bar.style.width = `calc(${x(to)} - ${x(from)})`;
        bar.title = item.label;
        div.append(bar);
      }
      return div;
    });
    const ticks = [];
    for (let t = Math.ceil(nowMs / (3 * HOUR_MS)) * 3 * HOUR_MS; t < nowMs + HORIZON_MS; t += 3 * HOUR_MS) {
      const tick = document.createElement("span");
      tick.className = "tick";
      tick.style.left = x(t);
      tick.textContent = `${new Date(t).toISOString().slice(11, 13)}Z`;
      ticks.push(tick);
    }
    const at = this.moment();
    const cursor = document.createElement("span");
    cursor.className = "cursor";
    cursor.hidden = at === null;
    if (at !== null) cursor.style.left = x(at);
    $("t-strip").replaceChildren(...rows, ...ticks, cursor);
  }
}

/** When and at what heights a conflict matters: its overlapping window and band, or, when the two sides
 * conflict only through the agreed time or vertical buffer (no overlap: the API gives no window, and a
 * band whose lower end is above its upper end), from the earlier side's start to the later side's end
 * and across the gap. `extentOf(side)` finds a side's Volume4D ({kind, id, extent}) or returns null. */
export function conflictSpan(c, extentOf) {
  const band = [Math.min(c.altitude_lower_m, c.altitude_upper_m), Math.max(c.altitude_lower_m, c.altitude_upper_m)];
  let [start, end] = [c.time_start, c.time_end];
  if (start === null || end === null) {
    const sides = [extentOf(c.mine), extentOf(c.theirs)];
    const known = sides.filter(Boolean);
    const starts = known.map((v) => v.time_start?.value).filter(Boolean).sort();
    const ends = known.map((v) => v.time_end?.value).filter(Boolean).sort();
    // A side open-ended in time (a zone) leaves that end open; an unknown side, both.
    start = known.length === 2 && starts.length === 2 ? starts[0] : null;
    end = known.length === 2 && ends.length === 2 ? ends[1] : null;
  }
  return { start, end, lowerM: band[0], upperM: band[1] };
}

/** The strip's items: every extent of the operations (own or counterpart) and every conflict (`spans`:
 * each conflict's `conflictSpan`, in the same order). */
export function activity(operations, conflicts, spans, me, names) {
  return [
    ...operations.flatMap((op) =>
      op.extents.map((e) => ({
        row: op.party_id === me.party_id ? "own" : "counterpart",
        start: e.time_start,
        end: e.time_end,
        lowerM: altitudeM(e.volume.altitude_lower),
        upperM: altitudeM(e.volume.altitude_upper),
        label: `${names.get(op.party_id) ?? "counterpart"} ${op.id.slice(0, 8)} (${op.state})`,
      })),
    ),
    ...conflicts.map((c, i) => ({
      row: "conflict",
      ...spans[i],
      label: `conflict ${c.mine.id.slice(0, 8)} × ${c.theirs.id.slice(0, 8)}`,
    })),
  ];
}
