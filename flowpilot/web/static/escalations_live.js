// Live escalation queue: the connection. Server-Sent Events from /api/v1/handoffs/stream keep the
// /escalations cards current without a reload. The browser authenticates with its session cookie
// (no token in any URL). What a card shows and where it goes is queue_cards.js; notifications,
// sound, favicon and title are queue_attention.js. After an error the stream reconnects with
// exponential backoff and jitter, resuming after the last event id it saw; on `resync` the queue
// reloads.
import { attention } from "/static/queue_attention.js";
import { applyEvent, reconcile as reconcileCards, startClock } from "/static/queue_cards.js";

const STREAM_URL = "/api/v1/handoffs/stream";
const EVENT_TYPES = [
  "handoff.created",
  "handoff.claimed",
  "handoff.released",
  "handoff.resolved",
  "handoff.cancelled",
  "handoff.breached",
  "handoff.assigned",
  "handoff.idle_nudged",
];
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30000;

const queue = document.getElementById("queue");
const template = document.getElementById("handoff-card-template");

function loadStylesheet() {
  if (document.querySelector('link[href="/static/escalations_live.css"]')) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/static/escalations_live.css";
  document.head.appendChild(link);
}

// --- connection indicator -------------------------------------------------------------------

function indicator() {
  let el = document.getElementById("queue-live-status");
  if (!el) {
    el = document.createElement("p");
    el.id = "queue-live-status";
    el.setAttribute("aria-live", "polite");
    queue.parentNode.insertBefore(el, queue);
  }
  el.classList.add("live-indicator");
  return el;
}

function showConnection(state) {
  const el = indicator();
  el.dataset.state = state;
  el.classList.toggle("reconnecting", state !== "live");
  el.innerHTML = "";
  const dot = document.createElement("span");
  dot.className = "dot";
  dot.setAttribute("aria-hidden", "true");
  dot.textContent = "● ";
  el.appendChild(dot);
  el.appendChild(document.createTextNode(state === "live" ? "Live" : "Reconnecting…"));
}

// --- cards (queue_cards.js) and attention (queue_attention.js) ----------------------------

function apply(type, h) {
  applyEvent(type, h);
  attention.onEvent(type, h);
}

// The page was rendered a moment before the stream subscribed: an escalation made in between is
// in neither. When a stream opens before any event id is known, add such cards (events win).
async function reconcile() {
  const d = queue.dataset;
  const params = new URLSearchParams({ status: d.statusFilter || "open", sort: d.sort || "newest" });
  if (d.urgencyFilter) params.set("urgency", d.urgencyFilter);
  if (d.claimedBy) params.set("claimed_by", "me");
  if (d.q) params.set("q", d.q);
  let body;
  try {
    const response = await fetch(`/api/v1/handoffs/queue?${params}`, {
      credentials: "same-origin",
      headers: { accept: "application/json" },
    });
    if (!response.ok) return;
    body = await response.json();
  } catch {
    return;
  }
  reconcileCards(body.items || []);
}

// --- the stream -----------------------------------------------------------------------------

let source = null;
let lastEventId = null;
let attempts = 0;
let retryTimer = null;
const paged = new URLSearchParams(window.location.search).has("cursor");

function onEvent(event) {
  const id = Number(event.lastEventId);
  if (Number.isFinite(id) && id > 0) {
    if (lastEventId !== null && id <= lastEventId) return; // duplicate
    lastEventId = id;
  }
  let data;
  try {
    data = JSON.parse(event.data);
  } catch {
    return;
  }
  apply(event.type, data);
}

function onResync(event) {
  const id = Number(event.lastEventId);
  if (Number.isFinite(id)) lastEventId = id;
  // The server could not replay what we missed: show the queue as it is now.
  if (source) source.close();
  window.location.reload();
}

function scheduleReconnect() {
  if (retryTimer) return;
  showConnection("reconnecting");
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempts);
  const delay = ceiling / 2 + Math.random() * (ceiling / 2); // "equal jitter"
  attempts += 1;
  retryTimer = window.setTimeout(() => {
    retryTimer = null;
    connect();
  }, delay);
}

function connect() {
  // A manual reconnect names the last id in the query (an id, not a credential); the browser
  // sends it as the Last-Event-ID header itself only on its own automatic reconnects.
  const url = lastEventId !== null ? `${STREAM_URL}?last_event_id=${lastEventId}` : STREAM_URL;
  source = new EventSource(url, { withCredentials: true });
  source.addEventListener("open", () => {
    attempts = 0;
    showConnection("live");
    // With no event id yet there is nothing to replay from: compare with the queue instead.
    if (lastEventId === null && !paged) reconcile();
  });
  EVENT_TYPES.forEach((type) => source.addEventListener(type, onEvent));
  source.addEventListener("resync", onResync);
  source.addEventListener("error", () => {
    // Dropped, refused or ended (lifetime cap): reconnect on our own schedule, with backoff.
    source.close();
    scheduleReconnect();
  });
}

if (queue) startClock();

if (queue && template && "EventSource" in window) {
  loadStylesheet();
  showConnection("reconnecting");
  connect();
  window.addEventListener("pagehide", () => source && source.close());
  window.flowpilotLive = { state: () => indicator().dataset.state, lastEventId: () => lastEventId };
}
