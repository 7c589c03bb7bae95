// Live escalation queue: Server-Sent Events from /api/v1/handoffs/stream keep the /escalations
// cards current without a reload. The browser authenticates with its session cookie (no token in
// any URL). New escalations slide in at the top; claimed/released/resolved/cancelled cards update
// in place, or leave when they no longer match the page's status filter. While the tab is hidden
// the title flashes "(n) New escalation". After an error the stream reconnects with exponential
// backoff and jitter, resuming after the last event id it saw; on `resync` the queue reloads.

const STREAM_URL = "/api/v1/handoffs/stream";
const EVENT_TYPES = [
  "handoff.created",
  "handoff.claimed",
  "handoff.released",
  "handoff.resolved",
  "handoff.cancelled",
];
const ANIMATION_MS = 200;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30000;

const queue = document.getElementById("queue");
const template = document.getElementById("handoff-card-template");

function reducedMotion() {
  return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

function loadStylesheet() {
  if (document.querySelector('link[href="/static/escalations_live.css"]')) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/static/escalations_live.css";
  document.head.appendChild(link);
}

function formatAge(iso) {
  const created = Date.parse(iso);
  if (Number.isNaN(created)) return "";
  const s = Math.max(0, Math.floor((Date.now() - created) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
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

// --- title flash while hidden ---------------------------------------------------------------

const originalTitle = document.title;
let unseen = 0;
let flashTimer = null;

function flashTitle() {
  if (!document.hidden) return;
  unseen += 1;
  const label = `(${unseen}) New escalation`;
  document.title = label;
  if (flashTimer) return;
  let on = true;
  flashTimer = window.setInterval(() => {
    on = !on;
    document.title = on ? `(${unseen}) New escalation` : originalTitle;
  }, 1000);
}

function stopFlash() {
  if (flashTimer) window.clearInterval(flashTimer);
  flashTimer = null;
  unseen = 0;
  document.title = originalTitle;
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) stopFlash();
});

// --- cards ----------------------------------------------------------------------------------

function matchesFilter(status) {
  const filter = queue.dataset.statusFilter || "open";
  if (filter === "all") return true;
  if (filter === "live") return status === "open" || status === "claimed";
  return filter === status;
}

function setField(card, name, value) {
  card.querySelectorAll(`[data-field="${name}"]`).forEach((el) => {
    el.textContent = value == null ? "" : String(value);
  });
}

function fill(card, h) {
  card.id = `handoff-${h.id}`;
  card.dataset.handoffId = h.id;
  if (h.session_id) card.dataset.sessionId = h.session_id;
  card.dataset.status = h.status;
  card.dataset.urgency = h.urgency;
  card.dataset.createdAt = h.created_at || card.dataset.createdAt || "";
  [...card.classList]
    .filter((c) => c.startsWith("urgency-") || c.startsWith("status-"))
    .forEach((c) => card.classList.remove(c));
  card.classList.add(`urgency-${h.urgency}`, `status-${h.status}`);
  setField(card, "reason", h.reason);
  setField(card, "session_title", h.session_title);
  setField(card, "customer", h.customer || "—");
  setField(card, "escalated_by_name", h.escalated_by_name);
  setField(card, "urgency", h.urgency);
  setField(card, "status", h.status);
  setField(card, "claimed_by_name", h.claimed_by_name || "");
  setField(card, "age", formatAge(card.dataset.createdAt));
  const urgency = card.querySelector('[data-field="urgency"]');
  if (urgency) urgency.className = `badge urgency ${h.urgency}`;
  const status = card.querySelector('[data-field="status"]');
  if (status) status.className = `badge handoff-status status-${h.status}`;
  const claimedBy = card.querySelector(".claimed-by");
  if (claimedBy) claimedBy.hidden = !h.claimed_by_id;
  const claim = card.querySelector('[data-action="claim"]');
  if (claim) {
    claim.hidden = h.status !== "open";
    claim.disabled = false;
  }
  card.querySelectorAll('[data-link="context"]').forEach((a) => {
    a.href = `/escalations/${encodeURIComponent(h.id)}`;
  });
}

function newCard(h) {
  const card = template.content.firstElementChild.cloneNode(true);
  fill(card, h);
  return card;
}

function updateEmptyState() {
  const empty = document.getElementById("queue-empty");
  if (empty) empty.hidden = queue.querySelector(".handoff-card") !== null;
}

function removeCard(card) {
  if (reducedMotion()) {
    card.remove();
    updateEmptyState();
    return;
  }
  card.classList.add("live-leave");
  window.setTimeout(() => {
    card.remove();
    updateEmptyState();
  }, ANIMATION_MS);
}

const touched = new Set(); // handoffs an event has updated since the page loaded

function apply(type, h) {
  if (!h || !h.id) return;
  touched.add(h.id);
  const existing = document.getElementById(`handoff-${h.id}`);
  if (matchesFilter(h.status)) {
    if (existing) {
      fill(existing, h);
      existing.classList.remove("live-updated");
      if (!reducedMotion()) {
        void existing.offsetWidth; // restart the animation
        existing.classList.add("live-updated");
      }
    } else {
      const card = newCard(h);
      if (!reducedMotion()) card.classList.add("live-enter");
      queue.insertBefore(card, queue.firstElementChild);
      window.setTimeout(() => card.classList.remove("live-enter"), ANIMATION_MS + 50);
    }
  } else if (existing) {
    fill(existing, h);
    removeCard(existing);
  }
  updateEmptyState();
  if (type === "handoff.created") flashTitle();
}

// The page was rendered a moment before the stream subscribed: an escalation made in between is
// in neither. When a stream opens before any event id is known, add such cards (events win).
async function reconcile() {
  const filter = queue.dataset.statusFilter || "open";
  let body;
  try {
    const response = await fetch(`/api/v1/handoffs/queue?status=${encodeURIComponent(filter)}`, {
      credentials: "same-origin",
      headers: { accept: "application/json" },
    });
    if (!response.ok) return;
    body = await response.json();
  } catch {
    return;
  }
  const newestFirst = body.items || [];
  for (const h of [...newestFirst].reverse()) {
    if (touched.has(h.id) || document.getElementById(`handoff-${h.id}`)) continue;
    if (!matchesFilter(h.status)) continue;
    const card = newCard(h);
    queue.insertBefore(card, queue.firstElementChild);
  }
  updateEmptyState();
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

function refreshAges() {
  queue.querySelectorAll(".handoff-card[data-created-at]").forEach((card) => {
    const age = card.querySelector('[data-field="age"]');
    if (age && card.dataset.createdAt) age.textContent = formatAge(card.dataset.createdAt);
  });
}

if (queue && template && "EventSource" in window) {
  loadStylesheet();
  showConnection("reconnecting");
  connect();
  window.setInterval(refreshAges, 30000);
  window.addEventListener("pagehide", () => source && source.close());
  window.flowpilotLive = { state: () => indicator().dataset.state, lastEventId: () => lastEventId };
}
