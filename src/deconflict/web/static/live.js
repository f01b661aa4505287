// The party's event stream over a WebSocket: the token goes in the first message (never in the URL),
// every reconnect resumes after the last sequence number seen, and a silent link is treated as down.

const SILENCE_MS = 45_000;

export class Live {
  constructor({ token, after, onEvent, onState, onUnauthorized }) {
    Object.assign(this, { token, after, onEvent, onState, onUnauthorized });
    this.delayMs = 500;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retry);
    clearTimeout(this.watchdog);
    if (this.ws) this.ws.close(1000, "signed out");
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/api/v1/stream/ws?after=${this.after}`);
    this.ws = ws;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ token: this.token }));
      this.delayMs = 500;
      this.alive();
      this.onState(true);
    });
    ws.addEventListener("message", (message) => {
      this.alive();
      const event = JSON.parse(message.data);
      if (event.kind === "heartbeat") return;
      if (event.seq > this.after) this.after = event.seq;
      this.onEvent(event);
    });
    ws.addEventListener("close", (closed) => {
      clearTimeout(this.watchdog);
      if (ws !== this.ws) return;
      this.onState(false);
      if (closed.code === 4401) {
        this.onUnauthorized();
        return;
      }
      if (!this.stopped) {
        this.retry = setTimeout(() => this.connect(), this.delayMs);
        this.delayMs = Math.min(this.delayMs * 2, 10_000);
      }
    });
  }

  alive() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => this.ws.close(4000, "silent"), SILENCE_MS);
  }
}
