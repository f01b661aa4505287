// Units and times as the console shows them: UTC everywhere, local time on hover.

export const FT_PER_M = 1 / 0.3048;

/** Metres from an API altitude ({value, units}). */
export const altitudeM = (alt) => (alt.units === "FT" ? alt.value / FT_PER_M : alt.value);

/** "07:31:02Z" */
export function utcTime(iso) {
  return `${new Date(iso).toISOString().slice(11, 19)}Z`;
}

/** "2026-11-25 07:31Z" */
export function utcDateTime(iso) {
  const s = new Date(iso).toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, 16)}Z`;
}

export function localTime(iso) {
  return `local: ${new Date(iso).toLocaleString()}`;
}

export function flightLevel(altitudeFt) {
  return `FL${String(Math.round(altitudeFt / 100)).padStart(3, "0")}`;
}

/** "0–1500 m (0–4921 ft)" */
export function band(lowerM, upperM) {
  const ft = (m) => Math.round(m * FT_PER_M);
  return `${Math.round(lowerM)}–${Math.round(upperM)} m (${ft(lowerM)}–${ft(upperM)} ft)`;
}

/** "12.3 NM (22.8 km)" */
export function distance(m) {
  return `${(m / 1852).toFixed(1)} NM (${(m / 1000).toFixed(1)} km)`;
}

/** "1 min 20 s" */
export function duration(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return "–";
  const whole = Math.max(0, Math.round(s));
  return whole >= 60 ? `${Math.floor(whole / 60)} min ${whole % 60} s` : `${whole} s`;
}

/** A tooltip body from lines of text (built from text nodes: names from other parties are not HTML). */
export function lines(...texts) {
  const div = document.createElement("div");
  for (const text of texts.filter(Boolean)) {
    const line = document.createElement("div");
    line.textContent = text;
    div.append(line);
  }
  return div;
}
