// Drawing an outline on the map: a polygon or a corridor's centre line (click each point; double-click
// or Enter ends it) or a circle (click the centre, then a point on the edge). Escape abandons the
// drawing. Without a mouse: the arrow keys pan the focused map and Space places a point at its centre.
/* global L */
import { ahead, bearingDeg } from "./geo.js";
import { COLOURS } from "./volumes.js";

const SAME_PX = 5; // a double-click's two clicks land on one vertex

export class Drawing {
  /** `onDone(outline)` gets the ASTM outline (`{outline_polygon}` or `{outline_circle}`), or for a corridor
   * `{outline_corridor: {path}}` (its half-width is the form's), or null when abandoned. */
  constructor(map, shape, onDone) {
    Object.assign(this, { map, shape, onDone });
    this.points = [];
    this.layer = L.layerGroup().addTo(map);
    this.style = { color: COLOURS.own, weight: 2, dashArray: "4 4", fillOpacity: 0.1, className: "drawing", interactive: false };
    this.handlers = {
      click: (e) => this.click(e.latlng),
      dblclick: () => this.finish(),
      mousemove: (e) => this.preview(e.latlng),
    };
    this.keys = (e) => {
      // From the keyboard: pan the focused map with the arrow keys, Space puts a point at its centre.
      if (e.key === " " && e.target === map.getContainer()) this.click(map.getCenter());
      else if (e.key === "Enter") this.finish();
      else if (e.key === "Escape") this.end(null);
      else return;
      e.preventDefault();
    };
    this.zoomOnDoubleClick = map.doubleClickZoom.enabled();
    map.doubleClickZoom.disable();
    map.on(this.handlers);
    document.addEventListener("keydown", this.keys);
    map.getContainer().classList.add("drawing-mode");
  }

  click(latlng) {
    if (this.shape === "circle") {
      if (!this.points.length) this.points.push(latlng);
      else this.end(this.circle(latlng));
    } else {
      const last = this.points.at(-1);
      if (last && this.map.latLngToContainerPoint(last).distanceTo(this.map.latLngToContainerPoint(latlng)) < SAME_PX) return;
      this.points.push(latlng);
    }
    this.preview(latlng);
  }

  preview(cursor) {
    this.layer.clearLayers();
    if (!this.points.length) return;
    if (this.shape === "circle") {
      const centre = this.points[0];
      L.circle(centre, { radius: centre.distanceTo(cursor), ...this.style }).addTo(this.layer);
    } else if (this.shape === "corridor") {
      L.polyline([...this.points, cursor], this.style).addTo(this.layer);
    } else {
      L.polygon([...this.points, cursor], this.style).addTo(this.layer);
    }
    for (const p of this.points) L.circleMarker(p, { radius: 4, ...this.style, dashArray: null, fillOpacity: 1 }).addTo(this.layer);
  }

  circle(edge) {
    const centre = this.points[0];
    return { outline_circle: { center: { lat: centre.lat, lng: centre.lng }, radius: { value: Math.round(centre.distanceTo(edge)), units: "M" } } };
  }

  finish() {
    const points = this.points.map((p) => ({ lat: p.lat, lng: p.lng }));
    if (this.shape === "polygon" && points.length >= 3) this.end({ outline_polygon: { vertices: points } });
    if (this.shape === "corridor" && points.length >= 2) this.end({ outline_corridor: { path: points } });
  }

  end(outline) {
    this.map.off(this.handlers);
    document.removeEventListener("keydown", this.keys);
    if (this.zoomOnDoubleClick) setTimeout(() => this.map.doubleClickZoom.enable(), 0); // after this dblclick
    this.map.getContainer().classList.remove("drawing-mode");
    this.map.removeLayer(this.layer);
    this.onDone(outline);
  }
}

/** A corridor as the map shows it before the server has made its exact outline: a band of `halfWidthM`
 * either side of each leg, and a disc at each point (so the ends and bends are round, as the server's are). */
export function corridorLayer(path, halfWidthM, style) {
  const group = L.featureGroup();
  path.forEach((p, i) => {
    L.circle([p.lat, p.lng], { radius: halfWidthM, ...style, weight: 0 }).addTo(group);
    const next = path[i + 1];
    if (!next) return;
    const out = bearingDeg(p, next);
    const back = bearingDeg(next, p);
    const side = (q, bearing, turn) => ahead(q.lat, q.lng, bearing + turn, halfWidthM);
    L.polygon([side(p, out, -90), side(next, back, 90), side(next, back, -90), side(p, out, 90)], style).addTo(group);
  });
  L.polyline(path.map((p) => [p.lat, p.lng]), { ...style, fill: false, dashArray: "4 4", weight: 1 }).addTo(group);
  return group;
}
