// The wallboard: one tile per group and an agent grid, kept live by the
// event stream (agent and queue messages). Figures of the day (service
// level) come from /api/stats/groups, reloaded when calls end, never polled.
"use strict";
const WB = {
  // Colour thresholds: longest wait (s) and service level (%).
  waitWarn: 30, waitBad: 60, slWarn: 80, slBad: 60, stateLong: 300,
  groups: new Map(),   // number → {members:Set, waiting:Map(uuid→callin Date), sl, stats}
  agents: new Map(),   // ext → {state, since:Date, loggedIn}
  // The browser test sets trace = [] to learn when each agent change was on
  // screen: [ext, state, Date.now() after the render that showed it].
  trace: null,
  pending: [],
};

const CALL_STATES = ["ready", "ring", "talking", "typing", "ivr", "no_answer", "no_ready", "busy", "rest"];

async function loadAll() {
  const [groups, exts, queues, stats] = await Promise.all([
    NW.api("GET", "/api/groups"), NW.api("GET", "/api/get_extensions"), NW.api("GET", "/api/queues"),
    NW.api("GET", "/api/stats/groups").catch(() => ({groups: []}))]);
  WB.groups.clear();
  for (const g of groups) WB.groups.set(g.Number, {members: new Set(g.Members || []), waiting: new Map(), stats: null});
  WB.agents.clear();
  for (const x of exts) {
    WB.agents.set(x.Extension, {state: x.LoggedIn ? x.CallState : "logged_out",
      since: NW.parseTime(x.LastStatusChangeTime) || new Date(), loggedIn: x.LoggedIn});
  }
  for (const q of queues) {
    const g = WB.groups.get(q.Group);
    if (g) g.waiting.set(q.Uuid, NW.parseTime(q.CallinTime) || new Date());
  }
  applyStats(stats);
  render();
}

function applyStats(doc) {
  for (const s of (doc.groups || [])) {
    const g = WB.groups.get(s.group);
    if (g) g.stats = s;
  }
}

let statsTimer = null;
function reloadStatsSoon() { // after calls end: at most every 2 s
  if (statsTimer) return;
  statsTimer = setTimeout(async () => {
    statsTimer = null;
    try { applyStats(await NW.api("GET", "/api/stats/groups")); renderTiles(); } catch (e) { /* next time */ }
  }, 2000);
}

function onMessage(m) {
  if (m.type === "agent") {
    let a = WB.agents.get(m.number);
    if (!a) { a = {state: "logged_out", since: new Date(), loggedIn: false}; WB.agents.set(m.number, a); }
    const st = m.status;
    if (st === "login") { a.loggedIn = true; if (a.state === "logged_out") a.state = "ready"; a.since = new Date(); membersChanged(); }
    else if (st === "logout") { a.loggedIn = false; a.state = "logged_out"; a.since = new Date(); membersChanged(); }
    else if (CALL_STATES.includes(st)) { a.state = st; a.since = new Date(); }
    else return; // seat idle/busy, registration: not a call state
    if (WB.trace) WB.pending.push([m.number, a.state]);
    scheduleRender();
  } else if (m.type === "queue") {
    const g = WB.groups.get(m.group);
    if (!g) { membersChanged(); return; }
    if (m.method === "nway_queue_add") g.waiting.set(m.uuid, NW.parseTime(m.callin_time) || new Date());
    else { g.waiting.delete(m.uuid); reloadStatsSoon(); }
    scheduleRender();
  } else if (m.type === "event" && (m.method === "answered" || m.method === "hangup")) {
    reloadStatsSoon();
  }
}

let membersTimer = null;
function membersChanged() { // memberships come with the group list
  if (membersTimer) return;
  membersTimer = setTimeout(async () => {
    membersTimer = null;
    try {
      for (const g of await NW.api("GET", "/api/groups")) {
        const cur = WB.groups.get(g.Number);
        if (cur) cur.members = new Set(g.Members || []);
        else WB.groups.set(g.Number, {members: new Set(g.Members || []), waiting: new Map(), stats: null});
      }
      scheduleRender();
    } catch (e) { /* next time */ }
  }, 300);
}

let frame = 0;
function scheduleRender() { // one render per animation frame however many messages came
  if (!frame) frame = requestAnimationFrame(() => {
    frame = 0;
    render();
    if (WB.trace) {
      const now = Date.now();
      for (const p of WB.pending) WB.trace.push([p[0], p[1], now]);
      WB.pending = [];
    }
  });
}

function render() { renderTiles(); renderAgents(); }

function level(v, warn, bad, higherIsWorse) {
  if (v === null || v === undefined || v < 0) return "";
  return higherIsWorse ? (v >= bad ? "bad" : v >= warn ? "warn" : "") : (v < bad ? "bad" : v < warn ? "warn" : "");
}

function renderTiles() {
  const now = Date.now();
  const box = document.getElementById("tiles");
  const nums = [...WB.groups.keys()].sort();
  const tiles = [];
  for (const num of nums) {
    const g = WB.groups.get(num);
    let longest = 0;
    for (const t of g.waiting.values()) longest = Math.max(longest, (now - t) / 1000);
    const counts = {};
    for (const ext of g.members) {
      const a = WB.agents.get(ext);
      if (a && a.loggedIn) counts[a.state] = (counts[a.state] || 0) + 1;
    }
    const today = g.stats ? g.stats.today : null;
    const sl = today ? today.service_level : -1;
    const cls = [level(longest, WB.waitWarn, WB.waitBad, true), level(sl, WB.slWarn, WB.slBad, false)];
    const tile = NW.el("div", {class: "tile " + (cls.includes("bad") ? "bad" : cls.includes("warn") ? "warn" : ""), "data-group": num},
      NW.el("h2", {}, "Group " + num),
      NW.el("div", {class: "row"},
        NW.el("div", {}, NW.el("div", {class: "big", "data-k": "waiting"}, String(g.waiting.size)), NW.el("div", {class: "dim"}, "waiting")),
        NW.el("div", {}, NW.el("div", {class: "big", "data-k": "longest"}, NW.dur(longest)), NW.el("div", {class: "dim"}, "longest wait")),
        NW.el("div", {}, NW.el("div", {class: "big", "data-k": "sl"}, sl >= 0 ? Math.round(sl) + "%" : "–"),
          NW.el("div", {class: "dim"}, "SL today" + (g.stats ? " (" + g.stats.service_level_seconds + " s)" : "")))),
      NW.el("div", {class: "states"}, ...CALL_STATES.filter((s) => counts[s]).map((s) => NW.el("span", {class: s}, s + " " + counts[s]))),
      NW.el("div", {class: "dim"}, today ? `offered ${today.offered} · answered ${today.answered} · abandoned ${today.abandoned}` : ""));
    tiles.push(tile);
  }
  box.replaceChildren(...tiles);
}

function renderAgents() {
  const now = Date.now();
  const box = document.getElementById("agents");
  const exts = [...WB.agents.keys()].sort();
  box.replaceChildren(...exts.map((ext) => {
    const a = WB.agents.get(ext);
    const secs = (now - a.since) / 1000;
    const long = a.state !== "ready" && a.state !== "logged_out" && secs > WB.stateLong;
    return NW.el("div", {class: "agent s-" + a.state + (long ? " long" : ""), "data-ext": ext, "data-state": a.state},
      NW.el("b", {}, ext), NW.el("span", {}, a.state.replace("_", " ")), " ", NW.el("span", {class: "dim"}, NW.dur(secs)));
  }));
}

function setLive(on) {
  const l = document.getElementById("live");
  l.textContent = on ? "live" : "offline";
  l.className = on ? "on" : "";
}

async function startBoard() {
  document.getElementById("loginForm").hidden = true;
  document.getElementById("board").hidden = false;
  NW.stream(onMessage, () => loadAll().catch((e) => console.warn(e)), setLive);
  setInterval(() => { // clocks only: time in state and waits count up locally
    document.getElementById("clock").textContent = new Date().toLocaleTimeString();
    render();
  }, 1000);
}

document.getElementById("loginBtn").addEventListener("click", async (e) => {
  e.preventDefault();
  try {
    await NW.login(document.getElementById("user").value, document.getElementById("pass").value);
    startBoard();
  } catch (err) { document.getElementById("msg").textContent = err.message; }
});

if (NW.token) startBoard(); else document.getElementById("loginForm").hidden = false;
