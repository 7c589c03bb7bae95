// The assistant on pages: streamed answers and write-ups in the session view, the handoff
// summary's suggestions and suggested seniors on the context screen, and "resolved N similar"
// beside the suggested seniors on each escalation card of the queue.
import { api, ApiError, csrfToken, describeError, formatWhen, showError } from "/static/api.js";

const ERROR_MARK = "[assistant error] ";

// POST and read a text/plain stream, calling onText(textSoFar) as chunks arrive.
// Resolves to { text, error } (error: the provider's message if the stream ended with one).
async function streamText(url, body, onText) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": csrfToken(), accept: "text/plain" },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "Cannot reach FlowPilot. Check your connection and try again.");
  }
  if (!response.ok) {
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    const { message, field } = describeError(response.status, data);
    throw new ApiError(response.status, message, field, data);
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    onText(visible(text));
  }
  text += decoder.decode();
  const at = text.indexOf(ERROR_MARK);
  if (at >= 0) return { text: text.slice(0, at).trim(), error: text.slice(at + ERROR_MARK.length).trim() };
  return { text: text.trim(), error: null };
}

function visible(text) {
  const at = text.indexOf(ERROR_MARK);
  return at >= 0 ? text.slice(0, at) : text;
}

function sentence(message) {
  const t = String(message || "");
  const s = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : s + ".";
}

// ---- Session view: ask the assistant ----------------------------------------------------------
const panel = document.getElementById("assistant-panel");
if (panel) {
  const sessionId = panel.dataset.sessionId;
  const base = `/api/v1/sessions/${encodeURIComponent(sessionId)}`;
  const form = document.getElementById("assistant-ask-form");
  const answer = document.getElementById("assistant-answer");
  const error = document.getElementById("assistant-error");
  const saved = document.getElementById("assistant-saved");

  const appendToTimeline = (content) => {
    const timeline = document.getElementById("timeline");
    if (!timeline) return;
    const item = document.createElement("li");
    item.className = "timeline-item kind-assistant is-assistant is-new";
    const meta = document.createElement("div");
    meta.className = "timeline-meta";
    const badge = document.createElement("span");
    badge.className = "badge kind-assistant";
    badge.textContent = "assistant";
    const author = document.createElement("span");
    author.className = "author";
    author.textContent = "Assistant";
    const time = document.createElement("time");
    const now = new Date().toISOString();
    time.dateTime = now;
    time.textContent = formatWhen(now);
    meta.append(badge, author, time);
    const body = document.createElement("div");
    body.className = "timeline-content prewrap";
    body.textContent = content;
    item.append(meta, body);
    timeline.appendChild(item);
    const empty = document.getElementById("timeline-empty");
    if (empty) empty.hidden = true;
    const count = document.getElementById("step-count");
    if (count) count.textContent = String(timeline.children.length);
  };

  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError(error, null);
      saved.hidden = true;
      const question = form.question.value.trim();
      const button = form.querySelector('[type="submit"]');
      button.disabled = true;
      form.setAttribute("aria-busy", "true");
      answer.hidden = false;
      answer.textContent = "";
      answer.classList.add("is-streaming");
      try {
        const result = await streamText(`${base}/assistant`, question ? { question } : {}, (t) => {
          answer.textContent = t;
        });
        answer.textContent = result.text;
        if (result.error) {
          showError(error, `The assistant stopped: ${sentence(result.error)} Nothing was saved.`);
        } else {
          saved.hidden = false;
          appendToTimeline(result.text);
          form.question.value = "";
        }
      } catch (err) {
        answer.hidden = !answer.textContent;
        showError(error, err);
      } finally {
        answer.classList.remove("is-streaming");
        button.disabled = false;
        form.removeAttribute("aria-busy");
      }
    });
  }

  // ---- Customer write-up: stream into an editable text area, save as the resolution -------
  const generate = document.getElementById("writeup-generate");
  const textArea = document.getElementById("writeup-text");
  const writeupError = document.getElementById("writeup-error");
  const save = document.getElementById("writeup-save");
  const syncSave = () => { if (save) save.disabled = !textArea.value.trim(); };
  textArea.addEventListener("input", syncSave);

  generate.addEventListener("click", async () => {
    showError(writeupError, null);
    generate.disabled = true;
    if (save) save.disabled = true;
    textArea.value = "";
    textArea.setAttribute("aria-busy", "true");
    try {
      const result = await streamText(`${base}/writeup`, {}, (t) => { textArea.value = t; });
      textArea.value = result.text;
      if (result.error) showError(writeupError, `The write-up stopped: ${sentence(result.error)}`);
    } catch (err) {
      showError(writeupError, err);
    } finally {
      generate.disabled = false;
      textArea.removeAttribute("aria-busy");
      syncSave();
    }
  });

  if (save) {
    save.addEventListener("click", async () => {
      showError(writeupError, null);
      const resolution = textArea.value.trim();
      if (!resolution) {
        showError(writeupError, "Write the resolution first.");
        return;
      }
      save.disabled = true;
      try {
        await api("POST", `${base}/resolve`, { resolution });
        window.location.reload();
      } catch (err) {
        showError(writeupError, err);
        save.disabled = false;
      }
    });
  }
}

// ---- Suggested seniors (context screen and queue cards) ---------------------------------------
function seniorsList(items) {
  const fragment = document.createDocumentFragment();
  items.forEach((s, i) => {
    if (i) fragment.append(", ");
    const name = document.createElement("strong");
    name.textContent = s.name;
    const count = document.createElement("span");
    count.className = "resolved-similar";
    count.textContent = ` (resolved ${s.resolved_similar} similar)`;
    fragment.append(name, count);
  });
  return fragment;
}

async function suggestedSeniors(handoffId) {
  const data = await api("GET", `/api/v1/handoffs/${encodeURIComponent(handoffId)}/suggested-seniors`);
  return (data && data.items) || [];
}

const handoffBox = document.querySelector("[data-assistant-handoff]");
if (handoffBox) {
  const handoffId = handoffBox.dataset.assistantHandoff;
  const list = handoffBox.querySelector("[data-seniors]");
  const steps = handoffBox.querySelector("[data-next-steps]");
  const source = handoffBox.querySelector("[data-generated-by]");
  const error = handoffBox.querySelector("[role=alert]");
  const regenerate = handoffBox.querySelector("[data-regenerate]");

  const renderSummary = (summary) => {
    steps.textContent = "";
    const items = (summary.next_steps && summary.next_steps.items) || [];
    if (!items.length) {
      const p = document.createElement("li");
      p.textContent = "No similar resolved sessions in this account yet.";
      steps.append(p);
    }
    for (const item of items) {
      const li = document.createElement("li");
      li.append(item.suggestion + " ");
      const a = document.createElement("a");
      a.href = item.source.url;
      a.textContent = item.source.title;
      li.append("— ", a);
      if (item.source.resolved_by_name) li.append(`, resolved by ${item.source.resolved_by_name}`);
      steps.append(li);
    }
    const when = summary.generated_at ? ` · ${formatWhen(summary.generated_at)}` : "";
    source.textContent = `Generated by ${summary.generated_by}${when}`;
    if (summary.fallback_reason) source.textContent += ` (model not used: ${summary.fallback_reason})`;
  };

  const load = async (method) => {
    showError(error, null);
    try {
      renderSummary(await api(method, `/api/v1/handoffs/${encodeURIComponent(handoffId)}/summary`));
    } catch (err) {
      showError(error, err);
    }
  };

  suggestedSeniors(handoffId)
    .then((items) => {
      list.textContent = "";
      if (items.length) list.append(seniorsList(items));
      else list.textContent = "No one in this account has resolved a similar session yet.";
    })
    .catch((err) => showError(error, err));
  load("GET");
  regenerate?.addEventListener("click", async () => {
    regenerate.disabled = true;
    await load("POST");
    regenerate.disabled = false;
  });
}

if (document.querySelector("[data-assistant-queue]")) {
  const annotated = new WeakSet();
  const annotate = async (card) => {
    if (annotated.has(card) || !card.dataset.handoffId) return;
    annotated.add(card);
    try {
      const items = await suggestedSeniors(card.dataset.handoffId);
      if (!items.length) return;
      const line = document.createElement("p");
      line.className = "suggested-seniors";
      line.append("Suggested: ", seniorsList(items.slice(0, 3)));
      card.append(line);
    } catch {
      // A card that cannot be annotated stays as it is; the queue itself is unaffected.
    }
  };
  const scan = (root) => root.querySelectorAll?.("article.handoff-card[data-handoff-id]").forEach(annotate);
  scan(document);
  // Live cards may be inserted first and given their id after (template clones): watch both.
  new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "attributes") {
        if (record.target.matches("article.handoff-card[data-handoff-id]")) annotate(record.target);
        continue;
      }
      for (const node of record.addedNodes) {
        if (node.nodeType !== 1) continue;
        if (node.matches("article.handoff-card[data-handoff-id]")) annotate(node);
        else scan(node);
      }
    }
  }).observe(document.body, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ["data-handoff-id"],
  });
}
