// Delivery records on the handoff screen (templates/notifications/_deliveries.html).
// Fetches the handoff's per-channel records and refreshes while any send is still in flight.
import { api } from "/static/api.js";

const KIND = {
  created: "New escalation",
  renotified: "Re-notify",
  admin_alerted: "Admin alert",
  breached: "Claim target missed",
};
const STATUS = {
  pending: "pending", sending: "sending", sent: "sent", failed: "retrying",
  dead: "failed", skipped: "skipped",
};

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString([], { hour: "2-digit", minute: "2-digit", month: "short", day: "numeric" });
}

function cell(label, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  td.dataset.label = label; // the column's name when the table stacks on a phone
  if (cls) td.className = cls;
  return td;
}

function detail(item) {
  if (item.status === "sent") return `sent ${when(item.sent_at)}`;
  if (item.status === "failed") return `${item.last_error || "failed"} · next try ${when(item.next_attempt_at)}`;
  if (item.status === "dead" || item.status === "skipped") return item.last_error || "";
  return "";
}

async function refresh(section) {
  const summary = section.querySelector(".deliveries-summary");
  const table = section.querySelector(".deliveries-table");
  let body;
  try {
    body = await api("GET", section.dataset.deliveriesUrl);
  } catch (err) {
    summary.textContent = `Notifications could not be loaded: ${err.message}`;
    return false;
  }
  summary.textContent = body.summary;
  const rows = body.items.map((item) => {
    const tr = document.createElement("tr");
    tr.dataset.status = item.status;
    tr.append(
      cell("Recipient", item.recipient_name),
      cell("Channel", item.channel),
      cell("Notice", KIND[item.kind] || item.kind),
      cell("Status", STATUS[item.status] || item.status, `status-${item.status}`),
      cell("Attempts", String(item.attempts)),
      cell("Detail", detail(item), "small"),
    );
    return tr;
  });
  table.tBodies[0].replaceChildren(...rows);
  table.hidden = rows.length === 0;
  return body.items.some((i) => ["pending", "sending", "failed"].includes(i.status));
}

async function start() {
  const section = document.getElementById("handoff-deliveries");
  if (!section) return;
  let delay = 3000;
  const tick = async () => {
    const inFlight = await refresh(section);
    // Keep watching while sends are in flight; slow down otherwise (the chain may add more).
    delay = inFlight ? 3000 : 30000;
    setTimeout(tick, delay);
  };
  tick();
}

start();
