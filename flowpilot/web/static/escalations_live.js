// Live escalation queue: the connection. Server-Sent Events from /api/v1/handoffs/stream keep the
// /escalations cards current without a reload, through the live client both live pages share
// (live_client.js: heartbeat watchdog, "log in again" on a dead login, immediate first reconnect
// then backoff with jitter, "Retry now", Last-Event-ID replay). What a card shows and where it
// goes is queue_cards.js; notifications, sound, favicon and title are queue_attention.js. On
// `resync` the queue reloads. After a drop it says how many escalations arrived meanwhile.
import { LiveClient, connectionIndicator } from "/static/live_client.js";
import { attention } from "/static/queue_attention.js";
import { applyEvent, applyPresence, reconcile as reconcileCards, startClock } from "/static/queue_cards.js";

const STREAM_URL = "/api/v1/handoffs/stream";

const queue = document.getElementById("queue");
const template = document.getElementById("handoff-card-template");

function loadStylesheet() {
  if (document.querySelector('link[href="/static/escalations_live.css"]')) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/static/escalations_live.css";
  document.head.appendChild(link);
}

function indicatorElement() {
  let el = document.getElementById("queue-live-status");
  if (!el) {
    el = document.createElement("p");
    el.id = "queue-live-status";
    queue.parentNode.insertBefore(el, queue);
  }
  return el;
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

const paged = new URLSearchParams(window.location.search).has("cursor");

if (queue) startClock();

if (queue && template && window.fetch && window.ReadableStream) {
  loadStylesheet();
  let reopenedAt = null; // when the stream came back after a drop (ms, this browser's clock)
  let arrived = 0;
  let indicator = null;
  const client = new LiveClient({
    url: STREAM_URL,
    onEvent(type, h) {
      if (type === "presence") return applyPresence(h);
      if (!type.startsWith("handoff.")) return;
      apply(type, h);
      // Created before the stream came back, and not seen: it arrived while disconnected (the
      // replay after a reconnect). A second of slack for the server's clock against this one.
      if (type === "handoff.created" && reopenedAt !== null) {
        const created = Date.parse(h.created_at);
        if (Number.isFinite(created) && created <= reopenedAt + 1000) {
          arrived += 1;
          indicator.note(
            `${arrived} escalation${arrived === 1 ? "" : "s"} arrived while you were disconnected`,
          );
        }
      }
    },
    onOpen({ reconnected }) {
      // With no event id yet there is nothing to replay from: compare with the queue instead.
      if (client.lastEventId === null && !paged) reconcile();
      reopenedAt = reconnected ? Date.now() : null;
    },
    onState(state, info) {
      if (state === "reconnecting" && arrived) {
        arrived = 0;
        indicator.note("");
      }
      indicator.render(state, info);
    },
    onResync() {
      // The server could not replay what we missed: show the queue as it is now.
      window.location.reload();
    },
  });
  indicator = connectionIndicator(indicatorElement(), client);
  indicator.render("connecting");
  client.start();
  window.flowpilotLive = {
    state: () => indicatorElement().dataset.state,
    lastEventId: () => client.lastEventId,
    retryNow: () => client.retryNow(),
  };
}
