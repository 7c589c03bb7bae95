// Queue cards: what a card shows and where it sits, with no knowledge of the connection.
//   import { applyEvent, reconcile, startClock } from "/static/queue_cards.js";
//   applyEvent(type, handoff)  -> { card, added } after an SSE event (added: a card new to the page)
//   reconcile(items)           -> adds cards for handoffs the page did not have (REST answer)
//   startClock()               -> keeps every countdown and waiting time moving
// The page's #queue carries its view: data-status-filter, data-claimed-by (a user id or ""),
// data-urgency-filter ("critical,high"), data-q and data-sort (newest | oldest | urgency); a card
// is shown only when it matches all of them, and inserted at its place in the sort order.
// Countdown rules (the same as flowpilot/web/words.py): "ok" while more than half the claim
// target is left, "soon" (amber) from half, "late" (red) once the due time has passed.

const queue = document.getElementById("queue");
const template = document.getElementById("handoff-card-template");
const ANIMATION_MS = 200;
const SEEN_AFTER_MS = 1000; // a "new" card counts as seen after a second in view
const UNSEEN_KEY = "flowpilot.queue.unseen";
export const TRIAGE_RANK = { critical: 0, high: 1, normal: 2, low: 3 };

function reducedMotion() {
  return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

// --- times in words -------------------------------------------------------------------------

export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

export function formatAge(iso, now = Date.now()) {
  const created = Date.parse(iso);
  if (Number.isNaN(created)) return "";
  const s = Math.max(0, Math.floor((now - created) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d`;
}

// [state, words] for a card's data-* (status, createdAt, claimDueAt, breachedAt).
export function countdown(data, now = Date.now()) {
  const due = Date.parse(data.claimDueAt || "");
  if (data.status !== "open" || Number.isNaN(due)) return ["", ""];
  const left = (due - now) / 1000;
  if (data.breachedAt || left <= 0) return ["late", `overdue by ${duration(-left)}`];
  const created = Date.parse(data.createdAt || "");
  const half = Number.isNaN(created) ? 0 : (due - created) / 2000;
  const shown = left >= 60 ? 60 * Math.ceil(left / 60) : left;
  return [left <= half ? "soon" : "ok", `claim within ${duration(shown)}`];
}

function tick(card, now) {
  const [state, words] = countdown(card.dataset, now);
  card.dataset.dueState = state;
  const el = card.querySelector('[data-field="countdown"]');
  if (el) {
    el.textContent = words;
    el.hidden = !words;
  }
  const age = card.querySelector('[data-field="age"]');
  if (age && card.dataset.createdAt) age.textContent = formatAge(card.dataset.createdAt, now);
  const idle = card.querySelector('[data-field="idle_note"]');
  if (idle) {
    const since = Date.parse(idle.dataset.heldSince || "");
    idle.hidden = !since;
    // The same words as the server (web/words.py idle_note).
    if (since) {
      const verb = idle.dataset.handed === "true" ? "handed over" : "claimed";
      idle.textContent = `${verb} ${duration((now - since) / 1000)} ago · no action yet`;
    }
  }
}

export function startClock() {
  const all = () => {
    const now = Date.now();
    queue.querySelectorAll(".handoff-card[data-handoff-id]").forEach((card) => tick(card, now));
  };
  all();
  return window.setInterval(all, 1000);
}

// --- the view's filter and order ------------------------------------------------------------

export function matches(h) {
  const d = queue.dataset;
  const filter = d.statusFilter || "open";
  if (filter === "live" ? !["open", "claimed"].includes(h.status) : filter !== "all" && filter !== h.status)
    return false;
  if (d.claimedBy && h.claimed_by_id !== d.claimedBy) return false;
  const urgencies = (d.urgencyFilter || "").split(",").filter(Boolean);
  if (urgencies.length && !urgencies.includes(h.urgency)) return false;
  const q = (d.q || "").trim().toLowerCase();
  if (q) {
    const text = [h.session_title, h.customer, h.asset, h.escalation_reason || h.reason].filter(Boolean).join("\n").toLowerCase();
    if (!text.includes(q)) return false;
  }
  return true;
}

function keyOf(data) {
  return [TRIAGE_RANK[data.urgency] ?? 2, Date.parse(data.createdAt || "") || 0, data.handoffId || ""];
}

function before(a, b) {
  const sort = queue.dataset.sort || "newest";
  const cmp = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
  if (sort === "urgency") return cmp(a[0], b[0]) || cmp(a[1], b[1]) || cmp(a[2], b[2]);
  const byTime = cmp(a[1], b[1]) || cmp(a[2], b[2]);
  return sort === "oldest" ? byTime : -byTime;
}

function insertInOrder(card) {
  const key = keyOf(card.dataset);
  const next = [...queue.querySelectorAll(".handoff-card[data-handoff-id]")].find(
    (other) => other !== card && before(key, keyOf(other.dataset)) < 0,
  );
  queue.insertBefore(card, next || null);
}

// --- filling a card -------------------------------------------------------------------------

function setField(card, name, value) {
  card.querySelectorAll(`[data-field="${name}"]`).forEach((el) => {
    el.textContent = value == null ? "" : String(value);
  });
}

export function fill(card, h) {
  card.id = `handoff-${h.id}`;
  card.dataset.handoffId = h.id;
  if (h.session_id) card.dataset.sessionId = h.session_id;
  card.dataset.status = h.status;
  card.dataset.urgency = h.urgency;
  card.dataset.createdAt = h.created_at || card.dataset.createdAt || "";
  card.dataset.claimDueAt = h.claim_due_at || "";
  card.dataset.breachedAt = h.breached_at || "";
  [...card.classList]
    .filter((c) => c.startsWith("urgency-") || c.startsWith("status-"))
    .forEach((c) => card.classList.remove(c));
  card.classList.add(`urgency-${h.urgency}`, `status-${h.status}`);
  setField(card, "reason", h.escalation_reason || h.reason);
  setField(card, "session_title", h.session_title);
  setField(card, "customer", h.customer || "no customer");
  setField(card, "asset", h.asset || "");
  setField(card, "escalated_by_name", h.escalated_by_name);
  setField(card, "urgency", h.urgency);
  setField(card, "status", h.status);
  setField(card, "claimed_by_name", h.claimed_by_name || "");
  const idle = card.querySelector('[data-field="idle_note"]');
  if (idle) {
    const idleNow = h.status === "claimed" && !h.first_action_at;
    idle.dataset.heldSince = idleNow ? h.assigned_at || h.claimed_at || "" : "";
    idle.dataset.handed = idleNow && h.assigned_at ? "true" : "";
  }
  const asset = card.querySelector("[data-asset]");
  if (asset) asset.hidden = !h.asset;
  const urgency = card.querySelector('[data-field="urgency"]');
  if (urgency) urgency.className = `urgency-badge ${h.urgency}`;
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
  tick(card, Date.now());
}

function newCard(h) {
  const card = template.content.firstElementChild.cloneNode(true);
  fill(card, h);
  return card;
}

export function updateEmptyState() {
  const empty = document.getElementById("queue-empty");
  if (empty) empty.hidden = queue.querySelector(".handoff-card") !== null;
}

// A card this user is claiming stays this long after someone else won it, saying who did.
const LOST_CLAIM_HOLD_MS = 6000;
const lastSeen = new WeakMap(); // card -> the handoff as the newest event showed it

function removeCard(card) {
  if (card.dataset.claiming === "1") {
    if (card.dataset.leaving === "1") return;
    card.dataset.leaving = "1";
    window.setTimeout(() => {
      delete card.dataset.claiming;
      delete card.dataset.leaving;
      const h = lastSeen.get(card);
      if (card.isConnected && (!h || !matches(h))) removeCard(card);
    }, LOST_CLAIM_HOLD_MS);
    return;
  }
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

// --- "new" until seen -----------------------------------------------------------------------

function unseen() {
  try {
    return new Set(JSON.parse(window.sessionStorage.getItem(UNSEEN_KEY) || "[]"));
  } catch {
    return new Set();
  }
}

function saveUnseen(ids) {
  try {
    window.sessionStorage.setItem(UNSEEN_KEY, JSON.stringify([...ids].slice(-200)));
  } catch {
    /* private mode: the marker then lasts for this page only */
  }
}

const timers = new Map();
const observer =
  "IntersectionObserver" in window
    ? new IntersectionObserver(
        (entries) => entries.forEach((entry) => watch(entry.target, entry.isIntersecting)),
        { threshold: 0.6 },
      )
    : null;

function watch(card, inView) {
  const id = card.dataset.handoffId;
  window.clearTimeout(timers.get(id));
  timers.delete(id);
  if (!inView || document.hidden) return;
  timers.set(
    id,
    window.setTimeout(() => markSeen(card), SEEN_AFTER_MS),
  );
}

function markSeen(card) {
  const marker = card.querySelector("[data-new-marker]");
  if (marker) marker.hidden = true;
  card.classList.remove("is-new");
  if (observer) observer.unobserve(card);
  const ids = unseen();
  ids.delete(card.dataset.handoffId);
  saveUnseen(ids);
}

export function markNew(card) {
  const marker = card.querySelector("[data-new-marker]");
  if (marker) marker.hidden = false;
  card.classList.add("is-new");
  const ids = unseen();
  ids.add(card.dataset.handoffId);
  saveUnseen(ids);
  if (observer) observer.observe(card);
}

function seeAgain() {
  // Back to a visible tab: cards already in view start their second now.
  if (document.hidden || !observer) return;
  queue.querySelectorAll(".handoff-card.is-new").forEach((card) => {
    observer.unobserve(card);
    observer.observe(card);
  });
}

// --- events ---------------------------------------------------------------------------------

const touched = new Set(); // handoffs an event has updated since the page loaded

export function applyEvent(type, h) {
  if (!h || !h.id) return { card: null, added: false };
  touched.add(h.id);
  const existing = document.getElementById(`handoff-${h.id}`);
  let added = false;
  let card = existing;
  if (matches(h)) {
    if (existing) {
      const moved = existing.dataset.urgency !== h.urgency;
      fill(existing, h);
      lastSeen.set(existing, h);
      if (moved) insertInOrder(existing);
      existing.classList.remove("live-updated");
      if (!reducedMotion()) {
        void existing.offsetWidth; // restart the animation
        existing.classList.add("live-updated");
      }
    } else {
      card = newCard(h);
      if (!reducedMotion()) card.classList.add("live-enter");
      insertInOrder(card);
      window.setTimeout(() => card.classList.remove("live-enter"), ANIMATION_MS + 50);
      if (type === "handoff.created") markNew(card);
      added = true;
    }
  } else if (existing) {
    fill(existing, h);
    lastSeen.set(existing, h);
    removeCard(existing);
  }
  updateEmptyState();
  if (card && card.isConnected) showViewers(card);
  return { card, added };
}

// Handoffs from a REST answer that neither the page nor an event brought (events win).
export function reconcile(items) {
  for (const h of items) {
    if (touched.has(h.id) || document.getElementById(`handoff-${h.id}`)) continue;
    if (!matches(h)) continue;
    insertInOrder(newCard(h));
  }
  updateEmptyState();
}

// A chip is a deliberate click (or Space): apply it at once. The order select waits for "Show",
// so arrow keys moving through it never navigate.
const tools = document.getElementById("queue-tools");
if (tools) {
  tools.querySelectorAll('.urgency-chips input[type="checkbox"]').forEach((box) => {
    box.addEventListener("change", () => tools.requestSubmit());
  });
}

if (queue && template) {
  const ids = unseen();
  queue.querySelectorAll(".handoff-card[data-handoff-id]").forEach((card) => {
    if (ids.has(card.dataset.handoffId)) markNew(card);
  });
  document.addEventListener("visibilitychange", seeAgain);
}

// --- who is looking (presence on the queue stream) -------------------------------------------

const viewersBySession = new Map(); // session id -> [{id, name}]

function showViewers(card) {
  let el = card.querySelector("[data-viewers]");
  const me = document.body.dataset.me || "";
  const names = (viewersBySession.get(card.dataset.sessionId) || [])
    .filter((v) => v.id !== me)
    .map((v) => v.name);
  if (!names.length) {
    if (el) el.hidden = true;
    return;
  }
  if (!el) {
    el = document.createElement("p");
    el.className = "card-viewers small muted";
    el.dataset.viewers = "";
    (card.querySelector(".card-side") || card).appendChild(el);
  }
  const list = names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` : names[0];
  el.textContent = `${list} ${names.length > 1 ? "are" : "is"} viewing`;
  el.hidden = false;
}

export function applyPresence(data) {
  if (!data || !data.session_id) return;
  viewersBySession.set(data.session_id, data.viewers || []);
  queue.querySelectorAll(`.handoff-card[data-session-id="${CSS.escape(data.session_id)}"]`).forEach(showViewers);
}
