// kith customer 360. Plain DOM, no framework: every text goes in through
// textContent, never as HTML. The same JSON is at /api/… for programs.
"use strict";

const started = performance.now();
const main = document.getElementById("main");
const liveBadge = document.getElementById("live");
let events = null; // the open EventSource
let current = null; // the party id on screen
let hops = 1;

// h("td", {class: "num"}, "text", child, …)
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// A stored value as text: {"$decimal": "12.50"} → "12.50".
function val(v) {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.map(val).join(", ");
  if (typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0].startsWith("$")) return String(v[keys[0]]);
    return JSON.stringify(v);
  }
  return String(v);
}

// "2026-12-02T21:51:14.819911Z" → "2026-12-02 21:51" (the full time on hover).
function when(t) {
  const s = val(t);
  const m = s.match(/^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/);
  return m ? h("time", {datetime: s, title: s}, m[1] + " " + m[2]) : s;
}

function money(v) {
  const t = val(v);
  const n = Number(t);
  return t !== "" && Number.isFinite(n) ? n.toLocaleString(undefined, {minimumFractionDigits: 2, maximumFractionDigits: 2}) : t;
}

function partyLink(id, text) {
  return h("a", {href: "/party/" + id, "data-party": id, onclick: (e) => { e.preventDefault(); go("/party/" + id); }}, text || ("#" + id));
}

function entityName(e) {
  const a = e.attrs || {};
  if (a.given_name || a.family_name) return [a.given_name, a.family_name].filter(Boolean).map(val).join(" ");
  return val(a.organization_name || a.full_name || a.name || a.summary || ("#" + e.id));
}

async function api(path, options) {
  const r = await fetch(path, Object.assign({credentials: "same-origin", headers: {"Accept": "application/json"}}, options || {}));
  if (r.status === 401) { location.href = "/login"; throw new Error("authentication required"); }
  const body = await r.json().catch(() => ({error: "the server answered " + r.status}));
  if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
  return body;
}

// Replaces an element's children, leaving out the absent ones.
function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

function card(title, body, opts) {
  const o = opts || {};
  return h("section", {class: "card" + (o.wide ? " wide" : ""), id: o.id, "aria-labelledby": o.id ? o.id + "-h" : null},
    h("h2", {id: o.id ? o.id + "-h" : null}, title), body);
}

function table(headers, rows, cls) {
  return h("div", {class: "scroll"}, h("table", {class: cls},
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {scope: "col"}, x)))),
    h("tbody", {}, rows)));
}

function truncated(why) {
  return why ? h("p", {class: "truncated", role: "note"}, "truncated: " + why) : null;
}

// ---- search --------------------------------------------------------------

async function showSearch(q) {
  stopLive();
  current = null;
  document.getElementById("q").value = q;
  fill(main, h("p", {class: "muted"}, "Searching…"));
  try {
    const r = await api("/api/search?q=" + encodeURIComponent(q));
    document.title = "kith · " + q;
    const items = r.results.map((p) => h("li", {},
      partyLink(p.id, p.name || ("#" + p.id)), " ",
      h("span", {class: "muted"}, [p.kind, p.city, p.birth_date].filter(Boolean).join(" · ")), " ",
      h("span", {class: "src"}, p.records + " source record" + (p.records === 1 ? "" : "s") + " · matched by " + p.matched_by)));
    fill(main, 
      h("h1", {}, "Results for “" + q + "”"),
      items.length ? h("ul", {class: "results", id: "results"}, items) : h("p", {id: "results"}, "No customer matches."),
      truncated(r.truncated),
      h("p", {class: "src"}, r.results.length + " in " + (r.elapsed_us / 1000).toFixed(1) + " ms"));
    const first = main.querySelector(".results a");
    if (first) first.focus();
  } catch (e) {
    fill(main, h("p", {class: "error", role: "alert"}, e.message));
  }
}

// ---- the customer page ---------------------------------------------------

function header(p) {
  const c = p.context.customer.attrs || {};
  const fig = p.context.figures || {};
  const badges = [p.kind, c.tier || fig.tier, c.segment, c.status].filter(Boolean).map(val);
  return h("div", {class: "head"},
    h("h1", {id: "party-name"}, p.name || ("#" + p.id)),
    h("p", {class: "badges"}, badges.map((b) => h("span", {class: "tier-" + b}, b)),
      h("span", {}, "id " + p.id)),
    h("p", {class: "muted"},
      "Deposits " + money(fig.deposits) + " · credit " + money(fig.credit) + " · " +
      fig.open_products + " open products" + (fig.tenure_days != null ? " · customer for " + fig.tenure_days + " days" : "")));
}

function profile(p) {
  const lineage = p.lineage || [];
  if (lineage.length) {
    return card("Golden profile", table(["Attribute", "Value", "Source", "Changed", "Rule"],
      lineage.map((l) => h("tr", {},
        h("th", {scope: "row"}, l.attr), h("td", {}, val(l.value)),
        h("td", {class: "src"}, l.record), h("td", {class: "src nowrap"}, when(l.at)),
        h("td", {class: "src", title: l.agreeing + " record(s) agree"}, l.rule)))), {id: "profile"});
  }
  return card("Profile", table(["Attribute", "Value", "Source"],
    p.context.profile.map((a) => h("tr", {},
      h("th", {scope: "row"}, a.name), h("td", {}, val(a.value)),
      h("td", {class: "src"}, a.source ? a.source.system + ":" + a.source.key : "")))), {id: "profile"});
}

function identifiers(p) {
  const rows = Object.entries(p.identifiers_by_system).map(([system, keys]) =>
    h("tr", {}, h("th", {scope: "row"}, system), h("td", {}, keys.join(", "))));
  return card("Identifiers by system", rows.length ? table(["System", "Keys"], rows) : h("p", {class: "muted"}, "None."), {id: "identifiers"});
}

function accounts(p) {
  const rows = p.accounts.map((x) => {
    const a = x.account.attrs || {};
    const troubled = ["delinquent", "past_due", "in_arrears", "charged_off"].includes(val(a.status));
    return h("tr", {"data-account": x.account.id},
      h("td", {}, val(a.product_type)), h("td", {class: "nowrap"}, val(a.account_number)),
      h("td", {class: "num"}, money(a.balance)), h("td", {}, val(a.currency)),
      h("td", {class: troubled ? "open" : ""}, val(a.status)), h("td", {}, x.role || ""),
      h("td", {}, x.co_owners.map((o, i) => [i ? ", " : "", partyLink(o.id, o.name), o.role ? " (" + o.role + ")" : ""])));
  });
  return card("Accounts (" + p.accounts.length + ")", rows.length
    ? table(["Product", "Number", "Balance", "Currency", "Status", "Role", "Co-owners"], rows, "accounts")
    : h("p", {class: "muted"}, "No accounts."), {id: "accounts", wide: true});
}

function households(p) {
  const hs = p.context.households || [];
  if (!hs.length) return card("Household", h("p", {class: "muted"}, "Not in a household."), {id: "household"});
  return card("Household", hs.map((x) => h("div", {},
    h("p", {}, h("strong", {}, entityName(x.household)), x.role ? " · " + x.role : ""),
    table(["Member", "Role"], x.members.map((m) => h("tr", {},
      h("td", {}, m.person.id === p.id ? h("strong", {}, entityName(m.person)) : partyLink(m.person.id, entityName(m.person))),
      h("td", {}, m.role || "")))),
    h("p", {class: "muted"}, "Totals: " + (Object.entries(x.totals).map(([k, v]) => k + " " + money(v)).join(" · ") || "none")))), {id: "household"});
}

function nameOf(p, id) {
  const n = p.names[String(id)];
  return n ? n.name : "#" + id;
}

function guarantors(p) {
  const g = p.guarantors;
  const isParty = (id) => { const n = p.names[String(id)]; return n && (n.kind === "person" || n.kind === "organization"); };
  const link = (l) => h("li", {}, isParty(l.id) ? partyLink(l.id, nameOf(p, l.id)) : nameOf(p, l.id),
    h("span", {class: "src"}, " " + l.kind + (l.depth > 1 ? " · via " + l.chain.slice(0, -1).map((c) => nameOf(p, c)).join(" → ") : "")));
  return card("Guarantor network", [
    h("p", {}, "Guarantees: ", g.guarantees.length ? "" : "nothing"), h("ul", {}, g.guarantees.map(link)),
    h("p", {}, "Guaranteed by: ", g.guaranteed_by.length ? "" : "nobody"), h("ul", {}, g.guaranteed_by.map(link)),
    h("p", {}, "Exposure: ", h("strong", {}, money(g.total_exposure)), " on " + g.exposed_accounts.length + " account(s)"),
    g.truncated ? truncated("the network is deeper or wider than shown") : null], {id: "guarantors"});
}

function group(p) {
  const g = p.group;
  if (!g) return null;
  return card("Corporate group", [
    h("p", {}, "Ultimate parent: ", partyLink(g.ultimate_parent, nameOf(p, g.ultimate_parent))),
    table(["Member", "Depth", "Effective share"], g.members.map((m) => h("tr", {},
      h("td", {}, m.id === p.id ? h("strong", {}, nameOf(p, m.id)) : partyLink(m.id, nameOf(p, m.id))),
      h("td", {class: "num"}, m.depth), h("td", {class: "num"}, val(m.effective_share))))),
    h("p", {}, "Consolidated exposure: ", h("strong", {}, money(g.consolidated_exposure))),
    truncated(g.truncation)], {id: "group"});
}

function timeline(p) {
  const open = new Set((p.context.open_items || []).map((o) => o.entity.id));
  const rows = p.timeline.map((i) => {
    const a = i.attrs || {};
    return h("tr", {"data-interaction": i.id},
      h("td", {class: "src nowrap"}, when(a.occurred_at || i.created)), h("td", {}, val(a.channel || a.interaction_type)),
      h("td", {}, val(a.interaction_type)), h("td", {}, val(a.summary)),
      h("td", {class: open.has(i.id) ? "open" : ""}, val(a.status) + (open.has(i.id) ? " (open)" : "")));
  });
  const items = (p.context.open_items || []).map((o) => h("li", {class: "open"}, o.what + ": " + entityName(o.entity)));
  return card("Interactions", [
    items.length ? h("ul", {id: "open-items"}, items) : null,
    rows.length ? table(["When", "Channel", "Type", "Summary", "Status"], rows, "timeline") : h("p", {class: "muted"}, "No interactions."),
    truncated(p.timeline_truncated)], {id: "timeline", wide: true});
}

function actions(p) {
  if (!p.actions.length) return null;
  return card("Actions raised by rules", h("ul", {}, p.actions.map((a) => h("li", {},
    h("strong", {}, a.rule), " · " + (a.fields && a.fields.message ? a.fields.message : a.trigger),
    h("span", {class: "src"}, " · " + a.id)))), {id: "actions"});
}

function matches(p) {
  if (!p.possible_matches.length) return null;
  return card("Possible matches awaiting review", p.possible_matches.map((m) => h("div", {class: "match", "data-match": m.id},
    partyLink(m.id, m.name || ("#" + m.id)), " ",
    h("span", {class: "muted"}, [m.kind, m.city, m.birth_date].filter(Boolean).join(" · ")),
    m.score != null ? h("span", {class: "src"}, " · match score " + Number(m.score).toFixed(2)) : null,
    h("div", {class: "actions"},
      h("button", {class: "primary", onclick: () => decide(p.id, m.id, "same")}, "Same customer"),
      h("button", {class: "danger", onclick: () => decide(p.id, m.id, "apart")}, "Not the same")))), {id: "matches", wide: true});
}

async function decide(a, b, what) {
  const label = what === "same" ? "merge these two customers" : "keep these two customers apart";
  if (!confirm("Really " + label + "?")) return;
  try {
    const r = await api("/api/party/" + a + "/" + what + "/" + b, {method: "POST"});
    go("/party/" + (r.customer || a));
  } catch (e) {
    alert(e.message);
  }
}

function sources(p) {
  if (!p.records.length) {
    return card("Source records (0)", h("p", {class: "muted"}, "No source records resolve to this customer: it was created directly, not by identity resolution."), {id: "records", wide: true});
  }
  return card("Source records (" + p.records.length + ")", [
    p.records.map((r) => {
      const x = (r.record.identifiers || [])[0];
      const name = x ? x.system + ":" + x.key : "#" + r.record.id;
      const cmp = (r.explain && r.explain.comparisons) || [];
      return h("details", {},
        h("summary", {}, name, h("span", {class: "src"}, " · updated ", when(r.record.updated))),
        table(["Field", "Value"], Object.entries(r.record.attrs || {}).filter(([k]) => k !== "blocking_keys")
          .map(([k, v]) => h("tr", {}, h("th", {scope: "row"}, k), h("td", {}, val(v))))),
        cmp.length ? h("p", {}, "Why it belongs: compared with " + cmp.map((c) => c.record + " (score " + Number(c.total).toFixed(1) + ")").join(", ")) : h("p", {class: "muted"}, "The customer's only record."));
    }),
    truncated(p.records_truncated)], {id: "records", wide: true});
}

function graphCard() {
  return card("Relationships", [
    h("div", {role: "group", "aria-label": "Hops"},
      h("button", {id: "hops-1", "aria-pressed": hops === 1 ? "true" : "false", onclick: () => { hops = 1; drawGraph(current); }}, "1 hop"), " ",
      h("button", {id: "hops-2", "aria-pressed": hops === 2 ? "true" : "false", onclick: () => { hops = 2; drawGraph(current); }}, "2 hops")),
    h("div", {id: "graph", role: "img", "aria-label": "Relationship graph"}),
    h("ul", {id: "graph-list", class: "visually-hidden"}),
    h("p", {id: "graph-note", class: "src"})], {id: "relationships", wide: true});
}

const colours = {person: "#0b5fb3", organization: "#6b3fa0", household: "#1f7a3a", account: "#a14a00"};

async function drawGraph(id) {
  const box = document.getElementById("graph");
  if (!box) return;
  try {
    const g = await api("/api/party/" + id + "/graph?hops=" + hops);
    if (id !== current) return;
    document.getElementById("graph-note").textContent =
      g.nodes.length + " nodes, " + g.edges.length + " relationships" + (g.truncated ? " · truncated: " + g.truncated : "");
    document.getElementById("graph-list").replaceChildren(...g.edges.map((e) => h("li", {}, e.source + " " + e.kind + " " + e.target)));
    for (const b of [1, 2]) document.getElementById("hops-" + b).setAttribute("aria-pressed", b === hops ? "true" : "false");
    if (typeof cytoscape !== "function") { box.textContent = "The graph library did not load."; return; }
    const cy = cytoscape({
      container: box,
      elements: [
        ...g.nodes.map((n) => ({data: {id: String(n.id), label: n.label || ("#" + n.id), kind: n.kind, center: n.center ? 1 : 0}})),
        ...g.edges.map((e, i) => ({data: {id: "e" + i, source: String(e.source), target: String(e.target), label: e.kind}})),
      ],
      style: [
        {selector: "node", style: {"label": "data(label)", "font-size": 10, "background-color": (n) => colours[n.data("kind")] || "#5b6672", "width": 18, "height": 18, "text-wrap": "ellipsis", "text-max-width": 110}},
        {selector: "node[center = 1]", style: {"width": 30, "height": 30, "border-width": 3, "border-color": "#ffbf47"}},
        {selector: "edge", style: {"label": "data(label)", "font-size": 8, "width": 1.5, "line-color": "#9aa5b1", "target-arrow-shape": "triangle", "target-arrow-color": "#9aa5b1", "curve-style": "bezier", "color": "#5b6672"}},
      ],
      layout: {name: "cose", animate: false, randomize: false, nodeDimensionsIncludeLabels: true},
      wheelSensitivity: 0.3,
      minZoom: 0.1,
      maxZoom: 1.6,
    });
    cy.on("tap", "node", (ev) => {
      const n = g.nodes.find((x) => String(x.id) === ev.target.id());
      if (n && (n.kind === "person" || n.kind === "organization") && !n.center) go("/party/" + n.id);
    });
    box.dataset.nodes = String(cy.nodes().length);
    box.dataset.edges = String(cy.edges().length);
  } catch (e) {
    box.textContent = e.message;
  }
}

async function showParty(id, quiet) {
  if (!quiet) fill(main, h("p", {class: "muted"}, "Loading…"));
  try {
    const p = await api("/api/party/" + id);
    if (p.merged_into) { go("/party/" + p.merged_into, true); return; }
    current = id;
    document.title = "kith · " + (p.name || id);
    fill(main, 
      header(p),
      h("div", {class: "grid"},
        matches(p), actions(p), accounts(p), households(p), profile(p), identifiers(p),
        graphCard(), guarantors(p), group(p), timeline(p), sources(p)));
    main.dataset.party = String(p.id);
    main.dataset.loadedAt = String(Date.now());
    drawGraph(id);
    if (!quiet) {
      document.body.dataset.interactiveMs = String(Math.round(performance.now() - started));
      startLive(id, p.live);
    }
  } catch (e) {
    fill(main, h("h1", {}, "Customer " + id), h("p", {class: "error", role: "alert"}, e.message));
  }
}

// ---- live updates --------------------------------------------------------

function stopLive() {
  if (events) { events.close(); events = null; }
  liveBadge.textContent = "";
  liveBadge.classList.remove("on");
}

function startLive(id, enabled) {
  stopLive();
  if (!enabled) { liveBadge.textContent = "not live: the database keeps no change log"; return; }
  if (typeof EventSource !== "function") return;
  events = new EventSource("/api/party/" + id + "/events");
  events.onopen = () => { liveBadge.textContent = "live"; liveBadge.classList.add("on"); document.body.dataset.live = "open"; };
  events.onerror = () => { liveBadge.textContent = "reconnecting…"; liveBadge.classList.remove("on"); };
  events.addEventListener("change", async (ev) => {
    let msg = {};
    try { msg = JSON.parse(ev.data); } catch (_) { /* a comment */ }
    if (current !== id) return;
    await showParty(id, true);
    const n = Number(document.body.dataset.liveUpdates || 0) + 1;
    document.body.dataset.liveUpdates = String(n);
    if (msg.ms) document.body.dataset.lastUpdateLagMs = String(Date.now() - msg.ms);
    liveBadge.textContent = "live · updated " + new Date().toLocaleTimeString();
  });
}

// ---- navigation ----------------------------------------------------------

function go(path, replace) {
  if (replace) history.replaceState(null, "", path); else history.pushState(null, "", path);
  render();
}

function render() {
  const m = location.pathname.match(/^\/party\/(\d+)$/);
  const q = new URLSearchParams(location.search).get("q");
  if (m) showParty(Number(m[1]));
  else if (q) showSearch(q);
  else { stopLive(); current = null; }
}

document.getElementById("search").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("q").value.trim();
  if (!q) return;
  go("/?q=" + encodeURIComponent(q));
});
window.addEventListener("popstate", render);
render();
