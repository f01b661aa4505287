// The hotline: one thread per counterpart, its messages oldest first with their priority, sent time and,
// for one's own, the delivery (✓) and read (✓✓) receipts. Incoming messages are marked read when their
// thread is shown.
import { localTime, utcTime } from "./format.js";

function text(tag, className, content) {
  const element = document.createElement(tag);
  element.className = className;
  element.textContent = content;
  return element;
}

/** "✓✓ read 08:12:05Z", "✓ delivered 08:12:03Z" or "sent": what the sender knows of a message. */
export function receipt(m) {
  if (m.read_at) return { state: "read", text: `✓✓ read ${utcTime(m.read_at)}`, at: m.read_at };
  if (m.delivered_at) return { state: "delivered", text: `✓ delivered ${utcTime(m.delivered_at)}`, at: m.delivered_at };
  return { state: "sent", text: "sent, not yet delivered", at: null };
}

export class Hotline {
  /** `send(to, body, priority, operationIds)` and `read(id)` return promises; `names` maps party ids to names. */
  constructor({ me, names, send, read, onProblem }) {
    this.me = me;
    this.names = names;
    this.send = send;
    this.read = read;
    this.onProblem = onProblem;
    this.messages = [];
    this.open = null; // the counterpart whose thread is shown
    this.reading = new Set(); // ids whose read receipt is on its way
    this.threads = document.getElementById("threads");
    this.thread = document.getElementById("thread");
    this.list = document.getElementById("thread-messages");
    this.form = document.getElementById("message-form");
    this.body = document.getElementById("msg-body");
    this.priority = document.getElementById("msg-priority");
    this.error = document.getElementById("msg-error");
    this.chip = document.getElementById("msg-about");
    this.reference = null; // the operation the next message is about
    document.getElementById("msg-about-drop").onclick = () => {
      this.refer(null);
      this.body.focus(); // the button goes with the chip
    };
    this.body.value = ""; // nothing left over from a previous sign-in
    this.priority.value = "routine";
    this.form.onsubmit = (event) => {
      event.preventDefault();
      this.submit();
    };
  }

  counterpart(m) {
    return m.from_party_id === this.me.party_id ? m.to_party_id : m.from_party_id;
  }

  unread(m) {
    return m.to_party_id === this.me.party_id && !m.read_at;
  }

  /** Newest first, as the API lists them. */
  render(messages) {
    this.messages = messages;
    const parties = [...this.names.keys()].filter((id) => id !== this.me.party_id);
    for (const m of messages) if (!parties.includes(this.counterpart(m))) parties.push(this.counterpart(m));
    const focused = document.activeElement?.closest?.("#threads button")?.dataset.party;
    const buttons = parties.map((party) => {
      const waiting = messages.filter((m) => this.counterpart(m) === party && this.unread(m));
      const button = text("button", "thread", this.names.get(party) ?? party.slice(0, 8));
      button.type = "button";
      button.dataset.party = party;
      button.setAttribute("aria-pressed", String(party === this.open));
      if (waiting.length) {
        const urgent = waiting.some((m) => m.priority !== "routine");
        button.append(text("span", `unread${urgent ? " urgent" : ""}`, ` ${waiting.length} new`));
      }
      button.addEventListener("click", () => this.show(party === this.open ? null : party));
      const li = document.createElement("li");
      li.append(button);
      return li;
    });
    this.threads.replaceChildren(...buttons);
    if (focused) this.threads.querySelector(`button[data-party="${CSS.escape(focused)}"]`)?.focus();
    const total = messages.filter((m) => this.unread(m)).length;
    document.getElementById("message-count").textContent = total ? `(${total} new)` : "";
    document.getElementById("no-threads").hidden = parties.length > 0;
    this.renderThread();
  }

  /** Open the thread with `party` for a message about operation `opId`. */
  about(party, opId) {
    this.show(party);
    this.refer(opId);
    this.body.focus();
  }

  refer(opId) {
    this.reference = opId;
    this.chip.hidden = !opId;
    if (opId) document.getElementById("msg-about-text").textContent = `about operation ${opId.slice(0, 8)}`;
  }

  show(party) {
    if (party !== this.open) this.refer(null);
    this.open = party;
    this.error.textContent = "";
    this.render(this.messages);
    if (party) this.body.focus();
  }

  renderThread() {
    this.thread.hidden = !this.open;
    if (!this.open) return;
    document.getElementById("thread-title").textContent = `With ${this.names.get(this.open) ?? this.open}`;
    const mine = this.messages.filter((m) => this.counterpart(m) === this.open).reverse();
    const items = mine.map((m) => {
      const out = m.from_party_id === this.me.party_id;
      const li = document.createElement("li");
      li.className = `message ${out ? "out" : "in"} ${m.priority}`;
      li.dataset.id = m.id;
      li.dataset.priority = m.priority;
      const head = document.createElement("div");
      head.className = "head";
      if (m.priority !== "routine") head.append(text("span", `priority ${m.priority}`, m.priority.toUpperCase()));
      head.append(text("span", "from", out ? "You" : (this.names.get(m.from_party_id) ?? "counterpart")));
      const sent = text("time", "sent", utcTime(m.sent_at));
      sent.dateTime = m.sent_at;
      sent.title = `sent ${m.sent_at.slice(0, 10)}; ${localTime(m.sent_at)}`;
      head.append(sent);
      li.append(head, text("p", "body", m.body));
      const about = m.operation_ids ?? [];
      if (about.length) li.append(text("span", "about", `re: operation ${about.map((id) => id.slice(0, 8)).join(", ")}`));
      if (out) {
        const r = receipt(m);
        const tick = text("span", `receipt ${r.state}`, r.text);
        if (r.at) tick.title = localTime(r.at);
        li.dataset.receipt = r.state;
        li.append(tick);
      }
      return li;
    });
    this.list.replaceChildren(...items);
    document.getElementById("no-messages").hidden = items.length > 0;
    this.list.scrollTop = this.list.scrollHeight;
    if (document.visibilityState === "visible") this.markRead(mine.filter((m) => this.unread(m)));
  }

  markRead(messages) {
    for (const m of messages) {
      if (this.reading.has(m.id)) continue;
      this.reading.add(m.id);
      this.read(m.id).catch((error) => {
        if (error.status !== 409) this.onProblem(error); // 409: another console of ours read it first
      });
    }
  }

  async submit() {
    const body = this.body.value.trim();
    if (!this.open || !body) return;
    const button = this.form.querySelector("button[type=submit]");
    button.disabled = true;
    this.error.textContent = "";
    try {
      await this.send(this.open, body, this.priority.value, this.reference ? [this.reference] : []);
      this.refer(null);
      this.body.value = "";
      this.priority.value = "routine";
    } catch (refusal) {
      this.error.textContent = refusal.text ?? refusal.message;
    } finally {
      button.disabled = false;
      this.body.focus();
    }
  }
}
