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

const FIELD_LABELS = { "": "", body: "The request" };

function label(field) {
  const last = String(field || "").split(".").pop();
  if (last in FIELD_LABELS) return FIELD_LABELS[last];
  return last.charAt(0).toUpperCase() + last.slice(1).replaceAll("_", " ");
}

function plain(msg) {
  return String(msg || "is not valid")
    .replace(/^Value error, /, "")
    .replace(/^String should have at least 1 character$/, "must not be empty")
    .replace(/^String should have at most (\d+) characters?$/, "must be at most $1 characters")
    .replace(/^Field required$/, "is required")
    .replace(/^Input should be /, "must be ");
}

export function describeError(status, body) {
  const detail = body && body.detail;
  if (Array.isArray(detail) && detail.length) {
    const parts = detail.map((e) => `${label(e.field)} ${plain(e.msg)}`.trim());
    return { message: parts.join("; ") + ".", field: detail[0].field || null };
  }
  if (typeof detail === "string" && detail) {
    const text = detail.charAt(0).toUpperCase() + detail.slice(1);
    return { message: /[.!?]$/.test(text) ? text : text + ".", field: body.field || null };
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
