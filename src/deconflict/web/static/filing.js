// Filing an operation: draw its outline, set the altitude band and the time window (UTC), check it
// (dry run: the conflicts it would meet, their overlaps on the map), then file it.
/* global L */
import { Problem, get, post } from "./api.js";
import { Drawing } from "./draw.js";
import { FT_PER_M, band, distance, localTime, utcDateTime } from "./format.js";
import { conflictsLayer } from "./volumes.js";

const $ = (id) => document.getElementById(id);
const MARGIN_S = 300; // the default start: the agreed minimum notice plus five minutes from now
const DURATION_S = 3600;

const UTC_INPUT = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(:\d{2})?Z?$/;

/** "2026-11-25 08:20" (UTC) from a Date, and back (an invalid Date when it does not read so). */
const toInput = (date) => date.toISOString().slice(0, 16).replace("T", " ");
function fromInput(value) {
  const m = UTC_INPUT.exec(value.trim());
  return m ? new Date(`${m[1]}T${m[2]}${m[3] ?? ":00"}Z`) : new Date(Number.NaN);
}

export class Filing {
  constructor(map, group, { now, names, onFiled, onProblem }) {
    Object.assign(this, { map, group, now, names, onFiled, onProblem });
    this.outline = null;
    this.form = $("op-form");
    $("new-op").addEventListener("click", () => this.open());
    $("op-close").addEventListener("click", () => this.close());
    $("draw-polygon").addEventListener("click", () => this.draw("polygon"));
    $("draw-circle").addEventListener("click", () => this.draw("circle"));
    $("op-check").addEventListener("click", () => this.check());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.file();
    });
    for (const id of ["alt-lower", "alt-upper", "alt-units"]) $(id).addEventListener("input", () => this.showBand());
    for (const id of ["t-start", "t-end"]) $(id).addEventListener("input", () => this.showLocal(id));
  }

  async open() {
    this.form.hidden = false;
    $("new-op").hidden = true;
    $("op-done").textContent = "";
    this.say("");
    let minNoticeS = 0;
    try {
      const agreements = await get("/agreements");
      minNoticeS = Math.max(0, ...agreements.filter((a) => a.state === "active").map((a) => a.min_notice_s));
    } catch (error) {
      this.onProblem(error);
    }
    const start = new Date(this.now().getTime() + (minNoticeS + MARGIN_S) * 1000);
    $("t-start").value = toInput(start);
    $("t-end").value = toInput(new Date(start.getTime() + DURATION_S * 1000));
    this.showLocal("t-start");
    this.showLocal("t-end");
    $("notice-hint").textContent = `Agreed minimum notice: ${Math.round(minNoticeS / 60)} min.`;
    this.showBand();
    // Only if the user has not moved on meanwhile (the agreements arrive after the form is shown).
    if (!this.form.contains(document.activeElement)) $("draw-polygon").focus();
  }

  close() {
    this.drawing?.end(null);
    this.form.hidden = true;
    $("new-op").hidden = false;
    this.outline = null;
    this.shapeLayer?.remove();
    this.group.clearLayers();
    $("op-conflicts").replaceChildren();
    $("shape").textContent = "Nothing drawn yet.";
    $("new-op").focus();
  }

  draw(shape) {
    this.drawing?.end(null);
    this.say("");
    $("shape").textContent =
      shape === "circle"
        ? "Click the centre on the map, then a point on the edge (Escape to stop; on the focused map, arrows pan and Space places a point)."
        : "Click each corner on the map; double-click or Enter ends it (Escape to stop; on the focused map, arrows pan and Space places a point).";
    this.drawing = new Drawing(this.map, shape, (outline) => {
      this.drawing = null;
      if (outline) this.setOutline(outline);
      else $("shape").textContent = this.outline ? this.describe() : "Nothing drawn yet.";
    });
  }

  setOutline(outline) {
    this.outline = outline;
    this.shapeLayer?.remove();
    const style = { pane: this.group.options.pane, color: "#38bdf8", weight: 3, fillOpacity: 0.2, className: "draft", interactive: false };
    const c = outline.outline_circle;
    this.shapeLayer = c
      ? L.circle([c.center.lat, c.center.lng], { radius: c.radius.value, ...style })
      : L.polygon(outline.outline_polygon.vertices.map((p) => [p.lat, p.lng]), style);
    this.shapeLayer.addTo(this.map);
    this.group.clearLayers();
    $("op-conflicts").replaceChildren();
    $("shape").textContent = this.describe();
  }

  describe() {
    const c = this.outline.outline_circle;
    if (c) return `Circle, radius ${distance(c.radius.value)}.`;
    return `Polygon of ${this.outline.outline_polygon.vertices.length} corners.`;
  }

  showLocal(id) {
    const when = fromInput($(id).value);
    $(id).title = Number.isNaN(when.getTime()) ? "YYYY-MM-DD HH:MM, UTC" : localTime(when.toISOString());
  }

  /** The altitude band in metres, whichever unit was typed. */
  metres() {
    const k = $("alt-units").value === "FT" ? 1 / FT_PER_M : 1;
    return [Number($("alt-lower").value) * k, Number($("alt-upper").value) * k];
  }

  showBand() {
    const [lower, upper] = this.metres();
    $("alt-both").textContent = Number.isFinite(lower + upper) ? band(lower, upper) : "";
  }

  /** The Volume4D the API takes, or null (and a message) when something is missing. */
  extent() {
    if (!this.outline) {
      this.say("Draw the area first.", "draw-polygon");
      return null;
    }
    const units = $("alt-units").value;
    const start = fromInput($("t-start").value);
    const end = fromInput($("t-end").value);
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) {
      this.say("Times read YYYY-MM-DD HH:MM (UTC).", Number.isNaN(start.getTime()) ? "t-start" : "t-end");
      return null;
    }
    return {
      volume: {
        ...this.outline,
        altitude_lower: { value: Number($("alt-lower").value), reference: "W84", units },
        altitude_upper: { value: Number($("alt-upper").value), reference: "W84", units },
      },
      time_start: { value: start.toISOString(), format: "RFC3339" },
      time_end: { value: end.toISOString(), format: "RFC3339" },
    };
  }

  async check() {
    const extent = this.extent();
    if (!extent) return;
    this.say("");
    try {
      const result = await post("/operations/check", { extents: [extent] });
      this.showConflicts(result.conflicts);
      const late = result.notice_error ?? (result.late_notice.length ? "Later than the agreed minimum notice." : "");
      $("op-done").textContent = late || (result.conflicts.length ? "" : "No conflicts.");
    } catch (error) {
      this.refused(error);
    }
  }

  async file() {
    const extent = this.extent();
    if (!extent) return;
    this.say("");
    $("op-file").disabled = true;
    try {
      const filed = await post("/operations", { extents: [extent] });
      const n = filed.conflicts.length;
      this.close();
      const id = filed.operation.id.slice(0, 8);
      $("op-done").textContent = `Filed operation ${id} (${filed.operation.state}); ${n} conflict${n === 1 ? "" : "s"}.`;
      this.onFiled();
    } catch (error) {
      this.refused(error);
    } finally {
      $("op-file").disabled = false;
    }
  }

  showConflicts(conflicts) {
    conflictsLayer(this.group, conflicts, { className: "draft-conflict" });
    const items = conflicts.map((c) => {
      const li = document.createElement("li");
      const who = this.names.get(c.theirs.party_id) ?? "counterpart";
      const when = c.time_start ? `${utcDateTime(c.time_start)} → ${utcDateTime(c.time_end)}` : "";
      li.textContent = `${who} ${c.theirs.kind} ${c.theirs.id.slice(0, 8)}: ${when}, ${band(c.altitude_lower_m, c.altitude_upper_m)}`;
      return li;
    });
    $("op-conflicts").replaceChildren(...items);
    $("op-conflicts-title").hidden = !conflicts.length;
  }

  refused(error) {
    if (!(error instanceof Problem)) return this.onProblem(error);
    const key = (error.field ?? "").split(".").find((part) => part in FIELD_INPUT);
    this.say(error.text, FIELD_INPUT[key]);
  }

  /** A message next to the form, the input it concerns marked. */
  say(text, inputId) {
    $("op-error").textContent = text;
    for (const input of this.form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    if (inputId) $(inputId).setAttribute("aria-invalid", "true");
  }
}

/** Which input an API `field` path ends in. */
const FIELD_INPUT = {
  altitude_lower: "alt-lower",
  altitude_upper: "alt-upper",
  time_start: "t-start",
  time_end: "t-end",
};
