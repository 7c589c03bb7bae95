// Fills the time-to-first-action stat card when the page did not render it server-side.
const card = document.querySelector("[data-analytics-card][data-pending]");

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const whole = Math.round(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${String(whole % 60).padStart(2, "0")}s`;
  return `${Math.floor(whole / 3600)}h ${String(Math.floor((whole % 3600) / 60)).padStart(2, "0")}m`;
}

function set(name, text) {
  const el = card.querySelector(`[data-field="${name}"]`);
  if (el) el.textContent = text;
}

async function load() {
  const days = card.dataset.days || "30";
  try {
    const response = await fetch(`/api/v1/analytics/escalations?days=${encodeURIComponent(days)}`, {
      credentials: "same-origin",
      headers: { accept: "application/json" },
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const stats = await response.json();
    set("n_with_action", String(stats.n_with_action));
    set("n_claimed", String(stats.n_claimed));
    set("avg", duration(stats.time_to_first_action.avg_seconds));
    set("median", duration(stats.time_to_first_action.median_seconds));
    set("definition", stats.metric_definition);
    card.title = stats.metric_definition;
    delete card.dataset.pending;
  } catch (error) {
    set("definition", "Metrics are unavailable right now; reload the page to try again.");
  }
}

if (card) load();
