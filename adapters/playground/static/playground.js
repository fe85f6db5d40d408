// The playground: runs the seed flows from the browser with fetch, draws
// them on the sequence diagram, and listens on the resource role's event
// stream for the calls it makes itself (JWKS, introspection). Plain
// standard JavaScript, no framework, no build step.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const X = { Client: 100, ResourceServer: 300, OAuthServer: 500 };
const UPSTREAM_WAIT_MS = 2000;

const state = {
  config: null,
  session: "",
  seq: 0,
  events: new Map(), // request id -> [upstream events]
  waiters: new Map(), // request id -> resolve
  ready: null,
  plan: [],
  next: 0,
  ctx: {},
  busy: false,
};

function $(id) { return document.getElementById(id); }

function randomHex(bytes) {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function choice(name) { return document.querySelector(`input[name="${name}"]:checked`).value; }

// jwtOnly are the failure choices that need a JWT: they run the JWT flow
// whichever flow is chosen.
const jwtOnly = ["noscope", "expired", "rotation"];

function flowOf() { return jwtOnly.includes($("failure").value) ? "jwt" : choice("flow"); }

function client(format) { return state.config.Clients.find((c) => c.format === format); }

// The steps of a run: each has arrows (request, answer) and a function
// performing it; upstream arrows belong to the resource call.
function buildPlan() {
  const flow = flowOf();
  const failure = $("failure").value;
  const steps = [
    { id: "challenge", title: "Client asks for the country without a token", arrows: [
      ["challenge-req", "Client", "ResourceServer", "GET /country/code/AUS"],
      ["challenge-res", "ResourceServer", "Client", "401 WWW-Authenticate: Bearer"]], run: stepChallenge },
  ];
  if (failure === "rotation") {
    steps.push({ id: "rotate", title: "The OAuthServer rotates its signing key (playground only)", arrows: [
      ["rotate-req", "Client", "OAuthServer", "POST /playground/api/rotate-keys"],
      ["rotate-res", "OAuthServer", "Client", "new kid"]], run: stepRotate });
  }
  steps.push(
    { id: "token", title: "Client asks the OAuthServer for an access token", arrows: [
      ["token-req", "Client", "OAuthServer", (failure === "expired" ? "POST /playground/api/expired-token (" : "POST /oauth2/token (") + (choice("auth") === "basic" ? "client_secret_basic" : "client_secret_post") + ")"],
      ["token-res", "OAuthServer", "Client", "access_token"]], run: stepToken });
  if (failure === "revoked") {
    steps.push({ id: "revoke", title: "Client revokes the token (RFC 7009)", arrows: [
      ["revoke-req", "Client", "OAuthServer", "POST /oauth2/revoke"],
      ["revoke-res", "OAuthServer", "Client", "200"]], run: stepRevoke });
  }
  const upstream = flow === "jwt"
    ? [["upstream-req", "ResourceServer", "OAuthServer", "GET /oauth2/jwks (key by kid)"],
       ["upstream-res", "OAuthServer", "ResourceServer", "keys"]]
    : [["upstream-req", "ResourceServer", "OAuthServer", "POST /oauth2/introspect"],
       ["upstream-res", "OAuthServer", "ResourceServer", "introspection answer"]];
  steps.push({ id: "resource", title: "Client calls the ResourceServer with the token", arrows: [
    ["resource-req", "Client", "ResourceServer", "GET /country/code/AUS + Bearer"],
    ...upstream,
    ["resource-res", "ResourceServer", "Client", "200 {code, name}"]], run: stepResource });
  return steps;
}

function explain() {
  const text = {
    none: "The seed's walkthrough: 401 with a Bearer challenge, a token, then the country.",
    scope: "The client asks for admin.write, which it may not have: the token endpoint answers 400 invalid_scope.",
    tampered: "One character of the token is changed before it is sent: the signature (or the introspection) fails, 401 invalid_token.",
    noscope: "The JWT client asks only for customer.read: the token is valid but the resource needs country.read, 403 insufficient_scope.",
    revoked: "The token is revoked at the OAuthServer before it is used: the resource server refuses it, 401 invalid_token.",
    expired: "A playground-only endpoint issues the JWT client a token that expired an hour ago: the resource server checks exp itself, 401 invalid_token.",
    rotation: "A playground-only endpoint makes a new key sign at once. The JWKS gains it; the resource server meets an unknown kid and fetches the JWKS once (at most once per jwks-min-refresh-interval, 10s by default: sooner, it refuses the kid), then finds it in its cache.",
  };
  $("explain").textContent = text[$("failure").value];
}

// --- diagram -------------------------------------------------------------

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

function drawDiagram() {
  const svg = $("diagram");
  svg.replaceChildren();
  const arrows = state.plan.flatMap((s) => s.arrows);
  const height = 80 + arrows.length * 46 + 20;
  svg.setAttribute("viewBox", `0 0 600 ${height}`);
  for (const [name, x] of Object.entries(X)) {
    const g = el("g", { class: "actor" }, svg);
    el("rect", { x: x - 80, y: 10, width: 160, height: 36, rx: 6 }, g);
    const t = el("text", { x, y: 33, "text-anchor": "middle" }, g);
    t.textContent = name;
    el("line", { class: "lifeline", x1: x, y1: 46, x2: x, y2: height - 10 }, svg);
  }
  arrows.forEach(([id, from, to, label], i) => {
    const y = 86 + i * 46;
    const x1 = X[from], x2 = X[to];
    const dir = x2 > x1 ? 1 : -1;
    const g = el("g", { class: "arrow", "data-arrow": id, "data-state": "idle" }, svg);
    el("line", { x1, y1: y, x2: x2 - dir * 8, y2: y }, g);
    el("polygon", { points: `${x2},${y} ${x2 - dir * 10},${y - 5} ${x2 - dir * 10},${y + 5}` }, g);
    const lx = (x1 + x2) / 2;
    const t = el("text", { class: "label", x: lx, y: y - 8, "text-anchor": "middle" }, g);
    t.textContent = label;
    const s = el("text", { class: "state", x: lx, y: y + 16, "text-anchor": "middle" }, g);
    s.textContent = "";
    const title = el("title", {}, g);
    title.textContent = `${from} → ${to}: ${label}`;
  });
}

function arrow(id, st, text, label) {
  const g = document.querySelector(`[data-arrow="${id}"]`);
  if (!g) return;
  g.setAttribute("data-state", st);
  if (text !== undefined) g.querySelector(".state").textContent = text;
  if (label !== undefined) g.querySelector(".label").textContent = label;
}

// --- steps list ----------------------------------------------------------

function stepItem(step) {
  let li = document.querySelector(`li[data-step="${step.id}"]`);
  if (li) return li;
  li = document.createElement("li");
  li.dataset.step = step.id;
  const h = document.createElement("h3");
  const badge = document.createElement("span");
  badge.className = "badge";
  badge.textContent = "…";
  h.append(badge, " ", step.title);
  li.append(h);
  $("steps").append(li);
  return li;
}

function block(li, summary, text, open) {
  const d = document.createElement("details");
  if (open) d.open = true;
  const s = document.createElement("summary");
  s.textContent = summary;
  const pre = document.createElement("pre");
  pre.textContent = text;
  d.append(s, pre);
  li.append(d);
  return pre;
}

function curlBlock(li, curl) {
  const d = document.createElement("details");
  d.className = "curl";
  const s = document.createElement("summary");
  s.textContent = "curl";
  const pre = document.createElement("pre");
  pre.textContent = curl;
  const b = document.createElement("button");
  b.type = "button";
  b.className = "copy";
  b.textContent = "Copy curl";
  b.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(curl);
      b.textContent = "Copied";
    } catch {
      const r = document.createRange();
      r.selectNodeContents(pre);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(r);
      b.textContent = "Selected: copy with the keyboard";
    }
  });
  d.append(s, pre, b);
  li.append(d);
}

function setBadge(li, status, ok, ms) {
  const badge = li.querySelector(".badge");
  badge.textContent = String(status);
  badge.className = "badge " + (ok ? "ok" : "fail");
  if (ms !== undefined) {
    const t = document.createElement("p");
    t.className = "timing";
    t.textContent = `${ms.toFixed(1)} ms`;
    li.querySelector("h3").after(t);
  }
}

// --- HTTP ----------------------------------------------------------------

const SHOWN = ["content-type", "www-authenticate", "cache-control", "x-request-id", "access-control-allow-origin", "vary"];

function describeRequest(r) {
  const lines = [`${r.method} ${r.url}`];
  for (const [k, v] of Object.entries(r.headers)) lines.push(`${k}: ${v}`);
  if (r.body) lines.push("", r.body);
  return lines.join("\n");
}

function describeResponse(res, body) {
  const lines = [`HTTP ${res.status}`];
  for (const k of SHOWN) if (res.headers.has(k)) lines.push(`${k}: ${res.headers.get(k)}`);
  if (body) lines.push("", pretty(body));
  return lines.join("\n");
}

function pretty(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

async function exchange(r) {
  const id = `pg-${state.session}-${++state.seq}`;
  r.headers["X-Request-Id"] = id;
  const t0 = performance.now();
  const res = await fetch(r.url, { method: r.method, headers: r.headers, body: r.body, cache: "no-store", credentials: "omit" });
  const body = await res.text();
  const ms = performance.now() - t0;
  delete r.headers["X-Request-Id"];
  return { id, res, body, ms };
}

function form(fields) {
  return Object.entries(fields).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
}

function basic(id, secret) {
  // RFC 6749 §2.3.1: each part form-urlencoded before the colon.
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, "+");
  return "Basic " + btoa(`${enc(id)}:${enc(secret)}`);
}

// clientRequest is a token-endpoint style request (token, revoke) with
// the chosen client authentication, and its curl in the seeds' style.
function clientRequest(path, c, fields) {
  const url = state.config.Issuer + path;
  const headers = { "Content-Type": "application/x-www-form-urlencoded" };
  const curl = [`curl --location --request POST '${url}' \\`, `--header 'Content-Type: application/x-www-form-urlencoded' \\`];
  let all = fields;
  if (choice("auth") === "basic") {
    headers.Authorization = basic(c.id, c.secret);
    curl.push(`--user '${c.id}:${c.secret}' \\`);
  } else {
    all = { ...fields, client_id: c.id, client_secret: c.secret };
  }
  const keys = Object.keys(all);
  keys.forEach((k, i) => curl.push(`--data-urlencode '${k}=${all[k]}'` + (i < keys.length - 1 ? " \\" : "")));
  return { req: { method: "POST", url, headers, body: form(all) }, curl: curl.join("\n") };
}

const resourceURL = () => state.config.ResourceURL + "/country/code/AUS";

function report(step, li, ex, req, curl, ok) {
  setBadge(li, ex.res.status, ok, ex.ms);
  block(li, "Request", describeRequest(req));
  block(li, "Response", describeResponse(ex.res, ex.body), true);
  curlBlock(li, curl);
}

async function stepChallenge(step) {
  const li = stepItem(step);
  const req = { method: "GET", url: resourceURL(), headers: {} };
  arrow("challenge-req", "active");
  const ex = await exchange(req);
  // Firefox keeps WWW-Authenticate from the page even when the server
  // exposes it (Access-Control-Expose-Headers): then only the status
  // can be checked here, and the curl shows the challenge.
  const www = ex.res.headers.get("www-authenticate");
  const ok = ex.res.status === 401 && (www === null || /^Bearer/i.test(www));
  arrow("challenge-req", ok ? "ok" : "fail");
  // The scheme alone on the arrow; the whole challenge is in the answer below.
  arrow("challenge-res", ok ? "ok" : "fail", `${ex.res.status} ` + (www === null ? "(this browser hides the challenge)" : www.split(/[ ,]/)[0]));
  report(step, li, ex, req, `curl -v --request GET '${resourceURL()}'`, ok);
  return true;
}

async function stepToken(step) {
  const li = stepItem(step);
  const failure = $("failure").value;
  const format = flowOf();
  const c = client(format);
  let scope = c.scopes.join(" ");
  if (failure === "scope") scope = "admin.write";
  if (failure === "noscope") scope = "customer.read";
  const path = failure === "expired" ? state.config.ExpiredTokenPath : state.config.TokenPath;
  const { req, curl } = clientRequest(path, c, { grant_type: "client_credentials", scope });
  arrow("token-req", "active");
  const ex = await exchange(req);
  const ok = ex.res.status === 200;
  arrow("token-req", "ok");
  let answer = {};
  try { answer = JSON.parse(ex.body); } catch { /* shown as text */ }
  arrow("token-res", ok ? "ok" : "fail", ok ? `200 ${answer.token_type} ${answer.scope}` : `${ex.res.status} ${answer.error || ""}`);
  report(step, li, ex, req, curl, ok);
  if (!ok) return false;
  state.ctx.client = c;
  state.ctx.token = answer.access_token;
  if (answer.access_token.split(".").length === 3) {
    block(li, "The JWT, decoded", decodeJWT(answer.access_token), true).dataset.jwt = "decoded";
  }
  return true;
}

function b64url(s) {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  return new TextDecoder().decode(Uint8Array.from(b, (ch) => ch.charCodeAt(0)));
}

function decodeJWT(t) {
  const [h, p] = t.split(".");
  try {
    return "header:\n" + pretty(b64url(h)) + "\n\nclaims:\n" + pretty(b64url(p));
  } catch {
    return "not a readable JWT";
  }
}

async function stepRevoke(step) {
  const li = stepItem(step);
  const { req, curl } = clientRequest(state.config.RevocationPath, state.ctx.client,
    { token: state.ctx.token, token_type_hint: "access_token" });
  arrow("revoke-req", "active");
  const ex = await exchange(req);
  const ok = ex.res.status === 200;
  arrow("revoke-req", "ok");
  arrow("revoke-res", ok ? "ok" : "fail", String(ex.res.status));
  report(step, li, ex, req, curl, ok);
  return ok;
}

async function stepRotate(step) {
  const li = stepItem(step);
  const url = state.config.Issuer + state.config.RotateKeysPath;
  const req = { method: "POST", url, headers: {} };
  arrow("rotate-req", "active");
  const ex = await exchange(req);
  const ok = ex.res.status === 200;
  arrow("rotate-req", "ok");
  let kid = "";
  try { kid = JSON.parse(ex.body).kid; } catch { /* shown as text */ }
  arrow("rotate-res", ok ? "ok" : "fail", ok ? `200 kid ${short(kid)}` : String(ex.res.status));
  report(step, li, ex, req, `curl --location --request POST '${url}'`, ok);
  return ok;
}

function tamper(t) {
  // Change one character in the middle of the signature (or of an opaque
  // token): the last character may carry only padding bits.
  const at = t.lastIndexOf(".") > 0 ? t.lastIndexOf(".") + Math.floor((t.length - t.lastIndexOf(".")) / 2) : Math.floor(t.length / 2);
  const c = t[at] === "A" ? "B" : "A";
  return t.slice(0, at) + c + t.slice(at + 1);
}

function upstreamFor(id) {
  if (state.events.has(id)) return Promise.resolve(state.events.get(id));
  return new Promise((resolve) => {
    const timer = setTimeout(() => { state.waiters.delete(id); resolve([]); }, UPSTREAM_WAIT_MS);
    state.waiters.set(id, (evs) => { clearTimeout(timer); resolve(evs); });
  });
}

async function stepResource(step) {
  const li = stepItem(step);
  let token = state.ctx.token;
  if ($("failure").value === "tampered") token = tamper(token);
  const req = { method: "GET", url: resourceURL(), headers: { Authorization: "Bearer " + token } };
  const curl = `curl --location --request GET '${resourceURL()}' \\\n--header 'Authorization: Bearer ${token}'`;
  arrow("resource-req", "active");
  const ex = await exchange(req);
  arrow("resource-req", "ok");
  const evs = await upstreamFor(ex.id);
  showUpstream(li, evs, token);
  const ok = ex.res.status === 200;
  const challenge = ex.res.headers.get("www-authenticate");
  // The error code of the challenge, or of the body where the browser
  // hides the challenge (see stepChallenge).
  let code = (/error="([^"]*)"/.exec(challenge || "") || [])[1];
  if (!code) try { code = JSON.parse(ex.body).error; } catch { code = ""; }
  arrow("resource-res", ok ? "ok" : "fail", ok ? `200 ${ex.body}` : `${ex.res.status} ${code || ""}`);
  const jwt = document.querySelector("[data-jwt]");
  const kid = evs.find((e) => e.kind === "jwks" && !e.error);
  if (ok && jwt && kid) jwt.textContent += `\n\nverified by the resource server with the JWKS key kid ${kid.kid}`;
  report(step, li, ex, req, curl, ok);
  return ok;
}

// showUpstream draws the resource server's own calls, as it reported them.
function showUpstream(li, evs, token) {
  const u = document.createElement("div");
  u.className = "upstream";
  u.dataset.upstream = String(evs.length);
  li.append(u);
  if (evs.length === 0) {
    arrow("upstream-req", "skipped", "nothing reported");
    arrow("upstream-res", "skipped", "");
    const p = document.createElement("p");
    p.textContent = "The resource server reported no call to the OAuthServer for this request.";
    u.append(p);
    return;
  }
  for (const ev of evs) {
    const h = document.createElement("h4");
    const ms = ev.duration_ms.toFixed(1) + " ms";
    if (ev.kind === "jwks" && ev.cached && !ev.error) {
      h.textContent = `JWKS: cache hit, key ${ev.kid} (no request)`;
      u.dataset.jwks = "cached";
      arrow("upstream-req", "ok", `cache hit, kid ${short(ev.kid)}`, "key from the cache");
      arrow("upstream-res", "skipped", "no request");
    } else if (ev.kind === "jwks" && !ev.status) {
      // An unknown kid the resource server may not fetch for yet.
      h.textContent = `JWKS not fetched for key ${ev.kid}: ${ev.error}`;
      u.dataset.jwks = "refused";
      arrow("upstream-req", "fail", `kid ${short(ev.kid)} unknown`, "key not in the cache");
      arrow("upstream-res", "skipped", "no fetch yet");
    } else {
      const good = ev.status === 200;
      if (ev.kind === "jwks") {
        h.textContent = `JWKS fetched for key ${ev.kid}: ${ev.status || ev.error} in ${ms}`;
        u.dataset.jwks = ev.error ? "error" : "fetched";
      } else {
        h.textContent = `Introspection: ${ev.status || ev.error} in ${ms}`;
        u.dataset.introspection = ev.response_body || "";
      }
      arrow("upstream-req", good ? "ok" : "fail", ev.kind === "jwks" ? `kid ${short(ev.kid)}` : "token=…");
      arrow("upstream-res", good ? "ok" : "fail", ev.kind === "jwks" ? `${ev.status} ${keyCount(ev.response_body)}` : `${ev.status} ${activeOf(ev.response_body)}`);
    }
    u.append(h);
    const headers = Object.entries(ev.request_headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n");
    block(u, "Request (made by the resource server)", `${ev.method} ${ev.url}` + (headers ? "\n" + headers : "") +
      (ev.request_body ? "\n\n" + ev.request_body.replace("<token>", "…") : ""));
    if (ev.status) block(u, "Response (as the resource server got it)", `HTTP ${ev.status}\n\n` + pretty(ev.response_body || ""), true);
    if (ev.error) block(u, "Note", ev.error, true);
    curlBlock(u, upstreamCurl(ev, token));
  }
}

const short = (kid) => (kid || "").slice(0, 8) + "…";

function keyCount(body) {
  try { return JSON.parse(body).keys.length + " key(s)"; } catch { return ""; }
}

function activeOf(body) {
  try { return "active: " + JSON.parse(body).active; } catch { return ""; }
}

function upstreamCurl(ev, token) {
  if (ev.kind === "jwks") return `curl --location --request GET '${ev.url}'`;
  const id = state.config.IntrospectionClient;
  const known = state.config.Clients.find((c) => c.id === id);
  return [`curl --location --request POST '${ev.url}' \\`,
    `--header 'Content-Type: application/x-www-form-urlencoded' \\`,
    `--data-urlencode 'client_id=${id}' \\`,
    `--data-urlencode 'client_secret=${known ? known.secret : "<its secret>"}' \\`,
    `--data-urlencode 'token=${token}'`].join("\n");
}

// --- running -------------------------------------------------------------

function reset() {
  state.plan = buildPlan();
  state.next = 0;
  state.ctx = {};
  $("steps").replaceChildren();
  drawDiagram();
  explain();
  $("status").textContent = "Ready: press Run, or Step for one request at a time.";
  $("step").disabled = false;
}

function finish() {
  const failure = $("failure").value;
  for (const s of state.plan.slice(state.next)) {
    for (const [id] of s.arrows) arrow(id, "skipped");
  }
  state.next = state.plan.length;
  $("status").textContent = "Done" + (failure === "none" ? "." : ": see which arrow failed, and why, below.");
  document.body.dataset.done = String(Number(document.body.dataset.done || 0) + 1);
}

async function stepOnce() {
  if (state.busy || state.next >= state.plan.length) return false;
  state.busy = true;
  const step = state.plan[state.next++];
  $("status").textContent = step.title + "…";
  let more;
  try {
    more = await step.run(step);
  } catch (e) {
    $("status").textContent = `${step.title}: ${e.message}`;
    more = false;
  }
  state.busy = false;
  if (!more || state.next >= state.plan.length) finish();
  else $("status").textContent = "Next: " + state.plan[state.next].title;
  return more;
}

async function run() {
  // The button stays enabled (a disabled one would lose the keyboard's
  // focus); a press during a run is ignored.
  if (state.running) return;
  state.running = true;
  $("run").setAttribute("aria-busy", "true");
  try {
    if (state.next > 0) reset();
    await state.ready;
    while (await stepOnce()) { /* step by step until the end */ }
  } finally {
    state.running = false;
    $("run").removeAttribute("aria-busy");
  }
}

function listen() {
  const url = state.config.ResourceURL + state.config.EventsPath + "?session=" + state.session;
  state.ready = new Promise((resolve) => {
    const es = new EventSource(url);
    const timer = setTimeout(resolve, 3000);
    es.addEventListener("ready", () => { clearTimeout(timer); document.body.dataset.stream = "ready"; resolve(); });
    es.addEventListener("upstream", (m) => {
      const ev = JSON.parse(m.data);
      const list = state.events.get(ev.request_id) || [];
      list.push(ev);
      state.events.set(ev.request_id, list);
      const w = state.waiters.get(ev.request_id);
      if (w) { state.waiters.delete(ev.request_id); w(list); }
    });
  });
}

async function start() {
  const res = await fetch("config.json", { cache: "no-store" });
  state.config = await res.json();
  state.session = randomHex(16);
  listen();
  for (const input of document.querySelectorAll("input[type=radio], select")) input.addEventListener("change", reset);
  $("run").addEventListener("click", run);
  $("step").addEventListener("click", async () => { await state.ready; if (state.next >= state.plan.length) reset(); stepOnce(); });
  $("reset").addEventListener("click", reset);
  reset();
}

document.addEventListener("DOMContentLoaded", start);
