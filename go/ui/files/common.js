// Shared by the wallboard and the console: the REST token, requests, and
// the live event stream with automatic recovery. No library, no CDN.
"use strict";
const NW = {
  token: sessionStorage.getItem("nwayacd.token") || "",
  creds: JSON.parse(sessionStorage.getItem("nwayacd.creds") || "null"),

  async login(username, password) {
    const r = await fetch("/api/login", {method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify({username, password})});
    if (!r.ok) throw new Error("login refused (" + r.status + ")");
    const j = await r.json();
    NW.token = j.token;
    NW.creds = {username, password};
    sessionStorage.setItem("nwayacd.token", NW.token);
    sessionStorage.setItem("nwayacd.creds", JSON.stringify(NW.creds));
  },

  // relogin gets a fresh token after the module restarted (tokens live in memory).
  async relogin() {
    if (!NW.creds) throw new Error("not logged in");
    await NW.login(NW.creds.username, NW.creds.password);
  },

  async api(method, path, body) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const opt = {method, headers: {"Authorization": "Nway " + NW.token}};
      if (body !== undefined) {
        opt.headers["Content-Type"] = "application/json";
        opt.body = JSON.stringify(body);
      }
      const r = await fetch(path, opt);
      if (r.status === 401 && attempt === 0 && NW.creds) { await NW.relogin(); continue; }
      const text = await r.text();
      let j = null;
      try { j = JSON.parse(text); } catch (e) { j = text; }
      if (!r.ok) throw new Error((j && j.error) || text || ("HTTP " + r.status));
      return j;
    }
  },

  // stream opens GET /api/events and calls onMessage(obj) for each message,
  // onOpen() after every (re)connection so the page reloads its state. It
  // recovers by itself: the browser retries dropped connections; a refused
  // one (the module restarted, the token is gone) is retried with a new token.
  stream(onMessage, onOpen, onState) {
    let es = null, timer = null;
    const connect = () => {
      clearTimeout(timer);
      if (es) es.close();
      es = new EventSource("/api/events?token=" + encodeURIComponent(NW.token));
      es.onopen = () => { onState && onState(true); onOpen && onOpen(); };
      es.onmessage = (e) => { try { onMessage(JSON.parse(e.data)); } catch (err) { console.warn(err); } };
      es.onerror = () => {
        onState && onState(false);
        if (es.readyState === EventSource.CLOSED) {
          timer = setTimeout(async () => {
            try { await NW.relogin(); } catch (err) { /* the module is still down */ }
            connect();
          }, 2000);
        }
      };
    };
    connect();
    return () => { clearTimeout(timer); if (es) es.close(); };
  },

  // parseTime reads the wire's "YYYY-MM-DD HH:MM:SS" (node local time).
  parseTime(s) {
    if (!s) return null;
    const t = new Date(s.replace(" ", "T"));
    return isNaN(t) ? null : t;
  },

  dur(sec) {
    sec = Math.max(0, Math.floor(sec));
    const h = Math.floor(sec / 3600), m = Math.floor(sec % 3600 / 60), s = sec % 60;
    const p = (n) => String(n).padStart(2, "0");
    return h ? h + ":" + p(m) + ":" + p(s) : m + ":" + p(s);
  },

  el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  },
};
