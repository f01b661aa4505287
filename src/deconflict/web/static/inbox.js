// The notice inbox: notices in (to answer) and out (awaiting the counterpart), with a live countdown to
// the acknowledgement deadline; overdue and escalated notices stand out.
import { band, duration, localTime, utcDateTime } from "./format.js";

const OPEN = new Set(["pending", "overdue"]);
const SHOWN_ANSWERED = 3;

function text(tag, className, content) {
  const element = document.createElement(tag);
  element.className = className;
  element.textContent = content;
  return element;
}

/** "in 9 min 58 s" or "overdue by 12 s" until (or since) the deadline. */
export function countdown(deadlineIso, nowMs) {
  const left = (new Date(deadlineIso).getTime() - nowMs) / 1000;
  return left >= 0 ? `answer within ${duration(left)}` : `overdue by ${duration(-left)}`;
}

/** Refresh every countdown in `root` against the server's clock. */
export function tickCountdowns(root, nowMs) {
  for (const el of root.querySelectorAll(".countdown")) {
    el.textContent = countdown(el.dataset.deadline, nowMs);
    el.classList.toggle("late", new Date(el.dataset.deadline).getTime() < nowMs);
  }
}

/** `onAnswer(notice, decision, reason)` returns a promise; its rejection's message is shown on the notice. */
export function renderNotices(list, notices, { incoming, names, nowMs, onAnswer }) {
  // An objection being written survives the redraw that any stream event brings.
  const drafts = new Map();
  for (const form of list.querySelectorAll("form.objection-form:not([hidden])")) {
    drafts.set(form.closest(".notice").dataset.id, [form.elements[0].value, form.contains(document.activeElement)]);
  }
  // Those awaiting an answer first, the nearest deadline first; then the answered, newest first, the
  // older ones folded away.
  const open = notices.filter((n) => OPEN.has(n.status)).sort((a, b) => a.deadline_at.localeCompare(b.deadline_at));
  const closed = notices.filter((n) => !OPEN.has(n.status));
  const items = [...open, ...closed].map((n) => {
    const li = document.createElement("li");
    const escalated = n.escalations > 0;
    li.className = `notice ${n.status}${escalated ? " escalated" : ""}`;
    li.dataset.id = n.id;
    li.dataset.status = n.status;
    const counterpart = names.get(incoming ? n.from_party_id : n.to_party_id) ?? "counterpart";
    const head = text("strong", "", `${incoming ? "From" : "To"} ${counterpart}: operation ${n.operation_id.slice(0, 8)} ${n.trigger}`);
    const status = text("span", `status ${n.status}`, n.status + (escalated ? `, escalated ×${n.escalations}` : ""));
    const lead = text("span", "lead", `lead time ${duration(n.lead_time_s)}, sent ${utcDateTime(n.sent_at)}`);
    lead.title = localTime(n.sent_at);
    li.append(head, status, lead, text("span", "what", activity(n.operation)));
    if (n.conflicts.length) {
      const k = n.conflicts.length;
      li.append(text("span", "conflicts", `⚠ ${k} conflict${k === 1 ? "" : "s"} with ${incoming ? "your" : "their"} activity`));
    }
    if (OPEN.has(n.status)) {
      const clock = text("span", "countdown", countdown(n.deadline_at, nowMs));
      clock.dataset.deadline = n.deadline_at;
      clock.title = `deadline ${utcDateTime(n.deadline_at)} (${localTime(n.deadline_at)})`;
      li.append(clock);
    } else if (n.decision) {
      const said = `${n.decision}${n.reason ? `: “${n.reason}”` : ""}`;
      li.append(text("span", "decision", n.responded_at ? `${said} at ${utcDateTime(n.responded_at)}` : said));
    }
    if (incoming && OPEN.has(n.status)) li.append(answerControls(n, onAnswer, drafts.get(n.id)));
    return li;
  });
  const older = items.splice(open.length + SHOWN_ANSWERED);
  if (older.length) {
    const more = document.createElement("li");
    const details = document.createElement("details");
    const inner = document.createElement("ol");
    inner.className = "notices";
    inner.append(...older);
    details.append(text("summary", "", `${older.length} earlier`), inner);
    more.append(details);
    items.push(more);
  }
  list.replaceChildren(...items);
  list.querySelector("form.objection-form[data-focus] input")?.focus();
}

/** "2026-11-25 09:44Z → 10:29Z, 0–900 m (0–2953 ft)": when and how high the operation flies. */
function activity(operation) {
  const extents = operation?.extents ?? [];
  if (!extents.length) return "";
  const starts = extents.map((e) => e.time_start.value).sort();
  const ends = extents.map((e) => e.time_end.value).sort();
  const lower = Math.min(...extents.map((e) => e.volume.altitude_lower.value));
  const upper = Math.max(...extents.map((e) => e.volume.altitude_upper.value));
  const [from, to] = [utcDateTime(starts[0]), utcDateTime(ends.at(-1))];
  const until = from.slice(0, 10) === to.slice(0, 10) ? to.slice(11) : to;
  return `${from} → ${until}, ${band(lower, upper)}`;
}

function answerControls(notice, onAnswer, draft) {
  const box = document.createElement("div");
  box.className = "answer";
  const ack = text("button", "ack", "Acknowledge");
  const object = text("button", "object", "Object…");
  const form = document.createElement("form");
  form.className = "objection-form";
  form.hidden = true;
  const reason = document.createElement("input");
  reason.type = "text";
  reason.required = true;
  reason.placeholder = "Reason";
  reason.setAttribute("aria-label", "Reason for the objection");
  const send = text("button", "", "Send objection");
  form.append(reason, send);
  if (draft) {
    [reason.value] = draft;
    form.hidden = false;
    if (draft[1]) form.dataset.focus = "";
  }
  const error = text("p", "error", "");
  error.setAttribute("role", "alert");
  for (const b of [ack, object]) b.type = "button";
  const answer = async (decision, why) => {
    for (const b of box.querySelectorAll("button")) b.disabled = true;
    try {
      await onAnswer(notice, decision, why);
    } catch (refusal) {
      error.textContent = refusal.text ?? refusal.message;
      for (const b of box.querySelectorAll("button")) b.disabled = false;
    }
  };
  ack.addEventListener("click", () => answer("acknowledged"));
  object.addEventListener("click", () => {
    form.hidden = false;
    reason.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    answer("objection", reason.value.trim());
  });
  box.append(ack, object, form, error);
  return box;
}
