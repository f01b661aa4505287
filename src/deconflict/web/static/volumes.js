// Operations, zones and conflict overlaps: ASTM Volume4D outlines (circle, polygon) as Leaflet layers.
/* global L */
import { altitudeM, band, distance, lines, localTime, utcDateTime } from "./format.js";

export const COLOURS = { own: "#38bdf8", counterpart: "#fb923c", conflict: "#f0abfc", zone: "#a3e635", alert: "#ff3b3b" };

/** The outline of one extent; corridors come back from the API as polygons. */
function outline(volume4d, style) {
  const v = volume4d.volume;
  if (v.outline_circle) {
    const c = v.outline_circle;
    return L.circle([c.center.lat, c.center.lng], { radius: c.radius.value, ...style });
  }
  if (v.outline_polygon) {
    return L.polygon(
      v.outline_polygon.vertices.map((p) => [p.lat, p.lng]),
      style,
    );
  }
  return null;
}

function timeWindow(volume4d) {
  const start = volume4d.time_start ? utcDateTime(volume4d.time_start.value) : "open";
  const end = volume4d.time_end ? utcDateTime(volume4d.time_end.value) : "open";
  return `${start} → ${end}`;
}

function heights(volume4d) {
  return band(altitudeM(volume4d.volume.altitude_lower), altitudeM(volume4d.volume.altitude_upper));
}

const ACTIONS = { activate: "Activate", end: "End", cancel: "Cancel" };
const ALLOWED = {
  proposed: ["cancel"],
  accepted: ["activate", "cancel"],
  activated: ["end"],
  nonconforming: ["end"],
  contingent: ["end"],
};

function button(className, label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

/** A counterpart operation's popup: what it is, and a button to write to its owner about it. */
function counterpartPopup(op, summary, onMessage) {
  const div = lines(...summary);
  const row = document.createElement("div");
  row.className = "op-actions";
  row.append(button("op-message", "Message about this", () => onMessage(op)));
  div.append(row);
  return div;
}

/** An own operation's popup: what it is, an Edit button for each of the extents `indexes`, the buttons
 * for the transitions its state allows, and one to write to a counterpart about it. */
function actionsPopup(op, indexes, summary, { onAction, onEdit, onMessage }) {
  const div = lines(...summary);
  const error = document.createElement("p");
  error.className = "error";
  error.setAttribute("role", "alert");
  const edits = (onEdit && op.state in ALLOWED ? indexes : []).map((i) =>
    button("op-edit", indexes.length > 1 ? `Edit extent ${i + 1}` : "Edit", () => onEdit(op, i)),
  );
  const buttons = (ALLOWED[op.state] ?? []).map((action) => {
    const b = button(`op-${action}`, ACTIONS[action], async () => {
      b.disabled = true;
      error.textContent = "";
      try {
        await onAction(op, action);
      } catch (refusal) {
        error.textContent = refusal.text ?? refusal.message;
        b.disabled = false;
      }
    });
    return b;
  });
  const row = document.createElement("div");
  row.className = "op-actions";
  row.append(...edits, ...buttons);
  if (onMessage) row.append(button("op-message", "Message about this", () => onMessage(op)));
  div.append(row, error);
  return div;
}

/** `onAction(op, action)` carries out activate/end/cancel (a rejection is shown in the popup), `onEdit(op,
 * index)` opens an extent for editing, `onMessage(op)` starts a hotline message about the operation; only
 * the extents for which `shows(extent)` holds are drawn. */
export function operationsLayer(group, operations, me, names, { onAction, onEdit, onMessage, shows = () => true }) {
  let reopen = null; // the extent whose popup is open stays open across the redraw, where it was
  group.eachLayer((layer) => {
    if (layer.isPopupOpen?.()) reopen = { key: layer.extentKey, at: layer.getPopup().getLatLng() };
  });
  group.clearLayers();
  for (const op of operations) {
    const own = op.party_id === me.party_id;
    const side = own ? "own" : "counterpart";
    const style = { pane: group.options.pane, className: `operation ${side}`, color: COLOURS[side], weight: 2, fillOpacity: 0.15 };
    op.extents.forEach((extent, i) => {
      if (!shows(extent)) return;
      const layer = outline(extent, style);
      if (!layer) return;
      const who = own ? "Own operation" : `${names.get(op.party_id) ?? "Counterpart"} operation`;
      const details = own && op.private ? [`callsigns: ${op.private.callsigns.join(", ") || "–"}`, op.private.purpose] : [];
      const summary = [`${who} (${op.state}), extent ${i + 1}/${op.extents.length}`, timeWindow(extent), heights(extent), ...details];
      layer.bindTooltip(lines(...summary));
      const title = [`Operation ${op.id.slice(0, 8)}`, ...summary];
      if (own && onAction) layer.bindPopup(() => actionsPopup(op, [i], title, { onAction, onEdit, onMessage }));
      else if (!own && onMessage) layer.bindPopup(() => counterpartPopup(op, title, onMessage));
      layer.extentKey = `${op.id}/${i}`;
      layer.addTo(group);
      if (layer.extentKey === reopen?.key) layer.openPopup(reopen.at);
      // A dot at the centre keeps a volume of a few km findable at a continental zoom.
      L.circleMarker(layer.getBounds().getCenter(), {
        pane: group.options.pane,
        className: `operation-dot ${side}`,
        radius: 3,
        color: COLOURS[side],
        fillOpacity: 1,
        interactive: false,
      }).addTo(group);
    });
  }
}

export function zonesLayer(group, zones, me, names, shows = () => true) {
  group.clearLayers();
  for (const zone of zones) {
    if (!shows(zone.volume)) continue;
    const own = zone.party_id === me.party_id;
    const style = { pane: group.options.pane, className: `zone ${zone.kind}`, color: COLOURS.zone, weight: 2, dashArray: "6 4", fillOpacity: 0.08 };
    const layer = outline(zone.volume, style);
    if (!layer) continue;
    const owner = own ? "own" : (names.get(zone.party_id) ?? "counterpart");
    layer.bindTooltip(lines(`Zone ${zone.name} (${zone.kind}, ${owner})`, timeWindow(zone.volume), heights(zone.volume)));
    layer.addTo(group);
  }
}

export function conflictsLayer(group, conflicts, { className = "conflict", shows = () => true } = {}) {
  group.clearLayers();
  for (const c of conflicts) {
    if (!c.overlap || !shows(c)) continue;
    const layer = L.geoJSON(c.overlap, {
      pane: group.options.pane,
      style: { className, color: COLOURS.conflict, weight: 2, fillOpacity: 0.45 },
      pointToLayer: (_feature, latlng) => L.circleMarker(latlng, { pane: group.options.pane, radius: 8 }),
    });
    const when = c.time_start ? `${utcDateTime(c.time_start)} → ${utcDateTime(c.time_end)}` : "";
    layer.bindTooltip(
      lines(
        `Conflict: ${c.mine.kind} ${c.mine.id.slice(0, 8)} × ${c.theirs.kind} ${c.theirs.id.slice(0, 8)}`,
        when,
        `band ${band(c.altitude_lower_m, c.altitude_upper_m)}`,
        `closest ${distance(c.horizontal_distance_m)}`,
        c.created_at ? localTime(c.created_at) : "",
      ),
    );
    layer.addTo(group);
  }
}

/** Where an extent is: its circle's centre or its polygon's mean vertex ([lat, lng]). */
export function extentCentre(volume4d) {
  const v = volume4d.volume;
  if (v.outline_circle) return [v.outline_circle.center.lat, v.outline_circle.center.lng];
  const points = v.outline_polygon.vertices;
  return [points.reduce((s, p) => s + p.lat, 0) / points.length, points.reduce((s, p) => s + p.lng, 0) / points.length];
}

/** The party's own live operations as a list, soonest first: the same actions as their popups (an Edit
 * for each extent), for the keyboard and for finding one quickly; choosing an operation's name shows it
 * on the map (`onPick`). Keyboard focus stays on the same control when the list is redrawn. */
export function ownOperationsList(list, operations, me, handlers, onPick) {
  const focused = document.activeElement?.closest?.("li.own-op") ? document.activeElement : null;
  const focus = focused && { id: focused.closest("li").dataset.id, text: focused.textContent };
  const own = operations
    .filter((op) => op.party_id === me.party_id)
    .sort((a, b) => firstStart(a).localeCompare(firstStart(b)));
  const items = own.map((op) => {
    const li = document.createElement("li");
    li.className = `own-op ${op.state}`;
    li.dataset.id = op.id;
    const pick = button("op-pick", `${op.id.slice(0, 8)} (${op.state})`, () => onPick(op));
    const each = op.extents.map((e, i) => `${op.extents.length > 1 ? `${i + 1}: ` : ""}${timeWindow(e)}, ${heights(e)}`);
    const indexes = op.extents.map((_, i) => i);
    li.append(pick, actionsPopup(op, indexes, [...each, op.private?.purpose], handlers));
    return li;
  });
  list.replaceChildren(...items);
  if (focus) {
    const again = [...list.querySelectorAll(`li[data-id="${CSS.escape(focus.id)}"] button`)].find((b) => b.textContent === focus.text);
    again?.focus();
  }
  return own.length;
}

function firstStart(op) {
  return op.extents.map((e) => e.time_start.value).sort()[0] ?? "";
}
