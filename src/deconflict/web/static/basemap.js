// The offline base map: country outlines (Natural Earth via world-atlas, served by us) and a graticule.
/* global L, topojson */
import { FT_PER_M, lines } from "./format.js";

export function createMap(element) {
  // No fading: a popup that a redraw reopens replaces the old one at once (no two on the screen).
  const options = { worldCopyJump: true, zoomSnap: 0.5, minZoom: 2, maxZoom: 14, fadeAnimation: false };
  const map = L.map(element, options);
  map.attributionControl.setPrefix("Leaflet | Natural Earth");
  map.createPane("base").style.zIndex = 250; // under the overlays (400), above nothing: no tiles at all
  map.setView([48.5, 3], 5);
  // Busy while it pans or zooms (a popup that opens off the edge pans it): a click then lands elsewhere.
  map.on("movestart", () => element.setAttribute("aria-busy", "true"));
  map.on("moveend", () => element.setAttribute("aria-busy", "false"));
  return map;
}

export async function drawBase(map) {
  const renderer = L.svg({ pane: "base" });
  const response = await fetch("/vendor/countries-50m.json");
  const topology = await response.json();
  const countries = topojson.feature(topology, topology.objects.countries);
  L.geoJSON(countries, {
    renderer,
    interactive: false,
    style: { className: "country", color: "#6f8196", weight: 0.8, fillColor: "#1d2733", fillOpacity: 1 },
  }).addTo(map);
  graticule(10).forEach((line) =>
    L.polyline(line, { renderer, interactive: false, className: "graticule", color: "#34475c", weight: 0.6 }).addTo(
      map,
    ),
  );
}

function graticule(stepDeg) {
  const lines = [];
  for (let lat = -80; lat <= 80; lat += stepDeg) {
    lines.push([-180, -90, 0, 90, 180].map((lng) => [lat, lng]));
  }
  for (let lng = -180; lng <= 180; lng += stepDeg) {
    lines.push([-85, -40, 0, 40, 85].map((lat) => [lat, lng]));
  }
  return lines;
}

const IATA_ZOOM = 6; // from here, airports with an IATA code (those with airline service)
const ALL_ZOOM = 8; // from here, every airfield and heliport
const MOST_SHOWN = 2000;

/** The airports layer (from `airportsdata`, served by us): only those in view, by zoom, redrawn as the map
 * moves; hover for the ICAO and IATA codes, the name and the elevation in ft and m. */
export function airportsLayer(map) {
  map.createPane("airports").style.zIndex = 300;
  const group = L.layerGroup([], { pane: "airports" });
  const renderer = L.svg({ pane: "airports" });
  let airports = [];
  const draw = () => {
    group.clearLayers();
    const zoom = map.getZoom();
    if (!map.hasLayer(group) || zoom < IATA_ZOOM) return;
    const view = map.getBounds().pad(0.1);
    const shown = airports.filter(([, iata, , lat, lng]) => (iata || zoom >= ALL_ZOOM) && view.contains([lat, lng]));
    for (const [icao, iata, name, lat, lng, elevationFt] of shown.slice(0, MOST_SHOWN)) {
      L.circleMarker([lat, lng], { renderer, pane: "airports", className: iata ? "airport" : "airport minor", radius: iata ? 4 : 2.5, weight: 1, color: "#cbd5e1", fillColor: "#0b1016", fillOpacity: 1 })
        .bindTooltip(lines(`${icao}${iata ? ` / ${iata}` : ""} ${name}`, `elevation ${elevationFt} ft (${Math.round(elevationFt / FT_PER_M)} m)`))
        .addTo(group);
    }
  };
  map.on("moveend zoomend", draw);
  group.on("add", () => setTimeout(draw, 0));
  fetch("/airports.json")
    .then((r) => r.json())
    .then((rows) => {
      airports = rows;
      draw();
    })
    .catch((error) => console.error("airports", error));
  return group;
}
