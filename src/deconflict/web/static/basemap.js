// The offline base map: country outlines (Natural Earth via world-atlas, served by us) and a graticule.
/* global L, topojson */

export function createMap(element) {
  const map = L.map(element, { worldCopyJump: true, zoomSnap: 0.5, minZoom: 2, maxZoom: 14 });
  map.attributionControl.setPrefix("Leaflet | Natural Earth");
  map.createPane("base").style.zIndex = 250; // under the overlays (400), above nothing: no tiles at all
  map.setView([48.5, 3], 5);
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
