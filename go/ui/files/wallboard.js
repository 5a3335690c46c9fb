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
  rebuild();
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
    try {
      applyStats(await NW.api("GET", "/api/stats/groups"));
      for (const num of WB.groups.keys()) view.dirtyGroups.add(num);
      scheduleRender();
    } catch (e) { /* next time */ }
  }, 2000);
}

function onMessage(m) {
  if (m.type === "agent") {
    let a = WB.agents.get(m.number);
    if (!a) { a = {state: "logged_out", since: new Date(), loggedIn: false}; WB.agents.set(m.number, a); view.all = true; }
    const st = m.status;
    if (st === "login") { a.loggedIn = true; if (a.state === "logged_out") a.state = "ready"; a.since = new Date(); membersChanged(); }
    else if (st === "logout") { a.loggedIn = false; a.state = "logged_out"; a.since = new Date(); membersChanged(); }
    else if (CALL_STATES.includes(st)) { a.state = st; a.since = new Date(); }
    else return; // seat idle/busy, registration: not a call state
    if (WB.trace) WB.pending.push([m.number, a.state]);
    markAgent(m.number);
    scheduleRender();
  } else if (m.type === "queue") {
    const g = WB.groups.get(m.group);
    if (!g) { membersChanged(); return; }
    if (m.method === "nway_queue_add") g.waiting.set(m.uuid, NW.parseTime(m.callin_time) || new Date());
    else { g.waiting.delete(m.uuid); reloadStatsSoon(); }
    view.dirtyGroups.add(m.group);
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
      rebuild();
    } catch (e) { /* next time */ }
  }, 300);
}

// Rendering is incremental: a message marks its agent and groups dirty, and
// the next animation frame rewrites only those cards and tiles (a board of
// 10,000 agents stays cheap at hundreds of changes a second). Once a second
// the clocks move on.
const view = {tiles: new Map(), cards: new Map(), dirtyAgents: new Set(), dirtyGroups: new Set(), all: true};
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

function markAgent(ext) {
  view.dirtyAgents.add(ext);
  for (const [num, g] of WB.groups) if (g.members.has(ext)) view.dirtyGroups.add(num);
}

function render() {
  if (view.all) {
    view.all = false;
    buildAll();
  }
  for (const num of view.dirtyGroups) updateTile(num);
  for (const ext of view.dirtyAgents) updateCard(ext);
  view.dirtyGroups.clear();
  view.dirtyAgents.clear();
}

function rebuild() { view.all = true; scheduleRender(); }

function buildAll() {
  view.tiles.clear();
  view.cards.clear();
  const tiles = [...WB.groups.keys()].sort().map((num) => {
    const t = {el: NW.el("div", {class: "tile", "data-group": num}), num};
    view.tiles.set(num, t);
    updateTile(num);
    return t.el;
  });
  document.getElementById("tiles").replaceChildren(...tiles);
  const cards = [...WB.agents.keys()].sort().map((ext) => {
    const state = NW.el("span", {}), time = NW.el("span", {class: "dim"});
    const c = {el: NW.el("div", {class: "agent", "data-ext": ext}, NW.el("b", {}, ext), state, " ", time), state, time};
    view.cards.set(ext, c);
    updateCard(ext);
    return c.el;
  });
  document.getElementById("agents").replaceChildren(...cards);
}

function level(v, warn, bad, higherIsWorse) {
  if (v === null || v === undefined || v < 0) return "";
  return higherIsWorse ? (v >= bad ? "bad" : v >= warn ? "warn" : "") : (v < bad ? "bad" : v < warn ? "warn" : "");
}

function longestWait(g, now) {
  let longest = 0;
  for (const t of g.waiting.values()) longest = Math.max(longest, (now - t) / 1000);
  return longest;
}

function updateTile(num) {
  const t = view.tiles.get(num), g = WB.groups.get(num);
  if (!t || !g) { rebuild(); return; }
  const longest = longestWait(g, Date.now());
  const counts = {};
  for (const ext of g.members) {
    const a = WB.agents.get(ext);
    if (a && a.loggedIn) counts[a.state] = (counts[a.state] || 0) + 1;
  }
  const today = g.stats ? g.stats.today : null;
  const sl = today ? today.service_level : -1;
  const cls = [level(longest, WB.waitWarn, WB.waitBad, true), level(sl, WB.slWarn, WB.slBad, false)];
  t.el.className = "tile " + (cls.includes("bad") ? "bad" : cls.includes("warn") ? "warn" : "");
  t.el.replaceChildren(
    NW.el("h2", {}, "Group " + num),
    NW.el("div", {class: "row"},
      NW.el("div", {}, NW.el("div", {class: "big", "data-k": "waiting"}, String(g.waiting.size)), NW.el("div", {class: "dim"}, "waiting")),
      NW.el("div", {}, NW.el("div", {class: "big", "data-k": "longest"}, NW.dur(longest)), NW.el("div", {class: "dim"}, "longest wait")),
      NW.el("div", {}, NW.el("div", {class: "big", "data-k": "sl"}, sl >= 0 ? Math.round(sl) + "%" : "–"),
        NW.el("div", {class: "dim"}, "SL today" + (g.stats ? " (" + g.stats.service_level_seconds + " s)" : "")))),
    NW.el("div", {class: "states"}, ...CALL_STATES.filter((s) => counts[s]).map((s) => NW.el("span", {class: s}, s + " " + counts[s]))),
    NW.el("div", {class: "dim"}, today ? `offered ${today.offered} · answered ${today.answered} · abandoned ${today.abandoned}` : ""));
}

function updateCard(ext) {
  const c = view.cards.get(ext), a = WB.agents.get(ext);
  if (!c || !a) { rebuild(); return; }
  const secs = (Date.now() - a.since) / 1000;
  const long = a.state !== "ready" && a.state !== "logged_out" && secs > WB.stateLong;
  c.el.className = "agent s-" + a.state + (long ? " long" : "");
  c.el.dataset.state = a.state;
  c.state.textContent = a.state.replace("_", " ");
  c.time.textContent = NW.dur(secs);
}

// tick moves the clocks: time in state on every card, waits on busy tiles.
function tick() {
  document.getElementById("clock").textContent = new Date().toLocaleTimeString();
  for (const ext of view.cards.keys()) view.dirtyAgents.add(ext);
  for (const [num, g] of WB.groups) if (g.waiting.size) view.dirtyGroups.add(num);
  scheduleRender();
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
  setInterval(tick, 1000); // clocks only: time in state and waits count up locally
}

document.getElementById("loginBtn").addEventListener("click", async (e) => {
  e.preventDefault();
  try {
    await NW.login(document.getElementById("user").value, document.getElementById("pass").value);
    startBoard();
  } catch (err) { document.getElementById("msg").textContent = err.message; }
});

if (NW.token) startBoard(); else document.getElementById("loginForm").hidden = false;
