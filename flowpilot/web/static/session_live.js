// The session page live: /api/v1/sessions/{id}/stream through the shared live client
// (live_client.js). New steps from either side join the timeline (sessions.js adds them, once),
// the escalation panel follows claim / release / assign / resolve / withdraw with a banner in
// words, and "<name> is viewing" names who else has the session open.
import { LiveClient, connectionIndicator } from "/static/live_client.js";

const root = document.getElementById("session-live");

const BANNERS = {
  "handoff.created": (h) => `Escalated to the queue (${h.urgency}).`,
  "handoff.claimed": (h, me) =>
    h.claimed_by_id === me ? "You claimed this escalation." : `${h.claimed_by_name} claimed this escalation.`,
  "handoff.assigned": (h, me) =>
    h.claimed_by_id === me ? "This escalation was assigned to you." : `Assigned to ${h.claimed_by_name}.`,
  "handoff.released": () => "The escalation was released back to the queue.",
  "handoff.resolved": () => "The escalation was resolved.",
  "handoff.cancelled": () => "The escalation was withdrawn.",
  "handoff.breached": () => "The escalation passed its claim target.",
};

function who(name, id, me) {
  return id === me ? "you" : name || "someone";
}

function showBanner(text) {
  const banner = document.getElementById("session-live-banner");
  if (!banner) return;
  banner.replaceChildren(document.createTextNode(`${text} `));
  const reload = document.createElement("a");
  reload.href = window.location.pathname;
  reload.textContent = "Reload for the latest actions";
  banner.appendChild(reload);
  banner.hidden = false;
}

function updatePanel(type, h, me) {
  const badge = document.getElementById("live-handoff-status");
  if (badge && badge.dataset.handoffId === h.id) {
    badge.textContent = h.status;
    badge.className = `badge handoff-status status-${h.status}`;
  }
  const summary = document.getElementById("live-handoff-summary");
  if (summary && (!badge || badge.dataset.handoffId === h.id)) {
    const link = summary.querySelector("a");
    summary.replaceChildren();
    if (h.status === "claimed") {
      summary.append("Claimed by ");
      const strong = document.createElement("strong");
      strong.id = "live-handoff-claimer";
      strong.textContent = who(h.claimed_by_name, h.claimed_by_id, me);
      summary.append(strong, ". ");
    } else if (h.status === "open") {
      summary.append("Waiting for an engineer or admin to claim it. ");
    } else {
      summary.append(`This escalation is ${h.status}. `);
    }
    if (link) summary.append(link);
  }
  // The handoff context screen (/escalations/{id}) shows the holder in its claim bar.
  const context = document.getElementById("handoff-context");
  if (context && context.dataset.handoffId === h.id) {
    context.dataset.status = h.status;
    const status = document.getElementById("handoff-status");
    if (status) {
      status.textContent = h.status;
      status.className = `badge handoff-status status-${h.status}`;
    }
    const holder = document.getElementById("claim-holder");
    const holderName = document.getElementById("claim-holder-name");
    if (holder && holderName) {
      holder.hidden = h.status !== "claimed";
      holderName.textContent = who(h.claimed_by_name, h.claimed_by_id, me);
    }
  }
  // Buttons that no longer apply go; new ones come with a reload (the banner offers it).
  if (h.status !== "open") {
    document.querySelectorAll('[data-action="claim"], [data-handoff-action="cancel"]').forEach((b) => {
      b.hidden = true;
    });
  }
  if (h.status !== "claimed") {
    document.querySelectorAll('[data-handoff-action="release"]').forEach((b) => {
      b.hidden = true;
    });
  }
  const assignee = document.getElementById("session-assignee");
  if (assignee && (type === "handoff.claimed" || type === "handoff.assigned")) {
    assignee.textContent = h.claimed_by_id === me ? "You" : h.claimed_by_name;
  } else if (assignee && type === "handoff.released") {
    assignee.textContent = h.escalated_by_id === me ? "You" : h.escalated_by_name;
  }
}

function showViewers(viewers, me) {
  const el = document.getElementById("session-viewers");
  if (!el) return;
  const others = viewers.filter((v) => v.id !== me).map((v) => v.name);
  el.dataset.viewers = String(others.length);
  if (!others.length) {
    el.textContent = "";
    el.hidden = true;
    return;
  }
  const names = others.length > 1 ? `${others.slice(0, -1).join(", ")} and ${others.at(-1)}` : others[0];
  el.textContent = `${names} ${others.length > 1 ? "are" : "is"} viewing`;
  el.hidden = false;
}

if (root && window.fetch && window.ReadableStream) {
  const sessionId = root.dataset.sessionId;
  const me = root.dataset.me;
  let indicator = null;
  const client = new LiveClient({
    url: `/api/v1/sessions/${encodeURIComponent(sessionId)}/stream`,
    onEvent(type, data) {
      if (type === "step.created") {
        document.dispatchEvent(new CustomEvent("flowpilot:step", { detail: data }));
      } else if (type === "presence") {
        showViewers(data.viewers || [], me);
      } else if (type.startsWith("handoff.")) {
        updatePanel(type, data, me);
        const banner = BANNERS[type];
        showBanner(banner ? banner(data, me) : `The escalation is ${data.status}.`);
      }
    },
    onState(state, info) {
      indicator.render(state, info);
      if (state !== "live") showViewers([], me);
    },
    onResync() {
      window.location.reload();
    },
  });
  indicator = connectionIndicator(document.getElementById("session-live-status"), client);
  indicator.render("connecting");
  client.start();
  window.flowpilotSessionLive = { state: () => client.state, retryNow: () => client.retryNow() };
}
