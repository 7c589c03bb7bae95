// Attention on the queue page: desktop notifications (opt-in, at or above a chosen urgency), a
// short sound for high and critical (opt-in), a count badge on the favicon, and a title naming
// the most urgent unclaimed escalation: "(2) CRITICAL · Printer offline". Preferences live on the
// server (PATCH /api/v1/me/preferences: alert_desktop, alert_min_urgency, alert_sound).
//   import { attention } from "/static/queue_attention.js";
//   attention.onEvent(type, handoff)   // after each queue event (the connection calls it)
import { api, showError } from "/static/api.js";
import { TRIAGE_RANK } from "/static/queue_cards.js";

const queue = document.getElementById("queue");
const panel = document.getElementById("queue-alerts");
const desktopBox = document.getElementById("alert-desktop");
const minSelect = document.getElementById("alert-min-urgency");
const soundBox = document.getElementById("alert-sound");
const statusEl = document.getElementById("alert-status");
const originalTitle = document.title;
const FAVICON = "/static/favicon.svg";

const prefs = {
  desktop: panel ? panel.dataset.alertDesktop === "true" : false,
  minUrgency: panel ? panel.dataset.alertMinUrgency || "high" : "high",
  sound: panel ? panel.dataset.alertSound === "true" : false,
};
let unclaimed = queue ? Number(queue.dataset.unclaimedCount || "0") : 0;
let top = null; // the most urgent, longest-waiting unclaimed escalation: {urgency, session_title}
let unseenWhileHidden = 0;
let flashTimer = null;

function atLeast(urgency, minimum) {
  return (TRIAGE_RANK[urgency] ?? 3) <= (TRIAGE_RANK[minimum] ?? 3);
}

// --- title and favicon ----------------------------------------------------------------------

function titleText() {
  if (!unclaimed || !top) return originalTitle;
  return `(${unclaimed}) ${String(top.urgency).toUpperCase()} · ${top.session_title}`;
}

function paintTitle() {
  if (flashTimer) return; // the flash paints it
  document.title = titleText();
}

function flash() {
  if (!document.hidden) return;
  unseenWhileHidden += 1;
  if (flashTimer) return;
  document.title = titleText();
  let on = true;
  flashTimer = window.setInterval(() => {
    on = !on;
    document.title = on ? titleText() : `New escalation · ${originalTitle}`;
  }, 1000);
}

function stopFlash() {
  if (flashTimer) window.clearInterval(flashTimer);
  flashTimer = null;
  unseenWhileHidden = 0;
  paintTitle();
}

function faviconHref(count) {
  if (!count) return FAVICON;
  const label = count > 99 ? "99+" : String(count);
  const size = label.length > 2 ? 11 : 14;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">` +
    `<rect width="32" height="32" rx="7" fill="#101828"/><path d="M16 6 L26 25 H6 Z" fill="#7ea2ff"/>` +
    `<circle cx="22" cy="10" r="10" fill="#d92d20"/>` +
    `<text x="22" y="14.5" font-family="Arial,sans-serif" font-weight="700" font-size="${size}" ` +
    `text-anchor="middle" fill="#fff">${label}</text></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

function paintFavicon() {
  let link = document.querySelector('link[rel="icon"]');
  if (!link) {
    link = document.createElement("link");
    link.rel = "icon";
    document.head.appendChild(link);
  }
  link.type = "image/svg+xml";
  link.href = faviconHref(unclaimed);
  link.dataset.count = String(unclaimed);
}

function paintCounts() {
  const tab = document.getElementById("count-unclaimed");
  if (tab) tab.textContent = String(unclaimed);
  paintFavicon();
  paintTitle();
}

let topTimer = null;
async function refreshTop() {
  try {
    const body = await api("GET", "/api/v1/handoffs/queue?status=open&sort=urgency&limit=1");
    top = (body.items || [])[0] || null;
  } catch {
    return; // keep the last one; the next event tries again
  }
  paintTitle();
}

function refreshTopSoon() {
  window.clearTimeout(topTimer);
  topTimer = window.setTimeout(refreshTop, 250);
}

// --- desktop notification and sound ---------------------------------------------------------

let audio = null;
function beep(urgency) {
  if (!prefs.sound || !atLeast(urgency, "high")) return;
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const notes = urgency === "critical" ? [880, 660, 880] : [740];
    notes.forEach((hz, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      const start = audio.currentTime + i * 0.18;
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.2, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.15);
      osc.connect(gain).connect(audio.destination);
      osc.start(start);
      osc.stop(start + 0.16);
    });
    document.documentElement.dataset.lastBeep = urgency;
  } catch {
    /* no audio device: the notification and the title still tell */
  }
}

function notify(h) {
  if (!prefs.desktop || !("Notification" in window) || Notification.permission !== "granted") return;
  if (!atLeast(h.urgency, prefs.minUrgency)) return;
  const where = [h.customer, h.asset].filter(Boolean).join(" · ");
  const n = new Notification(`${String(h.urgency).toUpperCase()} escalation: ${h.session_title}`, {
    body: [where, h.reason].filter(Boolean).join("\n"),
    tag: `flowpilot-${h.id}`,
    icon: FAVICON,
  });
  n.onclick = () => {
    window.focus();
    window.location.assign(`/escalations/${encodeURIComponent(h.id)}`);
  };
}

// The idle guard's nudge, on the holder's own open queue page (and as a desktop notice).
function nudged(h) {
  const text = `You claimed “${h.session_title}” ${h.minutes_idle} min ago and have not added a step yet.`;
  let el = document.getElementById("idle-nudge");
  if (!el && queue) {
    el = document.createElement("p");
    el.id = "idle-nudge";
    el.className = "alert warn";
    el.setAttribute("role", "status");
    queue.parentNode.insertBefore(el, queue);
  }
  if (el) {
    el.textContent = text + " ";
    const link = document.createElement("a");
    link.href = `/sessions/${encodeURIComponent(h.session_id)}`;
    link.textContent = "Open the session";
    el.appendChild(link);
  }
  if (prefs.desktop && "Notification" in window && Notification.permission === "granted") {
    new Notification("FlowPilot: no action yet", { body: text, tag: `flowpilot-idle-${h.id}`, icon: FAVICON });
  }
}

// --- preferences ----------------------------------------------------------------------------

function say(text) {
  if (statusEl) statusEl.textContent = text;
}

async function save(changes) {
  try {
    await api("PATCH", "/api/v1/me/preferences", changes);
    say("Saved.");
  } catch (error) {
    showError(statusEl, error);
  }
}

async function setDesktop(on) {
  if (on) {
    if (!("Notification" in window)) {
      desktopBox.checked = false;
      say("This browser cannot show desktop notifications.");
      return;
    }
    const permission =
      Notification.permission === "default" ? await Notification.requestPermission() : Notification.permission;
    if (permission !== "granted") {
      desktopBox.checked = false;
      say("Your browser blocks notifications from FlowPilot. Allow them in the site settings, then try again.");
      return;
    }
  }
  prefs.desktop = on;
  await save({ alert_desktop: on });
}

function wirePanel() {
  if (!panel) return;
  panel.hidden = false;
  desktopBox.addEventListener("change", () => setDesktop(desktopBox.checked));
  minSelect.addEventListener("change", () => {
    prefs.minUrgency = minSelect.value;
    save({ alert_min_urgency: minSelect.value });
  });
  soundBox.addEventListener("change", () => {
    prefs.sound = soundBox.checked;
    if (prefs.sound) beep("high"); // a sample, and the click lets the page play sound later
    save({ alert_sound: prefs.sound });
  });
  if (prefs.desktop && "Notification" in window && Notification.permission !== "granted") {
    say("Desktop notifications are on, but this browser has not allowed them here yet.");
  }
}

// --- what each event changes ----------------------------------------------------------------

// How the number of open escalations moves with each event type (claim and cancel only leave
// "open", release only returns to it); duplicates never get here (the connection drops them).
const OPEN_DELTA = {
  "handoff.created": 1,
  "handoff.claimed": -1,
  "handoff.released": 1,
  "handoff.cancelled": -1,
};

export const attention = {
  onEvent(type, h) {
    if (!h) return;
    unclaimed = Math.max(0, unclaimed + (OPEN_DELTA[type] || 0));
    if (type === "handoff.created") {
      // More urgent than the top we know: it is the new top at once (the fetch confirms it).
      if (!top || (TRIAGE_RANK[h.urgency] ?? 3) < (TRIAGE_RANK[top.urgency] ?? 3)) top = h;
      notify(h);
      beep(h.urgency);
      flash();
    }
    // Handed on straight from the queue (no previous holder): one fewer unclaimed.
    if (type === "handoff.assigned" && !h.previous_claimed_by_id) unclaimed = Math.max(0, unclaimed - 1);
    if (type === "handoff.idle_nudged" && queue && h.claimed_by_id === queue.dataset.me) nudged(h);
    if (type in OPEN_DELTA || type === "handoff.assigned") refreshTopSoon();
    paintCounts();
  },
};

if (queue) {
  wirePanel();
  const first = queue.querySelector('.handoff-card[data-status="open"]');
  const wholeQueue =
    queue.dataset.statusFilter === "open" &&
    queue.dataset.sort === "urgency" &&
    !queue.dataset.urgencyFilter &&
    !queue.dataset.q &&
    !new URLSearchParams(window.location.search).has("cursor");
  if (first && wholeQueue) {
    top = {
      urgency: first.dataset.urgency,
      session_title: first.querySelector('[data-field="session_title"]').textContent,
    };
  } else if (unclaimed) {
    refreshTop();
  }
  paintCounts();
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) stopFlash();
  });
  window.flowpilotAttention = { prefs, state: () => ({ unclaimed, top, title: document.title }) };
}
