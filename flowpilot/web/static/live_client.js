// The live connection both live pages share (queue: escalations_live.js; session page:
// session_live.js). It reads Server-Sent Events over fetch, not EventSource, so that it can tell
// the truth about the connection:
// - a heartbeat watchdog: no byte for 2 x the server's heartbeat and the stream counts as dead
//   (a proxy that stalls keeps a socket open but forwards nothing); it reconnects and says so;
// - 401 (or `event: revoked` followed by 401) means the login ended: it says "Your login has
//   ended — log in again" and stops, no retry loop;
// - after a drop the first reconnect is immediate, then exponential backoff with jitter, and a
//   "Retry now" button; each reconnect sends Last-Event-ID, so the server replays what was missed;
// - while a backoff longer than a second runs, /healthz (no login, no database) is asked about
//   every second: a server that was unreachable (or a proxy's 502-504) and answers again (a
//   restart, a deploy) is reconnected to at once rather than after the rest of the backoff, so a
//   restart is caught up within 2 s of the server being ready. A server that answers /healthz
//   while its stream failed otherwise keeps the backoff (the stream is what is wrong there).
// The browser authenticates with its session cookie; no token goes in any URL.

const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const DEFAULT_HEARTBEAT_MS = 25000;
const PROBE_MS = 1000;

export function heartbeatMs() {
  const value = Number(document.body?.dataset.sseHeartbeatMs);
  return Number.isFinite(value) && value > 0 ? value : DEFAULT_HEARTBEAT_MS;
}

export function retryDelay(attempt) {
  // Attempt 0 (right after a drop) is immediate; then "equal jitter" on a doubling ceiling.
  if (attempt <= 0) return 0;
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function parseBlock(block) {
  const frame = { id: null, event: "message", data: [] };
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue; // heartbeat comments only feed the watchdog
    const colon = line.indexOf(":");
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "id") frame.id = value;
    else if (name === "event") frame.event = value;
    else if (name === "data") frame.data.push(value);
  }
  return frame.data.length ? frame : null;
}

export class LiveClient {
  // onEvent(type, data, id); onState(state, info): "connecting" | "live" | "reconnecting"
  // (info.inMs, info.reason) | "ended" (info.reason: "login" | "access"); onResync(); onOpen(info)
  // with info.reconnected when it came back after a drop.
  constructor({
    url,
    onEvent,
    onState = () => {},
    onResync = () => {},
    onOpen = () => {},
    healthUrl = "/healthz",
  }) {
    this.url = url;
    this.healthUrl = healthUrl;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onResync = onResync;
    this.onOpen = onOpen;
    this.lastEventId = null;
    this.attempts = 0;
    this.state = "connecting";
    this.controller = null;
    this.retryTimer = null;
    this.watchdog = null;
    this.probeTimer = null;
    this.probes = 0; // which chain of /healthz probes is current (a stale one stops itself)
    this.dropped = false; // a drop happened since the last open
    this.stopped = false;
  }

  start() {
    window.addEventListener("pagehide", () => this.close());
    this.connect();
    return this;
  }

  close() {
    this.stopped = true;
    this.clearTimers();
    if (this.controller) this.controller.abort();
  }

  retryNow() {
    if (this.stopped || this.state === "live") return;
    this.clearTimers();
    this.connect();
  }

  setState(state, info = {}) {
    this.state = state;
    this.onState(state, info);
  }

  clearTimers() {
    if (this.retryTimer) window.clearTimeout(this.retryTimer);
    if (this.watchdog) window.clearTimeout(this.watchdog);
    if (this.probeTimer) window.clearTimeout(this.probeTimer);
    this.retryTimer = this.watchdog = this.probeTimer = null;
    this.probes += 1;
  }

  probe(chain, wasDown) {
    // Jittered, so that the tabs of a whole office do not ask in lockstep.
    const wait = PROBE_MS * (0.5 + Math.random() * 0.5);
    this.probeTimer = window.setTimeout(async () => {
      this.probeTimer = null;
      let up = false;
      try {
        const answer = await fetch(this.healthUrl, { cache: "no-store", credentials: "omit" });
        up = answer.ok;
      } catch {
        up = false; // refused, reset, or the proxy has nobody to ask
      }
      if (this.stopped || chain !== this.probes || !this.retryTimer) return;
      if (up && wasDown) this.retryNow(); // it is back: now, not after the rest of the backoff
      else if (!up) this.probe(chain, true);
    }, wait);
  }

  arm(controller) {
    if (this.watchdog) window.clearTimeout(this.watchdog);
    this.watchdog = window.setTimeout(() => {
      if (this.controller !== controller) return;
      controller.abort();
      this.lost("stalled");
    }, 2 * heartbeatMs());
  }

  lost(reason) {
    // One drop, whatever noticed it first (watchdog, error, end of stream).
    if (this.stopped || this.retryTimer) return;
    if (this.watchdog) window.clearTimeout(this.watchdog);
    this.watchdog = null;
    this.controller = null;
    this.dropped = true;
    const delay = retryDelay(this.attempts);
    this.attempts += 1;
    this.setState("reconnecting", { inMs: delay, reason });
    this.retryTimer = window.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
    this.probes += 1;
    // Unreachable, or a proxy with nobody behind it: the server is down, so its first answer
    // means it is back. After anything else, a first answer means it never went away.
    const down = reason === "error" || /^status 50[234]$/.test(reason);
    if (delay > PROBE_MS) this.probe(this.probes, down);
  }

  ended(reason) {
    this.stopped = true;
    this.clearTimers();
    if (this.controller) this.controller.abort();
    this.setState("ended", { reason });
  }

  async connect() {
    if (this.stopped) return;
    const controller = new AbortController();
    this.controller = controller;
    if (this.state !== "reconnecting") this.setState("connecting");
    const headers = { accept: "text/event-stream" };
    if (this.lastEventId !== null) headers["last-event-id"] = String(this.lastEventId);
    let response;
    this.arm(controller); // a request that never answers is as dead as a stream that stalls
    try {
      response = await fetch(this.url, {
        credentials: "same-origin",
        cache: "no-store",
        headers,
        signal: controller.signal,
      });
    } catch {
      if (this.controller === controller) this.lost("error");
      return;
    }
    if (this.controller !== controller) return;
    if (this.watchdog) window.clearTimeout(this.watchdog);
    if (response.status === 401) return this.ended("login");
    if (response.status === 403 || response.status === 404) return this.ended("access");
    if (!response.ok || !response.body) return this.lost(`status ${response.status}`);
    const reconnected = this.dropped;
    this.attempts = 0;
    this.dropped = false;
    this.setState("live");
    this.onOpen({ reconnected });
    await this.read(response.body.getReader(), controller);
  }

  async read(reader, controller) {
    const decoder = new TextDecoder();
    let buffer = "";
    this.arm(controller);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        if (this.controller !== controller) return;
        this.arm(controller);
        buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          if (this.frame(block, controller) === "stop") return;
        }
      }
    } catch {
      // aborted (watchdog, close) or the network went away
    }
    if (this.controller === controller) this.lost("ended");
  }

  frame(block, controller) {
    const frame = parseBlock(block);
    if (!frame) return "go on";
    let data = null;
    try {
      data = JSON.parse(frame.data.join("\n"));
    } catch {
      return "go on";
    }
    const id = frame.id !== null ? Number(frame.id) : NaN;
    if (frame.event === "revoked") {
      // The login ended (or no longer reaches this stream). Ask once: 401 says so in words.
      controller.abort();
      this.controller = null;
      this.clearTimers();
      this.connect();
      return "stop";
    }
    if (frame.event === "resync") {
      if (Number.isFinite(id)) this.lastEventId = id;
      controller.abort();
      this.controller = null;
      this.clearTimers();
      this.onResync(data);
      return "stop";
    }
    if (frame.event === "reconnect") {
      controller.abort();
      this.controller = null;
      this.clearTimers();
      this.connect(); // lifetime cap: straight back, with Last-Event-ID
      return "stop";
    }
    if (Number.isFinite(id) && id > 0) {
      if (this.lastEventId !== null && id <= this.lastEventId) return "go on"; // duplicate
      this.lastEventId = id;
    }
    this.onEvent(frame.event, data, Number.isFinite(id) ? id : null);
    return "go on";
  }
}

// The connection line shared by both pages: "● Live", "Reconnecting…" with "Retry now", and
// "Your login has ended — log in again" (a link, no retry).
export function connectionIndicator(el, client) {
  el.classList.add("live-indicator");
  el.setAttribute("aria-live", "polite");
  let note = "";
  const render = (state, info = {}) => {
    el.dataset.state = state;
    el.classList.toggle("reconnecting", state !== "live");
    el.replaceChildren();
    const dot = document.createElement("span");
    dot.className = "dot";
    dot.setAttribute("aria-hidden", "true");
    dot.textContent = "● ";
    el.appendChild(dot);
    if (state === "live") {
      el.appendChild(document.createTextNode("Live"));
      if (note) {
        const extra = document.createElement("span");
        extra.className = "live-note";
        extra.textContent = ` · ${note}`;
        el.appendChild(extra);
      }
    } else if (state === "ended") {
      const next = encodeURIComponent(window.location.pathname + window.location.search);
      if (info.reason === "login") {
        el.appendChild(document.createTextNode("Your login has ended — "));
        const link = document.createElement("a");
        link.href = `/login?next=${next}`;
        link.textContent = "log in again";
        el.appendChild(link);
      } else {
        el.appendChild(document.createTextNode("You no longer have access to these live updates."));
      }
    } else {
      const stalled = info.reason === "stalled" ? "No word from the server; " : "";
      el.appendChild(document.createTextNode(`${stalled}Reconnecting…`));
      if (state === "reconnecting") {
        const retry = document.createElement("button");
        retry.type = "button";
        retry.className = "link live-retry";
        retry.textContent = "Retry now";
        retry.addEventListener("click", () => client.retryNow());
        el.appendChild(document.createTextNode(" "));
        el.appendChild(retry);
      }
    }
  };
  return {
    render,
    note(text) {
      note = text;
      if (client.state === "live") render("live");
    },
  };
}
