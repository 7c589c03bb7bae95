// Sessions pages: the "New session" form (with environment rows) and "Add a step".
import { api, busy, formatWhen, showError } from "/static/api.js";

// ---- New session -------------------------------------------------------------------------
const newForm = document.getElementById("new-session-form");
if (newForm) {
  const rows = document.getElementById("env-rows");
  const template = document.getElementById("env-row-template");
  const error = document.getElementById("new-session-error");

  const addRow = (focus) => {
    const row = template.content.firstElementChild.cloneNode(true);
    row.querySelector(".env-remove").addEventListener("click", () => row.remove());
    rows.appendChild(row);
    if (focus) row.querySelector('[name="env-key"]').focus();
  };
  addRow(false);
  document.getElementById("env-add").addEventListener("click", () => addRow(true));

  newForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(error, null);
    const title = newForm.title.value.trim();
    const problem = newForm.problem.value.trim();
    if (!title || !problem) {
      showError(error, !title ? "Give the session a title." : "Describe the problem.");
      (!title ? newForm.title : newForm.problem).focus();
      return;
    }
    const environment = {};
    for (const row of rows.querySelectorAll(".env-row")) {
      const key = row.querySelector('[name="env-key"]').value.trim();
      const value = row.querySelector('[name="env-value"]').value.trim();
      if (!key && !value) continue;
      if (!key) {
        showError(error, `Environment: give the value "${value}" a name.`);
        return;
      }
      if (key in environment) {
        showError(error, `Environment: "${key}" appears twice.`);
        return;
      }
      environment[key] = value;
    }
    const body = { title, problem, environment };
    const customer = newForm.customer.value.trim();
    const asset = newForm.asset.value.trim();
    if (customer) body.customer = customer;
    if (asset) body.asset = asset;
    await busy(newForm, async () => {
      try {
        const created = await api("POST", "/api/v1/sessions", body);
        window.location.assign(`/sessions/${encodeURIComponent(created.id)}`);
      } catch (err) {
        showError(error, err);
      }
    });
  });

  if (location.hash === "#new-session") newForm.title.focus();
  document.getElementById("new-session-link")?.addEventListener("click", () => {
    setTimeout(() => newForm.title.focus(), 0);
  });
}

// ---- Timeline and "Add a step" ----------------------------------------------------------
// Other scripts on the session page can add a step to the timeline without a reload:
//   document.dispatchEvent(new CustomEvent("flowpilot:step", { detail: stepJson }));
// (stepJson as the steps API returns it; a step already shown is not added twice.)
const timeline = document.getElementById("timeline");
if (timeline) {
  const empty = document.getElementById("timeline-empty");
  const count = document.getElementById("step-count");

  const appendStep = (step) => {
    if (!step || !step.id || timeline.querySelector(`[data-step-id="${CSS.escape(step.id)}"]`)) return;
    const assistant = step.kind === "assistant";
    const item = document.createElement("li");
    item.className = `timeline-item kind-${step.kind} is-new${assistant ? " is-assistant" : ""}`;
    item.dataset.stepId = step.id;
    const meta = document.createElement("div");
    meta.className = "timeline-meta";
    const badge = document.createElement("span");
    badge.className = `badge kind-${step.kind}`;
    badge.textContent = step.kind;
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = assistant ? "Assistant" : step.actor_name || "Former user";
    const time = document.createElement("time");
    time.dateTime = step.created_at;
    time.textContent = formatWhen(step.created_at);
    meta.append(badge, author, time);
    const content = document.createElement("div");
    content.className = "timeline-content prewrap";
    content.textContent = step.content;
    item.append(meta, content);
    timeline.appendChild(item);
    if (empty) empty.hidden = true;
    if (count) count.textContent = String(timeline.children.length);
  };
  document.addEventListener("flowpilot:step", (event) => appendStep(event.detail));

  const stepForm = document.getElementById("step-form");
  if (stepForm) {
    const error = document.getElementById("step-error");
    const sessionId = stepForm.dataset.sessionId;

    stepForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError(error, null);
      const kind = stepForm.querySelector('[name="kind"]:checked')?.value || "note";
      const content = stepForm.content.value.trim();
      if (!content) {
        showError(error, "Write what you checked, did or found.");
        stepForm.content.focus();
        return;
      }
      await busy(stepForm, async () => {
        try {
          const url = `/api/v1/sessions/${encodeURIComponent(sessionId)}/steps`;
          appendStep(await api("POST", url, { kind, content }));
          stepForm.content.value = "";
          stepForm.content.focus();
        } catch (err) {
          showError(error, err);
        }
      });
    });

    // Ctrl/Cmd+Enter adds the step from the text area.
    stepForm.content.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) stepForm.requestSubmit();
    });
  }
}
