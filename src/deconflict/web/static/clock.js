// The server's clock as the console keeps it: a reading from /healthz now and then, run forward at the
// pace the server's clock kept between the last two readings (in replay mode it may run faster or slower
// than the wall clock, or stand still; a clock that went back, a restarted replay, counts as real time).

const SAME_PACE = 0.02; // closer than this to the wall clock's pace: the server runs in real time
const FASTEST = 1000;

export class ServerClock {
  constructor() {
    this.anchor = null; // { serverMs, wallMs } of the last reading
    this.rate = 1;
  }

  /** A reading: the server's clock said `serverMs` at the wall clock's `wallMs`. */
  read(serverMs, wallMs) {
    const last = this.anchor;
    if (last && wallMs - last.wallMs >= 1000) {
      const rate = (serverMs - last.serverMs) / (wallMs - last.wallMs);
      this.rate = rate < 0 || Math.abs(rate - 1) < SAME_PACE ? 1 : Math.min(rate, FASTEST);
    }
    this.anchor = { serverMs, wallMs };
  }

  now(wallMs = Date.now()) {
    if (!this.anchor) return new Date(wallMs);
    return new Date(this.anchor.serverMs + this.rate * (wallMs - this.anchor.wallMs));
  }
}
