// The live page: polls status.json (every 1.5 s) and trend.json (every 5 s) and draws
// them. Everything from the service goes into the document as text (textContent,
// attributes), never as markup, so names and descriptions from the config stay inert.
"use strict";

const STATUS_EVERY = 1500, TREND_EVERY = 5000;
const SVG = "http://www.w3.org/2000/svg";
let trends = {};

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function num(value) {
  if (value === null || value === undefined) return "–";
  const a = Math.abs(value);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return value.toExponential(3);
  return String(Number(value.toPrecision(5)));
}

function seconds(value) {
  if (value === null || value === undefined) return "–";
  if (value < 1) return Math.round(value * 1000) + " ms";
  if (value < 60) return value.toFixed(1) + " s";
  if (value < 3600) return (value / 60).toFixed(1) + " min";
  return (value / 3600).toFixed(1) + " h";
}

function clock(unix) {
  return unix ? new Date(unix * 1000).toLocaleTimeString() : "–";
}

function sparkline(series) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "trend");
  svg.setAttribute("viewBox", "0 0 300 60");
  svg.setAttribute("preserveAspectRatio", "none");
  const range = el("div", "trend-range");
  const points = (series && series.points) || [];
  if (points.length < 2) {
    range.append(el("span", null, "trend: collecting…"));
    return [svg, range];
  }
  const log = series.log;
  const y = (v) => (log ? Math.log10(v) : v);
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  let lo = Infinity, hi = -Infinity;
  for (const [, v] of points) { lo = Math.min(lo, y(v)); hi = Math.max(hi, y(v)); }
  if (hi === lo) { hi += 0.5; lo -= 0.5; }
  const coords = points.map(([t, v]) =>
    (300 * (t - t0) / (t1 - t0 || 1)).toFixed(1) + "," + (57 - 54 * (y(v) - lo) / (hi - lo)).toFixed(1));
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", coords.join(" "));
  svg.append(line);
  const values = points.map((p) => p[1]);
  range.append(el("span", null, "last " + seconds(t1 - t0) + (log ? " · log scale" : "")),
               el("span", null, "min " + num(Math.min(...values)) + " · max " + num(Math.max(...values))));
  return [svg, range];
}

function cardHead(item) {
  // What every card starts with: codename, description, value, unit and state.
  const node = el("article", "card");
  node.dataset.codename = item.codename;
  node.dataset.state = item.state;
  node.append(el("div", "codename", item.codename));
  if (item.description) node.append(el("div", "description", item.description));
  const reading = el("div", "reading");
  reading.append(el("span", "value", num(item.last_value)));
  if (item.unit) reading.append(el("span", "unit", item.unit));
  reading.append(el("span", "state", item.state));
  node.append(reading);
  return node;
}

function card(instrument, ch) {
  const node = cardHead(ch);
  node.append(el("div", "counts",
    instrument.name + " · age " + seconds(ch.age) + " · reads " + ch.reads +
    " · errors " + ch.errors + " · logged " + ch.points));
  const windowed = ch.aggregate ? Object.entries(ch.aggregate.values) : [];
  if (windowed.length) {  // an aggregated channel: the values its last window yielded
    node.append(el("div", "aggregate", "last window: " +
      windowed.map(([name, value]) => name + " " + num(value)).join(" · ")));
  }
  if (ch.state !== "fresh" && instrument.last_error && instrument.error_streak) {
    node.append(el("div", "error", instrument.last_error));
  }
  node.append(...sparkline(trends[ch.codename]));
  return node;
}

function clientCard(c) {
  // A codename that scripts send through the points socket: as a channel's card, with
  // the clients sending it where a channel names its instrument.
  const node = cardHead(c);
  node.append(el("div", "counts",
    (c.clients.length ? "from " + c.clients.join(", ") : "no client sends it now") +
    " · age " + seconds(c.age) + " · logged " + c.points));
  node.append(...sparkline(trends[c.codename]));
  return node;
}

function clients(status) {
  const section = document.getElementById("clients-section");
  const socket = status.points_socket;
  section.hidden = !socket;
  if (!socket) return;
  const cards = el("div", "cards");
  cards.id = "clients";
  for (const c of status.clients || []) cards.append(clientCard(c));
  document.getElementById("clients").replaceWith(cards);
  const list = el("dl", "facts");
  list.id = "connected";
  fact(list, "socket", socket.socket);
  if (!socket.connected_clients.length) fact(list, "clients", "none connected");
  for (const c of socket.connected_clients) {
    fact(list, "client " + c.client, c.codenames.join(", ") + " · since " + clock(c.since) +
         " · " + c.points + " points on this connection");
  }
  fact(list, "refused / cut off", socket.refused + " / " + socket.cut_off);
  document.getElementById("connected").replaceWith(list);
}

function fact(list, name, value) {
  if (value === undefined) return;
  list.append(el("dt", null, name), el("dd", null, value === null ? "–" : value));
}

function database(status) {
  const list = el("dl", "facts");
  list.id = "database";
  const lg = status.logger || {};
  fact(list, "configured", status.database);
  fact(list, "backend", lg.backend);
  for (const key of ["node", "connected_node", "server"]) fact(list, key.replace("_", " "), lg[key]);
  fact(list, "connected", lg.connected === undefined ? undefined : (lg.connected ? "yes" : "NO"));
  fact(list, "queue", lg.queued);
  fact(list, "spool", lg.spooled === undefined ? undefined : !lg.spool_bytes && !lg.spooled ? null
       : lg.spooled + " points, " + (lg.spool_bytes / 1e6).toFixed(1) + " MB");
  const oldest = Math.max(lg.oldest_queued_age ?? -1, lg.oldest_spooled_age ?? -1);
  fact(list, "oldest waiting", oldest < 0 ? null : seconds(oldest));
  fact(list, "last commit", lg.last_commit_time
       ? clock(lg.last_commit_time) + " (" + seconds(status.updated - lg.last_commit_time) + " ago)" : null);
  // Enqueue-to-commit times, whatever the logger reports of them.
  for (const [key, value] of Object.entries(lg)) {
    if (/latency|enqueue_to_commit/.test(key) && value !== null && typeof value !== "object") {
      fact(list, key.replaceAll("_", " "), typeof value === "number" ? seconds(value) : value);
    }
  }
  fact(list, "committed", lg.committed !== undefined ? lg.committed + " in " + lg.batches + " batches" : undefined);
  fact(list, "reconnects", lg.reconnects);
  if (lg.overflowed) fact(list, "OVERFLOWED", lg.overflowed);
  if (lg.dead_lettered) fact(list, "dead-lettered", lg.dead_lettered);
  fact(list, "last error", lg.last_error);
  const ps = status.points_socket;
  if (ps) {
    fact(list, "points socket", ps.accepting ? ps.connected + " client(s) connected"
         : "NOT ACCEPTING: " + ps.accept_error);
  }
  document.getElementById("database").replaceWith(list);
}

// [service] pull_socket and live_server: where they are and what they handled.
function udp(status) {
  const list = el("dl", "facts");
  list.id = "udp";
  const pull = status.pull_socket, live = status.live_server;
  if (pull) {
    fact(list, "pull socket", "UDP " + (pull.host || "all interfaces") + ":" + pull.port + ", " + pull.codenames + " codenames");
    fact(list, "pull requests", (pull.answered || 0) + " answered, " + (pull.refused || 0) + " refused");
    const dropped = (pull.flood_dropped || 0) + (pull.oversized || 0) + (pull.undecodable || 0);
    if (dropped) fact(list, "pull bad datagrams", dropped);
  }
  if (live) {
    fact(list, "live server", live.host + ":" + live.port);
    fact(list, "live messages", live.sent + " sent" + (live.failed ? ", " + live.failed + " failed" : ""));
  }
  document.getElementById("udp-section").hidden = !pull && !live;
  document.getElementById("udp").replaceWith(list);
}

function render(status) {
  document.getElementById("summary").textContent =
    status.summary + " · updated " + clock(status.updated);
  const cards = el("div", "cards");
  cards.id = "channels";
  for (const instrument of status.instruments || []) {
    for (const ch of instrument.channels) cards.append(card(instrument, ch));
  }
  document.getElementById("channels").replaceWith(cards);
  // A service for scripts only has no instruments: no empty section for them.
  document.getElementById("channels-section").hidden =
    !(status.instruments || []).length && !!status.points_socket;
  clients(status);
  database(status);
  udp(status);
}

function problem(text) {
  const banner = document.getElementById("connection");
  banner.hidden = !text;
  banner.textContent = text || "";
}

async function poll() {
  try {
    const reply = await fetch("status.json", { cache: "no-store" });
    if (!reply.ok) throw new Error("status.json: HTTP " + reply.status);
    render(await reply.json());
    problem(null);
  } catch (error) {
    problem("No answer from the service (" + error.message + "); showing the last values.");
  }
  setTimeout(poll, STATUS_EVERY);
}

async function pollTrend() {
  try {
    const reply = await fetch("trend.json", { cache: "no-store" });
    if (reply.ok) trends = await reply.json();
  } catch (error) {
    // the status poll reports a lost service
  }
  setTimeout(pollTrend, TREND_EVERY);
}

pollTrend();
poll();
