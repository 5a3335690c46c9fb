// The agent console: one extension's seat, driven through the REST API of
// SPEC §5, with its state and current call from the event stream.
"use strict";
const CON = {ext: sessionStorage.getItem("nwayacd.ext") || "", state: "", since: null, call: null};
const $ = (id) => document.getElementById(id);

function say(text, bad) { $("msg").textContent = text; $("msg").style.color = bad ? "var(--bad)" : "var(--dim)"; }

async function act(label, fn) {
  try { await fn(); say(label + ": ok"); } catch (e) { say(label + ": " + e.message, true); }
}

const body = () => ({Extension: CON.ext});
$("groupLogin").onclick = () => act("log in", () => NW.api("POST", "/api/agent_up", {Extension: CON.ext, Groups: $("groups").value}));
$("groupLogout").onclick = () => act("log out", () => NW.api("POST", "/api/agent_down", body()));
$("ready").onclick = () => act("ready", () => NW.api("POST", "/api/agent_ready", body()));
$("busy").onclick = () => act("busy", () => NW.api("POST", "/api/agent_busy", body()));
$("setState").onclick = () => act("call state", () => NW.api("POST", "/api/extension_callstate", {Extension: CON.ext, Value: $("callstate").value}));
$("hold").onclick = () => act("hold", () => NW.api("GET", "/api/hold/" + encodeURIComponent(CON.ext)));
$("unhold").onclick = () => act("unhold", () => NW.api("GET", "/api/unhold/" + encodeURIComponent(CON.ext)));
$("hangup").onclick = () => act("hang up", () => NW.api("GET", "/api/hangup/" + encodeURIComponent(CON.ext)));
$("transfer").onclick = () => act("transfer", () => NW.api("POST", "/api/transfer", {EvdedPhone: CON.ext, EvdPhone: $("target").value, EvdGateway: ""}));
// three-way: the number typed is invited into the call this extension is in.
$("threeway").onclick = () => act("three-way", () => NW.api("POST", "/api/threeway", {EvdedPhone: $("target").value, EvdPhone: CON.ext, EvdGateway: ""}));

async function loadMe() {
  const x = await NW.api("GET", "/api/extension_info/" + encodeURIComponent(CON.ext));
  setState(x.call_state, null);
  // A call in progress when the page opened: the queue lists it if still ringing.
  const q = await NW.api("GET", "/api/queues");
  const mine = q.find((c) => c.OfferedTo === CON.ext);
  if (mine) showCall({number: mine.Number, group: mine.Group, level: mine.Level, callin_time: mine.CallinTime}, "ringing");
}

function setState(st, at) {
  CON.state = st;
  CON.since = at || new Date();
  $("state").textContent = st || "–";
  $("state").dataset.state = st || "";
}

function showCall(m, phase) {
  CON.call = {number: m.number, group: m.group, vip: m.level === "vip", callin: NW.parseTime(m.callin_time) || new Date(), phase};
  renderCall();
}

function renderCall() {
  const c = CON.call;
  $("noCall").hidden = !!c;
  $("callInfo").hidden = !c;
  if (!c) return;
  $("callNumber").textContent = c.number;
  $("callVip").hidden = !c.vip;
  $("callGroup").textContent = c.group || "–";
  $("callWait").textContent = NW.dur(((c.answeredAt || new Date()) - c.callin) / 1000);
  $("callPhase").textContent = c.phase;
}

const STATES = ["ready", "ring", "talking", "typing", "ivr", "no_answer", "no_ready", "busy", "rest"];
function onMessage(m) {
  if (m.type === "agent" && m.number === CON.ext) {
    if (STATES.includes(m.status)) setState(m.status);
    else if (m.status === "logout") setState("logged out");
  } else if (m.type === "event" && m.extension === CON.ext && m.method) {
    if (m.method === "callout") showCall(m, "ringing");
    else if (m.method === "answered") { showCall(m, "talking"); CON.call.answeredAt = new Date(); }
    else if (m.method === "noanswer" || m.method === "hangup") { CON.call = null; renderCall(); }
  }
}

function setLive(on) { $("live").textContent = on ? "live" : "offline"; $("live").className = on ? "on" : ""; }

function startDesk() {
  $("loginForm").hidden = true;
  $("desk").hidden = false;
  $("me").textContent = CON.ext;
  NW.stream(onMessage, () => loadMe().catch((e) => say(e.message, true)), setLive);
  setInterval(() => {
    if (CON.since) $("stateFor").textContent = "for " + NW.dur((Date.now() - CON.since) / 1000);
    renderCall();
  }, 1000);
}

$("loginBtn").addEventListener("click", async (e) => {
  e.preventDefault();
  const ext = $("ext").value.trim();
  if (!ext) { say("say which extension you are", true); return; }
  try {
    await NW.login($("user").value, $("pass").value);
    CON.ext = ext;
    sessionStorage.setItem("nwayacd.ext", ext);
    startDesk();
  } catch (err) { say(err.message, true); }
});

if (NW.token && CON.ext) startDesk(); else $("loginForm").hidden = false;
