/**
 * The status page the arbitrator serves at `/`: plain HTML, a little CSS and JavaScript, nothing
 * fetched from anywhere but this arbitrator (no build step, no framework). It reads /v1/site and
 * follows /v1/events; each event redraws the site at once. With a token configured it asks for
 * it once and keeps it in the tab's sessionStorage (EventSource cannot send a header, so the
 * stream is read with fetch).
 */
export const STATUS_PAGE = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>galera-minder</title>
<style>
  :root { --ok: #1b7f3b; --warn: #b26a00; --bad: #b3261e; --mute: #667; --line: #dde; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #112; background: #f6f7fa; }
  header { background: #1d2433; color: #fff; padding: 10px 18px; display: flex; gap: 18px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 17px; margin: 0; }
  header .meta { color: #cbd; }
  main { padding: 14px 18px; }
  .banner { background: var(--bad); color: #fff; font-weight: 700; padding: 10px 14px; margin-bottom: 12px; border-radius: 4px; }
  .banner.warn { background: var(--warn); }
  .dcs { display: flex; gap: 14px; flex-wrap: wrap; }
  .dc { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px; min-width: 260px; flex: 1; }
  .dc h2 { font-size: 15px; margin: 0 0 8px; }
  .node { border: 1px solid var(--line); border-left: 6px solid var(--mute); border-radius: 4px; padding: 6px 8px; margin-bottom: 8px; }
  .node.primary { border-left-color: var(--ok); }
  .node.nonprimary, .node.down { border-left-color: var(--bad); }
  .node.unknown { border-left-color: var(--warn); background: #fffaf0; }
  .node .name { font-weight: 700; }
  .badge { display: inline-block; font-size: 11px; font-weight: 700; padding: 1px 6px; border-radius: 9px; margin-left: 4px; background: #eef; color: #224; }
  .badge.writer { background: var(--ok); color: #fff; }
  .badge.drained { background: var(--warn); color: #fff; }
  .badge.stale { background: var(--bad); color: #fff; }
  .mute { color: var(--mute); }
  section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 10px; margin-top: 14px; }
  section h3 { margin: 0 0 6px; font-size: 14px; }
  table { border-collapse: collapse; width: 100%; }
  td, th { text-align: left; padding: 3px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
  ul { margin: 0; padding-left: 18px; }
  #events li { margin-bottom: 2px; }
  #events .t { color: var(--mute); font-family: ui-monospace, monospace; font-size: 12px; }
  #login { display: none; }
  .live { font-size: 12px; }
  .live.on::before { content: "\25CF  "; color: #6f6; }
  .live.off::before { content: "\25CF  "; color: #f66; }
</style>
</head>
<body>
<header><h1 id="title">galera-minder</h1><span class="meta" id="meta">loading…</span><span class="live off" id="live">connecting</span></header>
<main>
  <form id="login"><p>This arbitrator's API needs its token (the file in <code>http.tokenFile</code>).</p>
    <input id="token" type="password" size="50" autocomplete="off"> <button>Open</button></form>
  <div id="banners"></div>
  <div class="dcs" id="dcs"></div>
  <section><h3>Now</h3><ul id="now"></ul><p class="mute" id="lastprimary"></p></section>
  <section><h3>Load balancers (dbclients)</h3><table id="clients"></table></section>
  <section><h3>Decisions</h3><table id="decisions"></table></section>
  <section><h3>Events</h3><ul id="events"></ul></section>
  <p class="mute" id="datagrams"></p>
</main>
<script>
"use strict";
var token = sessionStorage.getItem("minderToken") || "";
var lastId = 0, events = [], loadTimer = null, site = null;
function $(id) { return document.getElementById(id); }
function esc(s) { return String(s === null || s === undefined ? "" : s).replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; }); }
function headers() { return token ? { Authorization: "Bearer " + token } : {}; }
function age(ms) { if (ms === null || ms === undefined) return "never"; if (ms < 10000) return (ms / 1000).toFixed(1) + "s"; if (ms < 120000) return Math.round(ms / 1000) + "s"; if (ms < 7200000) return Math.round(ms / 60000) + "m"; return Math.round(ms / 3600000) + "h"; }
function when(at) { return at === null || at === undefined ? "-" : new Date(at).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z"); }
function needToken() { $("login").style.display = "block"; $("meta").textContent = "token needed"; }
$("login").addEventListener("submit", function (e) { e.preventDefault(); token = $("token").value.trim(); sessionStorage.setItem("minderToken", token); $("login").style.display = "none"; load(); follow(); });

function nodeHtml(p) {
  var d = p.db, cls, state;
  if (!p.fresh) { cls = "unknown"; state = "unknown" + (p.reportAgeMs === null ? " (never heard)" : " for " + age(p.reportAgeMs) + " — last known: " + esc(d.mariadb === "down" ? "mariadb down" : (d.cluster || "?") + " " + (d.localState || "?"))); }
  else if (d.mariadb === "down") { cls = "down"; state = "mariadb DOWN, recovered seqno " + esc(d.recoveredSeqno); }
  else { cls = d.cluster === "Primary" ? "primary" : "nonprimary"; state = esc(d.cluster) + " · " + esc(d.localState) + (d.ready ? "" : " · not ready"); }
  var badges = (d.writer ? '<span class="badge writer">WRITER</span>' : "") + (d.drained ? '<span class="badge drained">DRAINED</span>' : "") + (!p.fresh && p.reportAgeMs !== null ? '<span class="badge stale">STALE</span>' : "");
  return '<div class="node ' + cls + '" data-party="' + esc(p.party) + '" data-cluster="' + esc(p.fresh ? d.cluster : "unknown") + '" data-drained="' + (d.drained ? "yes" : "no") + '" data-writer="' + (d.writer ? "yes" : "no") + '">' +
    '<div><span class="name">' + esc(d.nodeName) + '</span> <span class="mute">' + esc(p.party) + "</span>" + badges + "</div>" +
    '<div class="state">' + state + "</div>" +
    '<div class="mute">seqno ' + esc(d.seqno === null ? "-" : d.seqno) + " · weight " + esc(d.weight) + " · sessions " + esc(d.sessions === null ? "-" : d.sessions) + " · report " + age(p.reportAgeMs) + "</div>" +
    (d.error ? '<div class="mute">' + esc(d.error) + "</div>" : "") + "</div>";
}

function render(doc) {
  site = doc;
  var a = doc.arbitrator;
  $("title").textContent = "galera-minder · site " + doc.site;
  $("meta").textContent = a.party + " · epoch " + a.epoch + " · writer " + (a.writer || "none") + " · drained " + (a.drained.length ? a.drained.join(", ") : "none") + " · as of " + when(doc.generatedAt);
  var b = "";
  if (a.paused) b += '<div class="banner" id="paused">PAUSED' + (a.pausedBy ? " by " + esc(a.pausedBy) : "") + (a.pausedReason ? " (" + esc(a.pausedReason) + ")" : "") + ": nothing is promoted automatically</div>";
  if (a.coldStart) b += '<div class="banner warn">COLD START: every mariadbd is down' + (a.coldStartPlan ? ": " + esc(a.coldStartPlan.text) : "") + "</div>";
  (a.rejoin || []).forEach(function (r) {
    var bad = r.phase === "cannot_rejoin" || r.phase === "stalled";
    b += '<div class="banner' + (bad ? "" : " warn") + '" data-rejoin="' + esc(r.party) + '">' + esc(r.party) + (r.phase === "cannot_rejoin" ? " CANNOT REJOIN: " : r.phase === "stalled" ? " rejoin STALLED: " : " rejoining: ") + esc(r.text) + "</div>";
  });
  $("banners").innerHTML = b;
  var dcs = a.dcOrder.slice();
  doc.parties.forEach(function (p) { if (p.db && p.dc && dcs.indexOf(p.dc) < 0) dcs.push(p.dc); });
  $("dcs").innerHTML = dcs.map(function (dc, i) {
    var nodes = doc.parties.filter(function (p) { return p.db && p.dc === dc; });
    return '<div class="dc" data-dc="' + esc(dc) + '"><h2>' + esc(dc) + (i === 0 ? ' <span class="mute">(primary DC)</span>' : "") + "</h2>" + nodes.map(nodeHtml).join("") + "</div>";
  }).join("");
  var ev = a.evaluation;
  $("now").innerHTML = ev ? ev.reasons.map(function (r) { return "<li>" + esc(r.text) + "</li>"; }).join("") : "<li>not evaluated yet</li>";
  var lp = a.lastPrimary;
  $("lastprimary").textContent = lp ? "last primary component: conf " + (lp.confId === null ? "?" : lp.confId) + ", " + lp.members.map(function (m) { return m.party || m.name; }).join(", ") + ", seen " + age(lp.ageMs) + " ago" : "last primary component: not seen yet";
  var clients = doc.parties.filter(function (p) { return p.type === "dbclient"; });
  $("clients").innerHTML = clients.length ? "<tr><th>party</th><th>load balancer</th><th>epoch</th><th>writer</th><th>sessions</th><th>report</th></tr>" + clients.map(function (p) {
    var c = p.client;
    return '<tr data-party="' + esc(p.party) + '"><td>' + esc(p.party) + "</td><td>" + (c ? esc(c.lbKind) + (c.lbReachable ? " up" : " UNREACHABLE " + esc(c.lbError)) : "?") + "</td><td>" + (c ? esc(c.epochApplied) : "-") + "</td><td>" + (c ? esc(c.writer || "none") : "-") + "</td><td>" + (c ? esc(c.sessions) : "-") + "</td><td>" + age(p.reportAgeMs) + (p.fresh ? "" : " STALE") + "</td></tr>";
  }).join("") : '<tr><td class="mute">no dbclient in this site</td></tr>';
  $("decisions").innerHTML = a.decisions.length ? "<tr><th>decided</th><th>id</th><th>make_primary</th><th>outcome</th><th>why</th></tr>" + a.decisions.map(function (d) {
    return "<tr><td>" + when(d.decidedAt) + "</td><td>" + esc(d.id) + "</td><td>" + esc(d.target) + " for " + esc(d.members.join("+")) + (d.forced ? " <b>FORCED</b>" : "") + "</td><td>" + esc(d.outcome) + (d.outcomeReason ? " (" + esc(d.outcomeReason) + ")" : "") + "</td><td>" + esc(d.reason) + "</td></tr>";
  }).join("") : '<tr><td class="mute">no promotion decided yet</td></tr>';
  if (events.length === 0 && a.journal.length) { events = a.journal.map(function (j) { return { at: j.at, event: j.event, text: j.text }; }); renderEvents(); }
  var g = a.datagrams;
  $("datagrams").textContent = g ? "arbitrator datagrams: accepted " + g.accepted + ", sent " + g.sent + ", resent " + g.resent + ", dropped " + Object.keys(g.drops).reduce(function (n, k) { return n + g.drops[k]; }, 0) : "";
}

function renderEvents() {
  $("events").innerHTML = events.slice(0, 40).map(function (e) { return '<li data-event="' + esc(e.event) + '"><span class="t">' + when(e.at) + "</span> <b>" + esc(e.event) + "</b>: " + esc(e.text) + "</li>"; }).join("");
}

function load() {
  return fetch("/v1/site", { headers: headers() }).then(function (r) {
    if (r.status === 401) { needToken(); return; }
    if (!r.ok) { $("meta").textContent = "arbitrator answered " + r.status; return; }
    return r.json().then(render);
  }).catch(function (e) { $("meta").textContent = "arbitrator unreachable: " + e; });
}
function soon() { if (loadTimer === null) loadTimer = setTimeout(function () { loadTimer = null; load(); }, 100); }

function follow() {
  // The journal (from /v1/site) is the history; a reconnect asks for what it missed.
  fetch("/v1/events" + (lastId ? "?since=" + lastId : ""), { headers: headers() }).then(function (r) {
    if (r.status === 401) { needToken(); return; }
    if (!r.ok || !r.body) throw new Error("events: " + r.status);
    $("live").className = "live on"; $("live").textContent = "live";
    var reader = r.body.getReader(), dec = new TextDecoder(), buf = "";
    function pump() {
      return reader.read().then(function (x) {
        if (x.done) throw new Error("stream ended");
        buf += dec.decode(x.value, { stream: true });
        var cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          var frame = buf.slice(0, cut); buf = buf.slice(cut + 2);
          var data = frame.split("\n").filter(function (l) { return l.indexOf("data: ") === 0; }).map(function (l) { return l.slice(6); }).join("\n");
          if (!data) continue;
          var ev = JSON.parse(data);
          lastId = Math.max(lastId, ev.id);
          events.unshift(ev); renderEvents(); soon();
        }
        return pump();
      });
    }
    return pump();
  }).catch(function () {
    $("live").className = "live off"; $("live").textContent = "reconnecting";
    setTimeout(follow, 2000);
  });
}

load().then(follow);
setInterval(load, 5000);
</script>
</body>
</html>
`;
