// Escalations: claim buttons (queue cards, context screen, session panel), the escalate form and
// the release/resolve/cancel buttons on the session view, and the context screen's "dissolve"
// into the session view. Claim buttons are handled by delegation, so cards the live queue adds
// later (escalations_live.js) work without extra wiring.
import { api, showError } from "/static/api.js";

const DISSOLVE_MS = 300;

function reducedMotion() {
  return window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

// Fade and blur the handoff context away, then open the session where the senior acts.
export function dissolveTo(url) {
  const screen = document.getElementById("handoff-context") || document.querySelector("main");
  if (!screen || reducedMotion()) {
    window.location.assign(url);
    return;
  }
  let gone = false;
  const go = () => {
    if (gone) return;
    gone = true;
    window.location.assign(url);
  };
  screen.addEventListener("transitionend", go, { once: true });
  screen.classList.add("dissolving");
  window.setTimeout(go, DISSOLVE_MS + 80);
}

function holderName(body, fallback = "someone else") {
  return (body && (body.claimed_by_name || body.claimed_by_id)) || fallback;
}

function markClaimedCard(card, status, name) {
  card.dataset.status = status;
  const badge = card.querySelector('[data-field="status"]');
  if (badge) {
    badge.textContent = status;
    badge.className = `badge handoff-status status-${status}`;
  }
  const claimedBy = card.querySelector(".claimed-by");
  const nameEl = card.querySelector('[data-field="claimed_by_name"]');
  if (claimedBy && nameEl && name) {
    nameEl.textContent = name;
    claimedBy.hidden = false;
  }
  const button = card.querySelector('[data-action="claim"]');
  if (button) button.hidden = true;
}

async function claim(button) {
  const card = button.closest(".handoff-card");
  const screen = document.getElementById("handoff-context");
  const id = button.dataset.handoffId || (card && card.dataset.handoffId) || (screen && screen.dataset.handoffId);
  if (!id) return;
  const errorEl =
    (card && card.querySelector("[data-claim-error]")) ||
    document.getElementById("claim-error") ||
    document.getElementById("handoff-error");
  showError(errorEl, null);
  button.disabled = true;
  // While this claim is in flight (and after it lost) the queue keeps the card a few seconds,
  // so a live "claimed" event does not take it away before the user reads who won.
  if (card) card.dataset.claiming = "1";
  try {
    const handoff = await api("POST", `/api/v1/handoffs/${encodeURIComponent(id)}/claim`);
    if (button.dataset.dissolve === "true") {
      // Claimed from the context screen: the senior has read it; straight into the session.
      dissolveTo(`/sessions/${encodeURIComponent(handoff.session_id)}`);
    } else if (card) {
      // From the queue: show the handoff context first (it then dissolves into the session).
      window.location.assign(`/escalations/${encodeURIComponent(id)}?claimed=1`);
    } else {
      window.location.reload();
    }
  } catch (error) {
    button.disabled = false;
    if (error.status === 409) {
      const body = error.body || {};
      const status = body.status || "claimed";
      const message =
        status === "claimed" ? `Claimed by ${holderName(body)}` : `This escalation is ${status}.`;
      if (card) markClaimedCard(card, status, body.claimed_by_name);
      if (screen) {
        const holder = document.getElementById("claim-holder");
        const holderNameEl = document.getElementById("claim-holder-name");
        const badge = document.getElementById("handoff-status");
        if (holder && holderNameEl && status === "claimed") {
          holderNameEl.textContent = holderName(body);
          holder.hidden = false;
        }
        if (badge) {
          badge.textContent = status;
          badge.className = `badge handoff-status status-${status}`;
        }
        button.hidden = true;
      }
      showError(errorEl, message);
      return;
    }
    if (card) delete card.dataset.claiming;
    showError(errorEl, error);
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest('[data-action="claim"]');
  if (button && !button.disabled) {
    event.preventDefault();
    claim(button);
    return;
  }
  const link = event.target.closest("[data-dissolve-link]");
  if (link && !event.metaKey && !event.ctrlKey && !event.shiftKey && event.button === 0) {
    event.preventDefault();
    dissolveTo(link.getAttribute("href"));
  }
});

// Context screen reached right after a claim from the queue: the Continue button is the next step.
const screen = document.getElementById("handoff-context");
if (screen && screen.dataset.justClaimed === "true") {
  const next = document.getElementById("continue-button");
  if (next && !next.hidden) next.focus();
}

// Session view panel --------------------------------------------------------------------------
const panel = document.getElementById("handoff-panel");
if (panel) {
  const errorEl = document.getElementById("handoff-error");
  const form = document.getElementById("escalate-form");
  const open = document.getElementById("escalate-open");
  if (form && open) {
    open.addEventListener("click", () => {
      form.hidden = false;
      open.hidden = true;
      open.setAttribute("aria-expanded", "true");
      form.querySelector("textarea").focus();
    });
    document.getElementById("escalate-cancel").addEventListener("click", () => {
      form.hidden = true;
      open.hidden = false;
      open.setAttribute("aria-expanded", "false");
      showError(errorEl, null);
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError(errorEl, null);
      const reason = form.elements.reason.value.trim();
      const urgency = (form.querySelector('input[name="urgency"]:checked') || {}).value || "normal";
      if (!reason) {
        showError(errorEl, "Reason is required: say what you are stuck on.");
        form.elements.reason.focus();
        return;
      }
      const submit = document.getElementById("escalate-submit");
      submit.disabled = true;
      try {
        await api("POST", `/api/v1/sessions/${encodeURIComponent(form.dataset.sessionId)}/handoff`, {
          reason,
          urgency,
        });
        window.location.reload();
      } catch (error) {
        submit.disabled = false;
        showError(errorEl, error);
      }
    });
  }

  panel.querySelectorAll("[data-handoff-action]").forEach((button) => {
    button.addEventListener("click", async () => {
      const action = button.dataset.handoffAction;
      if (action === "cancel" && !window.confirm("Withdraw this escalation?")) return;
      showError(errorEl, null);
      button.disabled = true;
      try {
        await api("POST", `/api/v1/handoffs/${encodeURIComponent(button.dataset.handoffId)}/${action}`);
        window.location.reload();
      } catch (error) {
        button.disabled = false;
        showError(errorEl, error);
      }
    });
  });

  const resolveForm = document.getElementById("resolve-form");
  const resolveError = document.getElementById("resolve-error") || errorEl;
  if (resolveForm) {
    resolveForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError(resolveError, null);
      const resolution = resolveForm.elements.resolution.value.trim();
      if (!resolution) {
        showError(resolveError, "Resolution is required: say what fixed it.");
        resolveForm.elements.resolution.focus();
        return;
      }
      try {
        await api("POST", `/api/v1/handoffs/${encodeURIComponent(resolveForm.dataset.handoffId)}/resolve`, {
          resolution,
        });
        window.location.reload();
      } catch (error) {
        showError(resolveError, error);
      }
    });
  }
}
