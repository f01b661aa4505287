// Filing an operation: draw its outline, set the altitude band and the time window (UTC), check it
// (dry run: the conflicts it would meet, their overlaps on the map), then file it. Editing one extent of
// a filed operation uses the same form and sends the version it was opened at (changed since: refused).
/* global L */
import { Problem, get, post, put } from "./api.js";
import { Drawing, corridorLayer } from "./draw.js";
import { FT_PER_M, altitudeM, band, distance, localTime, utcDateTime } from "./format.js";
import { conflictsLayer } from "./volumes.js";

const $ = (id) => document.getElementById(id);
const MARGIN_S = 300; // the default start: the agreed minimum notice plus five minutes from now
const DURATION_S = 3600;
const MAP_WAIT_MS = 2000; // how long a confirmation waits for the map to show the filing

const UTC_INPUT = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(:\d{2})?Z?$/;

/** "2026-11-25 08:20" (UTC) from a Date, and back (an invalid Date when it does not read so). */
const toInput = (date) => date.toISOString().slice(0, date.getUTCSeconds() ? 19 : 16).replace("T", " ");
const NM_M = 1852;
/** "BLUE11, BLUE12" -> ["BLUE11", "BLUE12"] */
const list = (value) => value.split(/[\s,;]+/).filter(Boolean);
function fromInput(value) {
  const m = UTC_INPUT.exec(value.trim());
  return m ? new Date(`${m[1]}T${m[2]}${m[3] ?? ":00"}Z`) : new Date(Number.NaN);
}

export class Filing {
  constructor(map, group, { now, names, onFiled, onProblem }) {
    Object.assign(this, { map, group, now, names, onFiled, onProblem });
    this.outline = null;
    this.editing = null; // { op, index }: the operation, and which of its extents the form holds
    this.form = $("op-form");
    $("new-op").addEventListener("click", () => this.open());
    $("op-close").addEventListener("click", () => this.close());
    for (const shape of ["polygon", "circle", "corridor"]) $(`draw-${shape}`).addEventListener("click", () => this.draw(shape));
    for (const id of ["half-width", "half-width-units"]) $(id).addEventListener("input", () => this.outline && this.setOutline(this.outline));
    $("op-check").addEventListener("click", () => this.check());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.file();
    });
    for (const id of ["alt-lower", "alt-upper", "alt-units"]) $(id).addEventListener("input", () => this.showBand());
    for (const id of ["t-start", "t-end"]) $(id).addEventListener("input", () => this.showLocal(id));
  }

  /** The form for a new operation. */
  async open() {
    this.show(null);
    for (const id of ["op-callsigns", "op-aircraft", "op-purpose"]) $(id).value = "";
    const minNoticeS = await this.minNoticeS();
    const start = new Date(this.now().getTime() + (minNoticeS + MARGIN_S) * 1000);
    this.setTimes(start, new Date(start.getTime() + DURATION_S * 1000));
    // Only if the user has not moved on meanwhile (the agreements arrive after the form is shown).
    if (!this.form.contains(document.activeElement)) $("draw-polygon").focus();
  }

  /** The form holding extent `index` of own operation `op`, as now stored (the other extents stay as they are). */
  async edit(drawn, index) {
    let op = drawn;
    try {
      op = await get(`/operations/${drawn.id}`); // the map may be a moment behind
    } catch (error) {
      this.onProblem(error);
    }
    this.show({ op, index });
    const extent = op.extents[index];
    const v = extent.volume;
    const { outline_circle, outline_polygon } = v;
    this.setOutline(outline_circle ? { outline_circle } : { outline_polygon });
    $("alt-units").value = "M";
    $("alt-lower").value = String(altitudeM(v.altitude_lower));
    $("alt-upper").value = String(altitudeM(v.altitude_upper));
    this.setTimes(new Date(extent.time_start.value), new Date(extent.time_end.value));
    // What the form showed of the extent: a field left as it was sends the stored value back exactly, so
    // that an extent the officer did not change is not judged again (notice, end in the past).
    this.loaded = { extent, outline: this.outline, ...this.fields() };
    $("op-callsigns").value = op.private.callsigns.join(", ");
    $("op-aircraft").value = op.private.aircraft_ids.join(", ");
    $("op-purpose").value = op.private.purpose ?? "";
    await this.minNoticeS();
    if (!this.form.contains(document.activeElement)) $("t-start").focus();
  }

  /** The form's time and altitude fields, as typed. */
  fields() {
    const ids = { lower: "alt-lower", upper: "alt-upper", units: "alt-units", start: "t-start", end: "t-end" };
    return Object.fromEntries(Object.entries(ids).map(([k, id]) => [k, $(id).value]));
  }

  show(editing) {
    this.editing = editing;
    this.loaded = null;
    this.close(false);
    this.form.hidden = false;
    $("new-op").hidden = true;
    $("op-done").textContent = "";
    this.say("");
    const { op, index } = editing ?? {};
    $("op-form-title").textContent = editing
      ? `Edit operation ${op.id.slice(0, 8)} (${op.state}), extent ${index + 1} of ${op.extents.length}`
      : "New operation";
    $("op-file").textContent = editing ? "Save" : "File";
    this.showBand();
  }

  setTimes(start, end) {
    $("t-start").value = toInput(start);
    $("t-end").value = toInput(end);
    this.showLocal("t-start");
    this.showLocal("t-end");
  }

  /** The longest agreed minimum notice of the party's active agreements (also shown on the form). */
  async minNoticeS() {
    let minNoticeS = 0;
    try {
      const agreements = await get("/agreements");
      minNoticeS = Math.max(0, ...agreements.filter((a) => a.state === "active").map((a) => a.min_notice_s));
    } catch (error) {
      this.onProblem(error);
    }
    $("notice-hint").textContent = `Agreed minimum notice: ${Math.round(minNoticeS / 60)} min.`;
    return minNoticeS;
  }

  close(hide = true) {
    this.drawing?.end(null);
    this.outline = null;
    this.shapeLayer?.remove();
    this.group.clearLayers();
    $("op-conflicts").replaceChildren();
    $("op-conflicts-title").hidden = true;
    $("shape").textContent = "Nothing drawn yet.";
    if (!hide) return;
    this.editing = null;
    this.form.hidden = true;
    $("new-op").hidden = false;
    $("new-op").focus();
  }

  draw(shape) {
    this.drawing?.end(null);
    this.say("");
    const how = {
      circle: "Click the centre on the map, then a point on the edge",
      polygon: "Click each corner on the map; double-click or Enter ends it",
      corridor: "Click each point of the centre line on the map; double-click or Enter ends it",
    }[shape];
    $("shape").textContent = `${how} (Escape to stop; on the focused map, arrows pan and Space places a point).`;
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
    if (c) this.shapeLayer = L.circle([c.center.lat, c.center.lng], { radius: c.radius.value, ...style });
    else if (outline.outline_corridor) this.shapeLayer = corridorLayer(outline.outline_corridor.path, this.halfWidthM(), style);
    else this.shapeLayer = L.polygon(outline.outline_polygon.vertices.map((p) => [p.lat, p.lng]), style);
    this.shapeLayer.addTo(this.map);
    this.group.clearLayers();
    $("op-conflicts").replaceChildren();
    $("shape").textContent = this.describe();
  }

  describe() {
    const c = this.outline.outline_circle;
    if (c) return `Circle, radius ${distance(c.radius.value)}.`;
    const corridor = this.outline.outline_corridor;
    if (corridor) return `Corridor of ${corridor.path.length} points, ${distance(this.halfWidthM())} either side.`;
    return `Polygon of ${this.outline.outline_polygon.vertices.length} corners.`;
  }

  halfWidthM() {
    return Number($("half-width").value) * ($("half-width-units").value === "NM" ? NM_M : 1);
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
    const outline = this.outline.outline_corridor
      ? { outline_corridor: { ...this.outline.outline_corridor, half_width: { value: this.halfWidthM(), units: "M" } } }
      : this.outline;
    const start = fromInput($("t-start").value);
    const end = fromInput($("t-end").value);
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) {
      this.say("Times read YYYY-MM-DD HH:MM (UTC).", Number.isNaN(start.getTime()) ? "t-start" : "t-end");
      return null;
    }
    const typed = {
      volume: {
        ...outline,
        altitude_lower: { value: Number($("alt-lower").value), reference: "W84", units },
        altitude_upper: { value: Number($("alt-upper").value), reference: "W84", units },
      },
      time_start: { value: start.toISOString(), format: "RFC3339" },
      time_end: { value: end.toISOString(), format: "RFC3339" },
    };
    return this.loaded ? this.asLoaded(typed) : typed;
  }

  /** In an edit, the loaded extent's own values wherever the form still shows them. */
  asLoaded(typed) {
    const { extent, outline, ...shown } = this.loaded;
    const now = this.fields();
    const same = (...keys) => keys.every((k) => now[k] === shown[k]);
    const { altitude_lower, altitude_upper, ...shape } = typed.volume;
    const v = extent.volume;
    return {
      volume: {
        ...(this.outline === outline ? outline : shape),
        altitude_lower: same("lower", "units") ? v.altitude_lower : altitude_lower,
        altitude_upper: same("upper", "units") ? v.altitude_upper : altitude_upper,
      },
      time_start: same("start") ? extent.time_start : typed.time_start,
      time_end: same("end") ? extent.time_end : typed.time_end,
    };
  }

  /** The extents to check or file: the form's, or in an edit the operation's with the form's in its place. */
  extents() {
    const extent = this.extent();
    if (!extent || !this.editing) return extent && [extent];
    const { op, index } = this.editing;
    return op.extents.map((e, i) => (i === index ? extent : e));
  }

  /** The details only the filing party sees (in an edit, those the form does not show are kept). */
  privateDetails() {
    const purpose = $("op-purpose").value.trim();
    const shown = { callsigns: list($("op-callsigns").value), aircraft_ids: list($("op-aircraft").value), purpose: purpose || null };
    return { ...this.editing?.op.private, ...shown };
  }

  async check() {
    const extents = this.extents();
    if (!extents) return;
    this.say("");
    try {
      const body = this.editing ? { extents, operation_id: this.editing.op.id } : { extents };
      const result = await post("/operations/check", body); // an edit: only its changes are judged
      this.showConflicts(result.conflicts);
      const late = result.notice_error ?? (result.late_notice.length ? "Later than the agreed minimum notice." : "");
      $("op-done").textContent = late || (result.conflicts.length ? "" : "No conflicts.");
    } catch (error) {
      this.refused(error);
    }
  }

  async file() {
    const extents = this.extents();
    if (!extents) return;
    this.say("");
    $("op-file").disabled = true;
    const editing = this.editing;
    try {
      const body = { extents, private: this.privateDetails() };
      const filed = editing
        ? await put(`/operations/${editing.op.id}`, { ...body, version: editing.op.version })
        : await post("/operations", body);
      const n = filed.conflicts.length;
      this.close();
      // The confirmation comes with the map that shows it, not before (and not later than 2 s: it is filed).
      await Promise.race([this.onFiled(), new Promise((resolve) => setTimeout(resolve, MAP_WAIT_MS))]);
      const id = filed.operation.id.slice(0, 8);
      const what = editing ? "Saved" : "Filed";
      $("op-done").textContent = `${what} operation ${id} (${filed.operation.state}); ${n} conflict${n === 1 ? "" : "s"}.`;
    } catch (error) {
      if (editing && error instanceof Problem && error.status === 409 && error.field === "version") {
        this.say("Someone changed this operation since you opened it: nothing was saved. Close, and edit the current version.");
        this.onFiled(); // show the current version
      } else {
        this.refused(error);
      }
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
  half_width: "half-width",
  callsigns: "op-callsigns",
  aircraft_ids: "op-aircraft",
  purpose: "op-purpose",
};
