// Shared fetch helper for pages: same-origin JSON calls that carry the CSRF token, and
// errors turned into sentences a person can act on.
//   import { api, ApiError } from "/static/api.js";
//   const step = await api("POST", `/api/v1/sessions/${id}/steps`, { kind, content });
// Throws ApiError (with .status, .message in words, .field when one field is at fault).

export function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

export class ApiError extends Error {
  constructor(status, message, field = null, body = null) {
    super(message);
    this.status = status;
    this.field = field;
    this.body = body;
  }
}

// Field ids in words (the same as flowpilot/web/words.py), with the unit a number counts in.
const FIELD_LABELS = {
  "": ["", null],
  body: ["The request", null],
  renotify_after_minutes: ["Re-notify after", "minute"],
  admin_alert_after_minutes: ["Alert admins after", "minute"],
  webhook_url: ["The webhook URL", null],
  email: ["Email", null],
  name: ["Name", null],
  password: ["Password", "character"],
  role: ["Role", null],
  title: ["Title", "character"],
  problem: ["Problem", "character"],
  customer: ["Customer", "character"],
  asset: ["Asset", "character"],
  reason: ["Reason", "character"],
  resolution: ["Resolution", "character"],
  content: ["The step", "character"],
  kind: ["The kind of step", null],
  urgency: ["Urgency", null],
  seconds: ["The time", "second"],
  note: ["The note", "character"],
};

function labelOf(field) {
  const key = String(field || "");
  const last = key.split(".").pop();
  if (key in FIELD_LABELS) return FIELD_LABELS[key];
  if (last in FIELD_LABELS) return FIELD_LABELS[last];
  if (/^\d+$/.test(last)) return ["", null];
  return [last.charAt(0).toUpperCase() + last.slice(1).replaceAll("_", " "), null];
}

function amount(text, unit) {
  const n = Number(text);
  if (!Number.isFinite(n)) return text;
  const shown = n.toLocaleString("en-US");
  return unit ? `${shown} ${unit}${n === 1 ? "" : "s"}` : shown;
}

function plain(msg, unit) {
  const text = String(msg || "is not valid").replace(/^Value error, /, "").trim();
  const rules = [
    [/^Input should be greater than or equal to (\S+)$/, (m) => `must be at least ${amount(m[1], unit)}`],
    [/^Input should be greater than (\S+)$/, (m) => `must be more than ${amount(m[1], unit)}`],
    [/^Input should be less than or equal to (\S+)$/, (m) => `must be at most ${amount(m[1], unit)}`],
    [/^Input should be a valid integer.*$/, () => "must be a whole number"],
    [/^Input should be a valid number.*$/, () => "must be a number"],
    [/^String should have at least 1 character$/, () => "must not be empty"],
    [/^String should have at most (\d+) characters?$/, (m) => `must be at most ${amount(m[1], "character")}`],
    [/^String should have at least (\d+) characters?$/, (m) => `must be at least ${amount(m[1], "character")}`],
    [/^Field required$/, () => "is required"],
    [/^Extra inputs are not permitted$/, () => "is not something this form takes"],
    [/^not a valid email address: .*$/, () => "is not a valid email address"],
    [/^Input should be (.+)$/, (m) => `must be ${m[1]}`],
  ];
  for (const [pattern, say] of rules) {
    const m = text.match(pattern);
    if (m) return say(m);
  }
  return text;
}

// "<Label> <message>." as one sentence, without the field's id.
export function sentence(field, msg) {
  const [label, unit] = labelOf(field);
  let text = plain(msg, unit).replace(/\.+$/, "");
  if (label) text = /^(must|is |needs)/.test(text) ? `${label} ${text}` : `${label}: ${text}`;
  return text.charAt(0).toUpperCase() + text.slice(1) + ".";
}

export function describeError(status, body) {
  const detail = body && body.detail;
  if (Array.isArray(detail) && detail.length) {
    const parts = [...new Set(detail.map((e) => sentence(e.field, e.msg)))];
    return { message: parts.join(" "), field: detail[0].field || null };
  }
  if (typeof detail === "string" && detail) {
    const field = body.field || null;
    if (field && detail.startsWith(`${field}: `)) {
      return { message: sentence(field, detail.slice(field.length + 2)), field };
    }
    const text = detail.charAt(0).toUpperCase() + detail.slice(1);
    return { message: /[.!?]$/.test(text) ? text : text + ".", field };
  }
  const fallback = {
    401: "Your login has ended. Reload the page to log in again.",
    403: "You are not allowed to do that.",
    404: "That no longer exists.",
    409: "Someone changed this first. Reload the page to see the latest.",
    413: "That is too large to send.",
    429: "Too many attempts. Wait a few minutes and try again.",
  };
  return { message: fallback[status] || "Something went wrong on our side. Please try again.", field: null };
}

export async function api(method, url, body) {
  const headers = { accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["x-csrf-token"] = csrfToken();
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "Cannot reach FlowPilot. Check your connection and try again.");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const { message, field } = describeError(response.status, data);
    throw new ApiError(response.status, message, field, data);
  }
  return data;
}

// Show an error (or clear it with null) in an element with role="alert".
export function showError(element, error) {
  if (!element) return;
  if (!error) {
    element.hidden = true;
    element.textContent = "";
    return;
  }
  element.textContent = error instanceof Error ? error.message : String(error);
  element.hidden = false;
}

// Disable a form's submit button while `work` runs, so a double click sends once.
export async function busy(form, work) {
  const button = form.querySelector('[type="submit"]');
  if (button) button.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    if (button) button.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

export function formatWhen(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} UTC`;
}
