// Positions on a sphere, good enough for what the map draws (vectors, trails, a corridor's preview); the
// server's geometry is exact on the ellipsoid.

const EARTH_M = 6_371_000;

/** The point `distanceM` from (lat, lng) along `bearingDeg` on a sphere (good enough for a vector). */
export function ahead(lat, lng, bearingDeg, distanceM) {
  const rad = Math.PI / 180;
  const d = distanceM / EARTH_M;
  const b = bearingDeg * rad;
  const p1 = lat * rad;
  const p2 = Math.asin(Math.sin(p1) * Math.cos(d) + Math.cos(p1) * Math.sin(d) * Math.cos(b));
  const l2 = lng * rad + Math.atan2(Math.sin(b) * Math.sin(d) * Math.cos(p1), Math.cos(d) - Math.sin(p1) * Math.sin(p2));
  return [p2 / rad, l2 / rad];
}

/** Initial great-circle bearing (degrees) from `a` to `b` ({lat, lng}). */
export function bearingDeg(a, b) {
  const rad = Math.PI / 180;
  const dl = (b.lng - a.lng) * rad;
  const y = Math.sin(dl) * Math.cos(b.lat * rad);
  const x = Math.cos(a.lat * rad) * Math.sin(b.lat * rad) - Math.sin(a.lat * rad) * Math.cos(b.lat * rad) * Math.cos(dl);
  return Math.atan2(y, x) / rad;
}
