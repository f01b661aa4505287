// Live tracks: a dot, a vector to where the aircraft will be in two minutes, and a label.
/* global L */
import { COLOURS } from "./volumes.js";
import { flightLevel, lines, localTime, utcTime } from "./format.js";

const VECTOR_S = 120;
const EARTH_M = 6_371_000;

/** The point `distanceM` from (lat, lng) along `bearingDeg` on a sphere (good enough for a vector). */
function ahead(lat, lng, bearingDeg, distanceM) {
  const rad = Math.PI / 180;
  const d = distanceM / EARTH_M;
  const b = bearingDeg * rad;
  const p1 = lat * rad;
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(b));
  const l2 = lng * rad + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  return [p2 / rad, l2 / rad];
}

export function trackName(t) {
  return t.callsign || t.aircraft_id || t.track;
}

/** The aircraft on the map, updated in place (so labels and open popups do not flicker every poll). */
export class TrackLayer {
  constructor(group) {
    this.group = group;
    this.drawn = new Map(); // track alias -> { dot, vector }
  }

  update(tracks, me, alerting) {
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
        dot.bindTooltip(label, { permanent: true, direction: "right", offset: [8, 0], className: `track-label ${side}` });
        dot.bindPopup("");
        drawn = { vector: vector.addTo(this.group), dot: dot.addTo(this.group) };
        this.drawn.set(t.track, drawn);
      }
      drawn.vector.setLatLngs([here, there]).setStyle({ color: colour });
      drawn.dot
        .setLatLng(here)
        .setRadius(alert ? 7 : 5)
        .setStyle({ color: colour, fillColor: colour, fillOpacity: t.freshness === "live" ? 0.9 : 0.2, weight: alert ? 3 : 1 });
      drawn.dot.setTooltipContent(label);
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
      this.drawn.delete(name);
    }
  }
}
