// SPDX-License-Identifier: Apache-2.0
// Live updates from GET /api/stream. EventSource cannot send the Authorization header the
// server checks, and the token must never go into a URL, so this reads the stream with
// fetch() and parses Server-Sent Events itself (html.spec.whatwg.org, "Parsing an event
// stream"). It resumes from the last seq it saw (Last-Event-ID) after a drop, with a
// jittered backoff of 1 to 30 s, and reports its state in words.

import { token } from "./api.js";

export class LiveStream {
  // params: the filters (as GET /api/events takes them); onEvent(ev); onState(state, info)
  constructor(params, afterSeq, onEvent, onState) {
    this.params = params;
    this.lastId = afterSeq;
    this.onEvent = onEvent;
    this.onState = onState;
    this.ctl = null;
    this.stopped = false;
    this.failures = 0;
    this.timer = 0;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.countdown);
    if (this.ctl) this.ctl.abort();
    this.ctl = null;
    this.onState("off");
  }

  async connect() {
    if (this.stopped) return;
    this.onState("connecting");
    this.ctl = new AbortController();
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(this.params)) if (v) q.set(k, v);
    const headers = { Accept: "text/event-stream", Authorization: `Bearer ${token()}` };
    if (this.lastId) headers["Last-Event-ID"] = String(this.lastId);
    try {
      const resp = await fetch(`/api/stream${q.toString() ? "?" + q : ""}`, {
        headers,
        signal: this.ctl.signal,
        cache: "no-store",
        credentials: "omit",
      });
      if (resp.status === 401 || resp.status === 403) {
        this.onState("denied");
        return;
      }
      if (!resp.ok || !resp.body) throw new Error(`HTTP ${resp.status}`);
      await this.read(resp.body);
      throw new Error("the stream ended");
    } catch (e) {
      if (this.stopped) return;
      this.retry(e);
    }
  }

  retry() {
    this.failures++;
    const base = Math.min(30, 2 ** Math.min(this.failures - 1, 5));
    let left = Math.max(1, Math.round(base * (0.5 + Math.random() * 0.5)));
    this.onState("reconnecting", left);
    clearInterval(this.countdown);
    this.countdown = setInterval(() => {
      left--;
      if (left > 0) this.onState("reconnecting", left);
    }, 1000);
    this.timer = setTimeout(() => {
      clearInterval(this.countdown);
      this.connect();
    }, left * 1000);
  }

  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    let data = [];
    let id = null;
    let type = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += value;
      let nl;
      while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + (buf.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") {
          if (data.length && (type === "" || type === "event")) this.dispatch(data.join("\n"), id);
          data = [];
          type = "";
          continue;
        }
        if (line.startsWith(":")) {
          // The server's opening comment means the subscription is registered.
          if (line.startsWith(": tradetrail")) {
            this.failures = 0;
            this.onState("live");
          }
          continue;
        }
        const c = line.indexOf(":");
        const field = c < 0 ? line : line.slice(0, c);
        let v = c < 0 ? "" : line.slice(c + 1);
        if (v.startsWith(" ")) v = v.slice(1);
        if (field === "data") data.push(v);
        else if (field === "id") id = v;
        else if (field === "event") type = v;
      }
    }
  }

  dispatch(text, id) {
    let ev;
    try {
      ev = JSON.parse(text);
    } catch {
      return;
    }
    if (id && /^\d+$/.test(id)) this.lastId = Number(id);
    this.onEvent(ev, text);
  }
}
