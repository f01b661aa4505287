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

/** `fresh`: the ids of alerts to mark as new (they pulse until the cue is dismissed). */
export function renderAlerts(list, alerts, onPick, fresh = new Set()) {
  const items = sortAlerts(alerts).map((a) => {
    const li = document.createElement("li");
    li.className = `alert ${a.level}${fresh.has(a.id) ? " new" : ""}`;
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

const LOUD = new Set(["caution", "warning"]);

/** The cue for a caution or warning that is new, or an alert that rose to one: it is named in a live
 * region and the page title until dismissed (or until no such alert is open), and, if the officer turned
 * sound on, beeps (once for a caution, three times for a warning; made here with Web Audio, no sound
 * file). A browser lets a page play sound only after a click or key press on it: after a reload the
 * button says so until then. */
export class AlertCue {
  constructor({ cue, dismiss, sound }) {
    Object.assign(this, { cue, dismiss, sound });
    this.levels = null; // alert id -> level last seen; null until the first list (nothing is new then)
    this.fresh = new Set();
    this.title = document.title;
    this.audio = null;
    sound.addEventListener("click", () => this.setSound(!this.on));
    dismiss.addEventListener("click", () => this.clear(true));
    const unlock = () => this.audio?.resume();
    document.addEventListener("pointerdown", unlock);
    document.addEventListener("keydown", unlock);
    this.setSound(localStorage.getItem("deconflict.sound") === "on");
  }

  setSound(on) {
    this.on = on;
    localStorage.setItem("deconflict.sound", on ? "on" : "off");
    if (on && !this.audio && window.AudioContext) {
      this.audio = new AudioContext();
      this.audio.addEventListener("statechange", () => this.showSound());
    }
    if (on) this.audio?.resume();
    this.showSound();
  }

  showSound() {
    const playing = this.audio?.state === "running";
    this.sound.setAttribute("aria-pressed", String(this.on));
    this.sound.dataset.audio = this.audio?.state ?? "none";
    this.sound.textContent = !this.on ? "Sound off" : playing ? "Sound on" : "Sound on: click the page to allow it";
  }

  /** Note the open alerts; returns the ids to show as new. */
  update(alerts) {
    const before = this.levels;
    this.levels = new Map(alerts.map((a) => [a.id, a.level]));
    for (const id of this.fresh) if (!LOUD.has(this.levels.get(id))) this.fresh.delete(id); // closed or eased
    if (before === null) return this.fresh;
    const rose = (a) => !LOUD.has(before.get(a.id)) || (a.level === "warning" && before.get(a.id) === "caution");
    const risen = alerts.filter((a) => LOUD.has(a.level) && rose(a));
    for (const a of risen) this.fresh.add(a.id);
    if (!this.fresh.size) {
      this.clear(false);
      return this.fresh;
    }
    const open = alerts.filter((a) => this.fresh.has(a.id));
    const worst = open.some((a) => a.level === "warning") ? "warning" : "caution";
    const first = sortAlerts(risen.length ? risen : open)[0];
    const more = this.fresh.size > 1 ? ` (+${this.fresh.size - 1} more)` : "";
    this.cue.textContent = `New ${first.level.toUpperCase()}: ${KIND[first.kind] ?? first.kind} ${first.tracks.map(trackName).join(" × ")}${more}`;
    this.cue.className = `alert-cue ${worst}`;
    this.cue.hidden = false;
    this.dismiss.hidden = false;
    document.title = `(${this.fresh.size}) ${worst.toUpperCase()} – ${this.title}`;
    if (risen.length) this.beep(risen.some((a) => a.level === "warning") ? 3 : 1);
    return this.fresh;
  }

  /** Forget what was new; `seen`: the officer said so (focus moves on from the vanishing button). */
  clear(seen) {
    this.fresh.clear();
    this.cue.hidden = true;
    this.dismiss.hidden = true;
    document.title = this.title;
    for (const li of document.querySelectorAll("li.alert.new")) li.classList.remove("new");
    if (seen) (document.querySelector("#alerts li.alert button") ?? this.sound).focus();
  }

  beep(times) {
    if (!this.on || this.audio?.state !== "running") return; // the button says why there is no sound
    const start = this.audio.currentTime;
    for (let i = 0; i < times; i++) {
      const tone = this.audio.createOscillator();
      const gain = this.audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.2;
      tone.connect(gain).connect(this.audio.destination);
      tone.start(start + i * 0.25);
      tone.stop(start + i * 0.25 + 0.15);
    }
    this.sound.dataset.beeps = String(Number(this.sound.dataset.beeps ?? 0) + times);
  }
}
