// Live tracks: a dot, a vector to where the aircraft will be in two minutes, a label, and a trail of where
// it was in the last two minutes (the console's own memory of the polls); and for each open loss of
// separation, a dashed line between the two aircraft's dead-reckoned positions at the closest approach.
/* global L */
import { ahead } from "./geo.js";
import { COLOURS } from "./volumes.js";
import { flightLevel, lines, localTime, utcTime } from "./format.js";

const VECTOR_S = 120;
const TRAIL_MS = 120_000;
export function trackName(t) {
  return t.callsign || t.aircraft_id || t.track;
}

/** The aircraft on the map, updated in place (so labels and open popups do not flicker every poll). */
export class TrackLayer {
  constructor(group) {
    this.group = group;
    this.drawn = new Map(); // track alias -> { dot, vector, trail, past: [[ms, lat, lng], ...] }
    this.cpaLines = [];
  }

  /** `alerts`: the open alerts, for the closest-approach lines. */
  update(tracks, me, alerting, alerts = []) {
    const pane = this.group.options.pane;
    const seen = new Set();
    for (const t of tracks) {
      seen.add(t.track);
      const side = t.party_id === me.party_id ? "own" : "counterpart";
      const alert = alerting.has(t.track);
      const colour = alert ? COLOURS.alert : COLOURS[side];
      const here = [t.lat_deg, t.lng_deg];
      const there = ahead(t.lat_deg, t.lng_deg, t.track_deg, (t.ground_speed_kt * 1852 * VECTOR_S) / 3600);
      const label = `${trackName(t)} ${flightLevel(t.altitude_ft)} ${Math.round(t.ground_speed_kt)}kt`;
      let drawn = this.drawn.get(t.track);
      if (!drawn) {
        const vector = L.polyline([here, there], { pane, className: `vector ${side}`, weight: 2, interactive: false });
        const dot = L.circleMarker(here, { pane, className: `track ${side}` });
        dot.bindTooltip(lines(label), { permanent: true, direction: "right", offset: [8, 0], className: `track-label ${side}` });
        dot.bindPopup("");
        const trail = L.polyline([], { pane, className: `trail ${side}`, weight: 2, opacity: 0.6, interactive: false });
        drawn = { trail: trail.addTo(this.group), vector: vector.addTo(this.group), dot: dot.addTo(this.group), past: [] };
        this.drawn.set(t.track, drawn);
      }
      const at = Date.parse(t.time);
      const last = drawn.past.at(-1);
      if (last && last[0] > at) drawn.past = []; // the clock went back (a replay restarted)
      if (!last || last[0] !== at) drawn.past.push([at, ...here]);
      drawn.past = drawn.past.filter(([ms]) => ms >= at - TRAIL_MS);
      drawn.trail.setLatLngs(drawn.past.length > 1 ? drawn.past.map(([, lat, lng]) => [lat, lng]) : []);
      drawn.trail.setStyle({ color: COLOURS[side] });
      drawn.vector.setLatLngs([here, there]).setStyle({ color: colour });
      drawn.dot
        .setLatLng(here)
        .setRadius(alert ? 7 : 5)
        .setStyle({ color: colour, fillColor: colour, fillOpacity: t.freshness === "live" ? 0.9 : 0.2, weight: alert ? 3 : 1 });
      drawn.dot.setTooltipContent(lines(label)); // text, never markup: a callsign comes from another party
      drawn.dot.setPopupContent(
        lines(
          label,
          `track ${Math.round(t.track_deg)}°, ${Math.round(t.vertical_rate_fpm)} ft/min`,
          `${Math.round(t.altitude_ft)} ft (${Math.round(t.altitude_ft * 0.3048)} m)`,
          `reported ${utcTime(t.time)} (${t.freshness}, ${localTime(t.time)})`,
        ),
      );
      const element = drawn.dot.getElement(); // absent while the layer is switched off
      element?.classList.toggle("alerting", alert);
      element?.classList.toggle("stale", t.freshness === "stale");
    }
    for (const [name, drawn] of this.drawn) {
      if (seen.has(name)) continue;
      this.group.removeLayer(drawn.dot);
      this.group.removeLayer(drawn.vector);
      this.group.removeLayer(drawn.trail);
      this.drawn.delete(name);
    }
    this.closestApproaches(tracks, alerts);
  }

  closestApproaches(tracks, alerts) {
    const pane = this.group.options.pane;
    for (const line of this.cpaLines) this.group.removeLayer(line);
    this.cpaLines = [];
    const live = new Map(tracks.map((t) => [t.track, t]));
    for (const a of alerts) {
      const ends = cpaPositions(a, live);
      if (!ends) continue;
      const line = L.polyline(ends, {
        pane,
        className: "cpa",
        color: COLOURS.alert,
        weight: 2,
        dashArray: "6 6",
        interactive: false,
      });
      const mark = L.circleMarker(ends[0], {
        pane,
        className: "cpa-end",
        radius: 4,
        color: COLOURS.alert,
        fill: false,
        weight: 2,
      });
      const when = new Date(predictedFrom(a) + a.detail.time_to_cpa_s * 1000).toISOString();
      mark.bindTooltip(`predicted closest approach ${utcTime(when)}`);
      this.cpaLines.push(line.addTo(this.group), mark.addTo(this.group));
    }
  }
}

/** The instant (ms) an alert's predicted times count from: the cycle that last refreshed its numbers. */
function predictedFrom(alert) {
  const s = alert.detail?.predicted_at_s;
  return Number.isFinite(s) ? s * 1000 : Date.parse(alert.updated_at);
}

/** Where the two aircraft of a loss-of-separation alert will be at the closest approach, or null unless
 * both positions (with speed and heading) are known to the viewer. The newer of the live track and the
 * alert's own copy is dead-reckoned to the prediction's instant plus `detail.time_to_cpa_s`. */
export function cpaPositions(alert, live) {
  const inS = alert.detail?.time_to_cpa_s;
  if (alert.kind !== "loss_of_separation" || alert.tracks.length !== 2 || !Number.isFinite(inS)) return null;
  const when = predictedFrom(alert) + inS * 1000;
  const ends = [];
  for (const subject of alert.tracks) {
    const known = [live.get(subject.track), subject.lat_deg === null ? undefined : { ...subject, time: subject.at }]
      .filter((t) => t && t.lat_deg !== null && t.lat_deg !== undefined && Number.isFinite(t.ground_speed_kt))
      .sort((x, y) => Date.parse(y.time) - Date.parse(x.time));
    const t = known[0];
    if (!t) return null;
    const s = Math.max(0, (when - Date.parse(t.time)) / 1000);
    ends.push(ahead(t.lat_deg, t.lng_deg, t.track_deg, (t.ground_speed_kt * 1852 * s) / 3600));
  }
  return ends;
}
