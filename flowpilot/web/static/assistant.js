// The assistant on pages: streamed answers (kept in the session only when the user adds one)
// and write-ups in the session view, the handoff summary's suggestions and suggested seniors on
// the context screen, and "resolved N similar" beside the suggested seniors on each queue card.
import { api, ApiError, csrfToken, describeError, formatWhen, showError } from "/static/api.js";

const ERROR_MARK = "[assistant error] ";
const KEEP_MARK = "[assistant keep] ";

// POST and read a text/plain stream, calling onText(textSoFar) as chunks arrive.
// Resolves to { text, error, token, source }: error is the provider's message if the stream
// ended with one; token keeps the answer as a step; source says who wrote it, in words.
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
  const source = response.headers.get("x-assistant-source") || "";
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
  if (at >= 0) {
    return { text: text.slice(0, at).trim(), error: text.slice(at + ERROR_MARK.length).trim(), token: null, source };
  }
  const keep = text.lastIndexOf(KEEP_MARK);
  if (keep >= 0) {
    return { text: text.slice(0, keep).trim(), error: null, token: text.slice(keep + KEEP_MARK.length).trim(), source };
  }
  return { text: text.trim(), error: null, token: null, source };
}

// What a person should see of the stream so far: never the markers (nor a half-read one).
function visible(text) {
  let end = text.length;
  for (const mark of [ERROR_MARK, KEEP_MARK]) {
    const at = text.indexOf(mark);
    if (at >= 0) end = Math.min(end, at);
  }
  const tail = text.lastIndexOf("\n[");
  if (tail >= 0 && tail < end && [ERROR_MARK, KEEP_MARK].some((m) => m.startsWith(text.slice(tail + 1, end)))) {
    end = tail;
  }
  return text.slice(0, end);
}

function sentence(message) {
  const t = String(message || "");
  const s = t.charAt(0).toUpperCase() + t.slice(1);
  return /[.!?]$/.test(s) ? s : s + ".";
}

// ---- Write-up rules: a resolution needs a real Cause and Fix -----------------------------------
const HEADINGS = ["problem", "cause", "fix", "steps taken", "environment"];
// What the draft (or a model) writes when the steps do not tell: not a cause, not a fix.
const PLACEHOLDER = /^\(?\s*(not (yet )?(determined|resolved|found|known)|unknown|tbd|n\/a|to be (determined|confirmed))\b/i;

// The text under each heading of a write-up: { cause: "...", fix: "...", ... }.
export function writeupSections(text) {
  const sections = {};
  let current = null;
  for (const line of String(text || "").split("\n")) {
    const heading = line.trim().replace(/:$/, "").toLowerCase();
    if (HEADINGS.includes(heading)) {
      current = heading;
      sections[current] = sections[current] || "";
    } else if (current) {
      sections[current] += line + "\n";
    }
  }
  return sections;
}

function filled(body) {
  const text = String(body || "").trim();
  return Boolean(text) && !PLACEHOLDER.test(text);
}

// What is missing before the write-up can resolve the session ([] when nothing is).
export function writeupMissing(text) {
  const sections = writeupSections(text);
  return ["cause", "fix"].filter((name) => !filled(sections[name]));
}

// ---- Session view: ask the assistant ----------------------------------------------------------
const panel = document.getElementById("assistant-panel");
if (panel) {
  const sessionId = panel.dataset.sessionId;
  const base = `/api/v1/sessions/${encodeURIComponent(sessionId)}`;
  const form = document.getElementById("assistant-ask-form");
  const reply = document.getElementById("assistant-reply");
  const answer = document.getElementById("assistant-answer");
  const source = document.getElementById("assistant-source");
  const replyActions = document.getElementById("assistant-reply-actions");
  const keepButton = document.getElementById("assistant-keep");
  const dismiss = document.getElementById("assistant-dismiss");
  const error = document.getElementById("assistant-error");
  const saved = document.getElementById("assistant-saved");
  let latest = null; // { text, token } of the answer on show

  const clearReply = () => {
    latest = null;
    reply.hidden = true;
    replyActions.hidden = true;
    answer.textContent = "";
    source.textContent = "";
  };

  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      showError(error, null);
      saved.hidden = true;
      clearReply();
      const question = form.question.value.trim();
      const button = form.querySelector('[type="submit"]');
      button.disabled = true;
      form.setAttribute("aria-busy", "true");
      reply.hidden = false;
      answer.classList.add("is-streaming");
      try {
        const result = await streamText(`${base}/assistant`, question ? { question } : {}, (t) => {
          answer.textContent = t;
        });
        answer.textContent = result.text;
        source.textContent = result.source ? `${result.source} · not in the session unless you add it` : "";
        if (result.error) {
          showError(error, `The assistant stopped: ${sentence(result.error)} Nothing was saved.`);
        } else {
          latest = { text: result.text, token: result.token };
          replyActions.hidden = false;
          if (keepButton) keepButton.disabled = !result.token;
          form.question.value = "";
        }
      } catch (err) {
        reply.hidden = !answer.textContent;
        showError(error, err);
      } finally {
        answer.classList.remove("is-streaming");
        button.disabled = false;
        form.removeAttribute("aria-busy");
      }
    });
  }

  keepButton?.addEventListener("click", async () => {
    if (!latest || !latest.token) return;
    showError(error, null);
    keepButton.disabled = true;
    try {
      const step = await api("POST", `${base}/assistant/keep`, { answer: latest.text, token: latest.token });
      document.dispatchEvent(new CustomEvent("flowpilot:step", { detail: step }));
      clearReply();
      saved.hidden = false;
    } catch (err) {
      showError(error, err);
      keepButton.disabled = false;
    }
  });
  dismiss?.addEventListener("click", () => {
    clearReply();
    saved.hidden = true;
  });

  // ---- Customer write-up: stream into an editable text area, save as the resolution -------
  const generate = document.getElementById("writeup-generate");
  const textArea = document.getElementById("writeup-text");
  const writeupError = document.getElementById("writeup-error");
  const save = document.getElementById("writeup-save");
  const needs = document.getElementById("writeup-needs");
  let streaming = false;
  const syncSave = () => {
    if (!save) return;
    const missing = writeupMissing(textArea.value);
    save.disabled = streaming || missing.length > 0;
    if (!needs) return;
    if (streaming) {
      needs.textContent = "Drafting…";
    } else if (!textArea.value.trim()) {
      needs.textContent = "A resolution needs a Cause and a Fix: draft the write-up or write them.";
    } else if (missing.length) {
      const names = missing.map((m) => (m === "cause" ? "the Cause" : "the Fix")).join(" and ");
      needs.textContent = `Fill in ${names} before saving: the recorded steps do not show ${missing.length > 1 ? "them" : "it"}.`;
    } else {
      needs.textContent = "Cause and Fix are filled in: ready to save.";
    }
  };
  textArea.addEventListener("input", syncSave);

  generate.addEventListener("click", async () => {
    showError(writeupError, null);
    generate.disabled = true;
    streaming = true;
    syncSave();
    textArea.value = "";
    textArea.setAttribute("aria-busy", "true");
    try {
      const result = await streamText(`${base}/writeup`, {}, (t) => { textArea.value = t; });
      textArea.value = result.text;
      if (result.error) showError(writeupError, `The write-up stopped: ${sentence(result.error)}`);
    } catch (err) {
      showError(writeupError, err);
    } finally {
      streaming = false;
      generate.disabled = false;
      textArea.removeAttribute("aria-busy");
      syncSave();
    }
  });

  if (save) {
    save.addEventListener("click", async () => {
      showError(writeupError, null);
      const resolution = textArea.value.trim();
      if (writeupMissing(resolution).length) {
        syncSave();
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
      p.className = "muted";
      p.textContent = "No resolved session looks like this one yet.";
      steps.append(p);
    }
    for (const item of items) {
      const src = item.source || {};
      const li = document.createElement("li");
      li.append(item.suggestion + " ");
      const a = document.createElement("a");
      a.href = src.url;
      a.textContent = src.title;
      li.append("— ", a);
      if (src.resolved_by_name) li.append(`, resolved by ${src.resolved_by_name}`);
      if (src.why_text) {
        const why = document.createElement("p");
        why.className = "assistant-why small";
        const band = document.createElement("span");
        band.className = `assistant-band band-${src.band}`;
        band.textContent = src.band === "strong" ? "Strong match" : "Fair match";
        why.append(band, ` · matches on ${src.why_text}`);
        li.append(why);
      }
      steps.append(li);
    }
    const when = summary.generated_at ? ` · ${formatWhen(summary.generated_at)}` : "";
    source.textContent = `${summary.source || ""}${when}`;
    if (summary.fallback_reason) source.textContent += ` (the model was not used: ${summary.fallback_reason})`;
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
