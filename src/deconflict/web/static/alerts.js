// The alert list: the most severe first, then the soonest loss of separation or entry.
import { duration, localTime, utcTime } from "./format.js";
import { trackName } from "./tracks.js";

const RANK = { warning: 0, caution: 1, advisory: 2 };
const KIND = { loss_of_separation: "Loss of separation", intrusion: "Intrusion", nonconformance: "Non-conformance" };

function timeTo(a) {
  const d = a.detail ?? {};
  return d.time_to_loss_s ?? d.time_to_entry_s ?? Number.POSITIVE_INFINITY;
}

export function sortAlerts(alerts) {
  return [...alerts].sort((a, b) => RANK[a.level] - RANK[b.level] || timeTo(a) - timeTo(b));
}

/** Where to look: the middle of the alert's positioned aircraft. */
export function alertCentre(a) {
  const placed = a.tracks.filter((t) => t.lat_deg !== null && t.lng_deg !== null);
  if (!placed.length) return null;
  const lat = placed.reduce((s, t) => s + t.lat_deg, 0) / placed.length;
  const lng = placed.reduce((s, t) => s + t.lng_deg, 0) / placed.length;
  return [lat, lng];
}

export function renderAlerts(list, alerts, onPick) {
  const items = sortAlerts(alerts).map((a) => {
    const li = document.createElement("li");
    li.className = `alert ${a.level}`;
    li.dataset.kind = a.kind;
    li.dataset.id = a.id;
    const button = document.createElement("button");
    button.type = "button";
    const who = a.tracks.map(trackName).join(" × ") + (a.zone ? ` → ${a.zone.name}` : "");
    const soon = timeTo(a);
    const title = document.createElement("strong");
    title.textContent = `${a.level.toUpperCase()} ${KIND[a.kind] ?? a.kind}`;
    const body = document.createElement("span");
    body.textContent = `${who}${Number.isFinite(soon) ? `, in ${duration(soon)}` : ""}`;
    const when = document.createElement("time");
    when.dateTime = a.raised_at;
    when.title = localTime(a.raised_at);
    when.textContent = `raised ${utcTime(a.raised_at)}`;
    button.append(title, body, when);
    const centre = alertCentre(a);
    if (centre) button.addEventListener("click", () => onPick(centre));
    else button.disabled = true;
    li.append(button);
    return li;
  });
  list.replaceChildren(...items);
}
