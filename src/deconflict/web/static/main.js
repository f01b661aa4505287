// The console: sign-in, the header, the map's layers, filing, the inbox and the alerts, kept live from the stream.
/* global L */
import { Unauthorized, get, post, session } from "./api.js";
import { AlertCue, renderAlerts } from "./alerts.js";
import { airportsLayer, createMap, drawBase } from "./basemap.js";
import { Filing } from "./filing.js";
import { FT_PER_M, localTime } from "./format.js";
import { renderNotices, tickCountdowns } from "./inbox.js";
import { Live } from "./live.js";
import { Hotline } from "./messages.js";
import { ServerClock } from "./clock.js";
import { Timeline, activity, conflictSpan } from "./timeline.js";
import { TrackLayer } from "./tracks.js";
import { conflictsLayer, extentCentre, operationsLayer, ownOperationsList, zonesLayer } from "./volumes.js";

const $ = (id) => document.getElementById(id);
const MAX_SEQ = "9223372036854775807";
const TRACK_POLL_MS = 2000;
const CLOCK_SYNC_MS = 15_000; // also how often the shown volumes follow the moving "now"
const LIVE_STATES = ["proposed", "accepted", "activated", "nonconforming", "contingent"].map((s) => `state=${s}`).join("&");

/** Which layers an event kind changes. */
function affected(kind) {
  if (kind.startsWith("notice") || kind === "escalation") return ["operations", "conflicts", "notices"];
  if (kind.startsWith("operation")) return ["operations", "conflicts"];
  if (kind.startsWith("conflict")) return ["conflicts"];
  if (kind.startsWith("zone")) return ["zones", "conflicts"];
  if (kind === "alert") return ["alerts", "tracks"];
  if (kind === "channel") return ["channels", "messages"];
  if (kind.startsWith("message")) return ["messages"];
  return [];
}

class Console {
  constructor(me, token) {
    this.me = me;
    this.names = new Map([[me.party_id, me.party]]);
    this.alerting = new Set();
    this.map = createMap($("map"));
    this.groups = {};
    // One pane each, stacked in this order whatever is redrawn when: conflicts over operations over zones.
    ["zones", "operations", "conflicts", "draft", "tracks"].forEach((name, i) => {
      this.map.createPane(name).style.zIndex = 410 + i;
      this.groups[name] = L.layerGroup([], { pane: name }).addTo(this.map);
    });
    L.control
      .layers(null, {
        Airports: airportsLayer(this.map).addTo(this.map),
        Zones: this.groups.zones,
        Operations: this.groups.operations,
        Conflicts: this.groups.conflicts,
        Aircraft: this.groups.tracks,
      })
      .addTo(this.map);
    this.trackLayer = new TrackLayer(this.groups.tracks);
    this.filing = new Filing(this.map, this.groups.draft, {
      now: () => this.now(),
      names: this.names,
      onFiled: () => this.refresh(["operations", "conflicts", "notices"]), // it reports its own problems
      onProblem: (error) => this.problem(error),
    });
    this.hotline = new Hotline({
      me,
      names: this.names,
      send: async (to, body, priority, operationIds) => {
        await post("/messages", { to_party_id: to, body, priority, operation_ids: operationIds });
        this.schedule(["messages"]);
      },
      read: async (id) => {
        await post(`/messages/${id}/read`);
        this.schedule(["messages"]);
      },
      onProblem: (error) => this.problem(error),
    });
    this.openAlerts = [];
    this.pending = new Set();
    this.token = token;
    this.clock = new ServerClock();
    this.data = { operations: [], zones: [], conflicts: [], tracks: [] };
    this.cue = new AlertCue({ cue: $("alert-cue"), dismiss: $("alert-seen"), sound: $("alert-sound") });
    this.timeline = new Timeline({ now: () => this.now(), onChange: () => this.redraw() });
  }

  async start() {
    $("party").textContent = this.me.party;
    $("role").textContent = this.me.role;
    const [, events] = await Promise.all([this.syncClock(), get(`/events?after=${MAX_SEQ}&limit=1`)]);
    this.tick();
    this.ticker = setInterval(() => this.tick(), 1000);
    this.sync = setInterval(() => this.syncClock().then(() => this.redraw(), () => {}), CLOCK_SYNC_MS); // down: run on the last readings
    drawBase(this.map).catch((error) => console.error("base map", error));
    await this.refresh(["channels"]); // first: the other lists name counterparts
    await this.refresh(["operations", "zones", "conflicts", "alerts", "tracks", "notices", "messages"]);
    this.frame();
    this.live = new Live({
      token: this.token,
      after: events.last_seq,
      onEvent: (event) => this.schedule(affected(event.kind)),
      onState: (up) => this.linkState(up),
      onUnauthorized: () => signOut("The token was refused: sign in again."),
    });
    this.live.start();
    this.poll = setInterval(() => this.schedule(["tracks"]), TRACK_POLL_MS);
  }

  /** Stop the timers and the stream; the page is reloaded next, which discards the map (removing it
   * here raced a refresh or a zoom still in flight, which then touched a map that was gone). */
  stop() {
    this.stopped = true;
    clearInterval(this.ticker);
    clearInterval(this.sync);
    clearInterval(this.poll);
    clearTimeout(this.timer);
    this.live?.stop();
  }

  /** The server's clock (replay time in replay mode), as the readings from /healthz tell. */
  now() {
    return this.clock.now();
  }

  /** Ask the server for its time again (in replay mode it need not run at the wall clock's pace). */
  async syncClock() {
    const sent = Date.now();
    const health = await fetch("/healthz", { cache: "no-store" }).then((r) => r.json());
    this.clock.read(Date.parse(health.server_time), (sent + Date.now()) / 2);
  }

  tick() {
    tickCountdowns($("inbox"), this.now().getTime());
    const now = this.now().toISOString();
    $("clock").textContent = `${now.slice(0, 10)} ${now.slice(11, 19)}Z`;
    $("clock").title = `server time; ${localTime(now)}`;
  }

  linkState(up) {
    const link = $("link");
    link.textContent = up ? "live" : "disconnected";
    link.classList.toggle("down", !up);
    if (up) this.schedule(["channels", "operations", "zones", "conflicts", "alerts", "tracks", "notices", "messages"]); // catch up
  }

  /** Refresh these layers soon, once however many events ask for them. */
  schedule(names) {
    if (this.stopped) return;
    for (const name of names) this.pending.add(name);
    if (this.timer || !this.pending.size) return;
    this.timer = setTimeout(async () => {
      const names = [...this.pending];
      this.pending.clear();
      try {
        await this.refresh(names);
      } finally {
        this.timer = null;
        if (this.pending.size) this.schedule([]);
      }
    }, 100);
  }

  async refresh(names) {
    const want = new Set(names);
    if (want.has("alerts")) want.add("tracks"); // alerting aircraft are drawn in the alert colour
    try {
      if (want.delete("alerts")) await this.alerts(); // first: the aircraft's colour depends on it
      await Promise.all([...want].map((name) => this[name]()));
    } catch (error) {
      this.problem(error);
    }
  }

  problem(error) {
    if (error instanceof Unauthorized) signOut("The token was refused: sign in again.");
    else console.error(error);
  }

  async channels() {
    const channels = await get("/channels");
    const items = channels.map((c) => {
      this.names.set(c.counterpart.id, c.counterpart.name);
      const li = document.createElement("li");
      li.className = `channel ${c.state}`;
      li.textContent = `${c.counterpart.name}: ${c.state}`;
      li.title = c.counterpart_last_seen_at ? `last seen ${localTime(c.counterpart_last_seen_at)}` : "never seen";
      return li;
    });
    $("channels").replaceChildren(...items);
  }

  async operations() {
    this.update("operations", await get(`/operations?limit=1000&${LIVE_STATES}`));
  }

  async notices() {
    const [incoming, outgoing] = await Promise.all([get("/notices?direction=in"), get("/notices?direction=out")]);
    const onAnswer = async (notice, decision, reason) => {
      await post(`/notices/${notice.id}/ack`, reason === undefined ? { decision } : { decision, reason });
      this.schedule(["notices"]);
    };
    const nowMs = this.now().getTime();
    renderNotices($("notices-in"), incoming, { incoming: true, names: this.names, nowMs, onAnswer });
    renderNotices($("notices-out"), outgoing, { incoming: false, names: this.names, nowMs, onAnswer });
    const waiting = incoming.filter((n) => n.status === "pending" || n.status === "overdue").length;
    $("notice-count").textContent = waiting ? `(${waiting} to answer)` : "";
    $("no-notices-in").hidden = incoming.length > 0;
    $("no-notices-out").hidden = outgoing.length > 0;
  }

  async zones() {
    this.update("zones", await get("/zones"));
  }

  async conflicts() {
    this.update("conflicts", await get("/conflicts"));
  }

  /** Keep a fresh list; redraw only if it differs (many events change nothing that is drawn). */
  update(name, list) {
    const before = JSON.stringify(this.data[name]);
    this.data[name] = list;
    if (JSON.stringify(list) !== before) this.redraw(true);
  }

  /** Draw the volumes (and the timeline's strip) that the chosen time and altitude band show: after new
   * data, or when the moving "now" changes what is shown (not otherwise: an open popup would close). */
  redraw(changed = false) {
    const t = this.timeline;
    t.show();
    const { operations, zones, conflicts } = this.data;
    const spans = conflicts.map((c) => conflictSpan(c, (side) => this.extentOf(side)));
    const shownKey = JSON.stringify([
      operations.map((op) => op.extents.map((e) => t.showsVolume(e))),
      zones.map((z) => t.showsVolume(z.volume)),
      spans.map((span) => t.showsConflict(span)),
    ]);
    this.drawTracks(); // the altitude filter applies to aircraft at once, not at the next poll
    if (!changed && shownKey === this.shownKey) return;
    this.shownKey = shownKey;
    const shows = (volume) => t.showsVolume(volume);
    operationsLayer(this.groups.operations, operations, this.me, this.names, { ...this.onOperation, shows });
    const n = ownOperationsList($("own-ops"), operations, this.me, this.onOperation, (op) => this.pick(op));
    $("own-op-count").textContent = `(${n})`;
    zonesLayer(this.groups.zones, zones, this.me, this.names, shows);
    const shown = new Set(conflicts.filter((_, i) => t.showsConflict(spans[i])));
    conflictsLayer(this.groups.conflicts, conflicts, { shows: (c) => shown.has(c) });
    t.setItems(activity(operations, conflicts, spans, this.me, this.names));
  }

  /** The Volume4D of a conflict's side ({kind: operation|zone, id, extent}), if the console has it. */
  extentOf(side) {
    if (side.kind === "zone") return this.data.zones.find((z) => z.id === side.id)?.volume ?? null;
    return this.data.operations.find((op) => op.id === side.id)?.extents[side.extent] ?? null;
  }

  /** What an operation's popup (or its line in the own-operations list) can do. */
  get onOperation() {
    const counterpartFor = (op) =>
      op.party_id !== this.me.party_id ? op.party_id : (this.hotline.open ?? [...this.names.keys()].find((id) => id !== this.me.party_id));
    return {
      onAction: async (op, action) => {
        await post(`/operations/${op.id}/${action}`, { version: op.version });
        this.map.closePopup();
        this.schedule(["operations", "conflicts", "notices"]);
      },
      onEdit: (op, index) => {
        this.map.closePopup();
        this.filing.edit(op, index);
      },
      onMessage: (op) => {
        this.map.closePopup();
        const counterpart = counterpartFor(op);
        if (counterpart) this.hotline.about(counterpart, op.id);
      },
    };
  }

  /** Show an operation on the map with the popup of its first extent in the picture; if none is (the
   * timeline shows another time or other altitudes), centre on its first extent and say so. */
  pick(op) {
    const i = Math.max(0, op.extents.findIndex((e) => this.timeline.showsVolume(e)));
    this.map.setView(extentCentre(op.extents[i]), Math.max(this.map.getZoom(), 9));
    let drawn = false;
    this.groups.operations.eachLayer((layer) => {
      if (layer.extentKey !== `${op.id}/${i}`) return;
      layer.openPopup();
      drawn = true;
    });
    $("op-done").textContent = drawn
      ? ""
      : `Operation ${op.id.slice(0, 8)} is outside the time or altitudes shown: see "All filed" and the altitude filter.`;
  }

  async alerts() {
    const alerts = await get("/alerts?open_only=true");
    this.openAlerts = alerts;
    this.alerting = new Set(alerts.flatMap((a) => a.tracks.map((t) => t.track)));
    const fresh = this.cue.update(alerts);
    renderAlerts($("alerts"), alerts, (centre) => this.map.setView(centre, Math.max(this.map.getZoom(), 8)), fresh);
    $("alert-count").textContent = alerts.length ? `(${alerts.length})` : "";
    $("no-alerts").hidden = alerts.length > 0;
  }

  async tracks() {
    this.data.tracks = await get("/tracks");
    this.drawTracks();
  }

  /** Aircraft are always live (whatever moment the timeline shows); the altitude filter hides those
   * outside its band unless they are in an alert. */
  drawTracks() {
    const shown = this.data.tracks.filter(
      (t) => this.alerting.has(t.track) || this.timeline.showsBand(t.altitude_ft / FT_PER_M, t.altitude_ft / FT_PER_M),
    );
    this.trackLayer.update(shown, this.me, this.alerting, this.openAlerts);
  }

  async messages() {
    this.hotline.render(await get("/messages?limit=500"));
  }

  /** Start on the party's own activity, if it has any. */
  frame() {
    const bounds = L.latLngBounds([]);
    for (const name of ["operations", "tracks"]) {
      this.groups[name].eachLayer((layer) => bounds.extend(layer.getBounds ? layer.getBounds() : layer.getLatLng()));
    }
    if (bounds.isValid()) this.map.fitBounds(bounds, { padding: [40, 40], maxZoom: 9 });
  }
}

let current = null;
const REASON = "deconflict.signed-out"; // why the last console was closed, shown after the reload

/** Forget the token; a console that was open is closed by reloading the page, which leaves nothing of
 * the last party's picture (or its listeners) behind for whoever signs in next. */
function signOut(message = "") {
  session.token = null;
  if (current) {
    current.stop();
    current = null;
    sessionStorage.setItem(REASON, message);
    location.replace("/");
    return;
  }
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("token").focus();
}

async function signIn(token) {
  session.token = token;
  let me;
  try {
    me = await get("/me");
  } catch (error) {
    signOut(error instanceof Unauthorized ? "Unknown or revoked token." : `Cannot reach the service (${error.message}).`);
    return;
  }
  if (!me.party_id) {
    signOut("That is an admin token: sign in with a party's token.");
    return;
  }
  $("signin").hidden = true;
  $("app").hidden = false;
  current = new Console(me, token);
  await current.start();
}

$("signin-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  $("token").value = "";
  if (token) signIn(token);
});
$("signout").addEventListener("click", () => signOut());
if (session.token) signIn(session.token);
else {
  $("signin-error").textContent = sessionStorage.getItem(REASON) ?? "";
  sessionStorage.removeItem(REASON);
  $("token").focus();
}
