// The ocpp-edge dashboard: takes the status as the daemon pushes it on
// the live websocket (/api/live), or polls /api/status every 2 s while
// that is down; draws the site's power against its cap and budget for
// the last hour or 24 h (the recorded history from /api/history, then
// each status), one bar per bay, and the explain of a bay on a tap
// (/api/explain/N).  No external resources.
'use strict';

const POLL_MS = 2000;
const LIVE_RETRY_MS = 10000; // the websocket is tried again after
const LIVE_OPEN_MS = 3000;   // a websocket not open by then is given up
const LIVE_QUIET_MS = 15000; // the daemon sends at least every 5 s
const EXPLAIN_MS = 2000;     // the open explain is fetched at most this often
const HOUR_MS = 3600 * 1000;
let windowMs = HOUR_MS; // the plot's span: the last hour or 24 h
let samples = [];       // {t, power, cap, budget} (W), oldest first
// The OCPP connector id whose explain is shown; #bay=N opens one.
let openBay = /^#bay=\d+$/.test(location.hash) ? Number(location.hash.slice(5)) : null;

const $ = (id) => document.getElementById(id);

function kw(w) {
  if (w === null || w === undefined || Number.isNaN(w)) return '\u2013';
  return (w / 1000).toFixed(1) + ' kW';
}

// A span of time in words: "40 s", "3 min", "2 h", "5 d".
function span(ms) {
  const s = Math.max(0, ms / 1000);
  if (s < 90) return Math.round(s) + ' s';
  if (s < 5400) return Math.round(s / 60) + ' min';
  if (s < 172800) return Math.round(s / 3600) + ' h';
  return Math.round(s / 86400) + ' d';
}

function since(iso) {
  return iso ? span(Date.now() - Date.parse(iso)) : '';
}

// A charger's phases and, when it switches them, the switching state,
// the switches so far, the end of the dwell and why the last one was
// given up (status' phases and phase_switching).
function phasesText(c) {
  const ps = c.phase_switching || {};
  let t = c.phases === 1 ? '1 phase' : c.phases + ' phases';
  if (ps.state && ps.state !== 'off') {
    t += ' \u00b7 switching ' + ps.state + ', ' + ps.switches +
      (ps.switches === 1 ? ' switch' : ' switches') +
      (ps.next_allowed ? ', next allowed in ' + span(Date.parse(ps.next_allowed) - Date.now())
        : ', may switch now');
  }
  return t;
}

function setState(id, text, level) {
  const el = $(id);
  el.textContent = text;
  el.className = 'v ' + level;
}

// The site's power: the meter's total, or the chargers' draw without one.
function sitePower(st) {
  if (st.meter && st.meter.total_w !== null) return { w: st.meter.total_w, label: 'Power' };
  let sum = 0;
  st.chargers.forEach((c) => c.connectors.forEach((k) => { sum += k.power_w || 0; }));
  return { w: sum, label: 'Chargers draw' };
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function svgEl(tag, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
}

// The plot: the last hour of samples, kW on the left axis.
function drawPlot() {
  const svg = $('plot');
  const W = 600, H = 220, L = 44, R = 8, T = 8, B = 22;
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const now = Date.now();
  const pts = samples.filter((s) => s.t >= now - windowMs);
  let max = 1000;
  pts.forEach((s) => { max = Math.max(max, s.power || 0, s.cap || 0, s.budget || 0); });
  const step = [1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000]
    .find((v) => max * 1.1 / v <= 5) || 1000000;
  const top = Math.ceil(max * 1.1 / step) * step;
  const x = (t) => L + (W - L - R) * (1 - (now - t) / windowMs);
  const y = (w) => T + (H - T - B) * (1 - w / top);
  for (let v = 0; v <= top; v += step) {
    svg.appendChild(svgEl('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }));
    const lab = svgEl('text', { x: L - 4, y: y(v) + 4, 'text-anchor': 'end' });
    lab.textContent = (v / 1000) + ' kW';
    svg.appendChild(lab);
  }
  const day = windowMs > HOUR_MS;
  [4, 3, 2, 1, 0].forEach((q) => {
    const lab = svgEl('text', { x: x(now - q * windowMs / 4), y: H - 6,
      'text-anchor': q === 4 ? 'start' : q === 0 ? 'end' : 'middle' });
    lab.textContent = q === 0 ? 'now' : '\u2212' + (day ? q * 6 + ' h' : q * 15 + ' min');
    svg.appendChild(lab);
  });
  ['cap', 'budget', 'power'].forEach((k) => {
    const p = pts.filter((s) => s[k] !== null && s[k] !== undefined)
      .map((s) => x(s.t).toFixed(1) + ',' + y(s[k]).toFixed(1));
    if (p.length === 1) p.push((W - R) + ',' + p[0].split(',')[1]);
    svg.appendChild(svgEl('polyline', { class: k, points: p.join(' '), 'data-series': k }));
  });
  svg.setAttribute('data-samples', String(pts.length));
  if (pts.length) svg.setAttribute('data-last-power', String(pts[pts.length - 1].power));
}

function drawBays(st) {
  const box = $('bays');
  let max = 1;
  const conns = [];
  st.chargers.forEach((c) => c.connectors.forEach((k) => {
    conns.push({ c, k });
    max = Math.max(max, k.setpoint_w || 0, k.power_w || 0);
  }));
  const rows = conns.map(({ c, k }) => {
    const row = el('div', 'bay' + (openBay === k.ocpp_id ? ' open' : ''));
    row.dataset.connector = String(k.ocpp_id);
    const top = el('div', 'top');
    const label = c.connectors.length > 1 ? c.name + '/' + k.connector : c.name;
    top.appendChild(el('span', 'name', label + ' \u00b7 #' + k.ocpp_id));
    top.appendChild(el('span', 'nums-small', kw(k.power_w) + ' of ' + kw(k.setpoint_w)));
    row.appendChild(top);
    const bar = el('div', 'bar');
    const set = el('div', 'set');
    set.style.width = (100 * (k.setpoint_w || 0) / max).toFixed(1) + '%';
    const draw = el('div', 'draw');
    draw.style.width = (100 * (k.power_w || 0) / max).toFixed(1) + '%';
    bar.appendChild(set);
    bar.appendChild(draw);
    row.appendChild(bar);
    const why = el('div', 'reason');
    why.appendChild(el('span', 'status', k.status + ': '));
    why.appendChild(el('span', 'reason-text', k.reason_text || k.reason));
    row.appendChild(why);
    const ph = el('div', 'phases');
    ph.appendChild(el('span', 'phases-text', phasesText(c)));
    if (c.phase_switching && c.phase_switching.error) {
      ph.appendChild(el('span', 'phase-error', ' \u00b7 last switch given up: ' +
        c.phase_switching.error));
    }
    row.appendChild(ph);
    row.addEventListener('click', () => {
      openBay = k.ocpp_id;
      history.replaceState(null, '', '#bay=' + k.ocpp_id);
      explain(k.ocpp_id);
      render(last);
    });
    return row;
  });
  box.replaceChildren(...rows);
}

async function explain(id) {
  try {
    const r = await fetch('/api/explain/' + id, { cache: 'no-store' });
    if (!r.ok) throw new Error((await r.text()).trim());
    const e = await r.json();
    $('explain').hidden = false;
    $('ex-title').textContent = 'Why ' + e.connector + ' has ' + kw(e.setpoint_w);
    $('ex-summary').textContent = e.summary || e.reason;
    const body = $('ex-caps').tBodies[0];
    body.replaceChildren(...e.caps.map((c) => {
      const tr = el('tr', c.bound ? 'bound' : '');
      tr.appendChild(el('td', '', (c.bound ? '\u25B6 ' : '') + c.what));
      tr.appendChild(el('td', 'w', kw(c.w)));
      tr.appendChild(el('td', 'w', c.room_w === undefined ? '' : kw(c.room_w)));
      tr.appendChild(el('td', '', c.detail || ''));
      return tr;
    }));
  } catch (err) {
    showError('explain: ' + err.message);
  }
}

function showError(text) {
  $('error').hidden = !text;
  $('error').textContent = text || '';
}

let last = null;
function render(st) {
  if (!st) return;
  const sc = st.site_config || {};
  $('site').textContent = st.site_id + (sc.source === 'backend' ?
      ' (site from the backend, version ' + sc.version + ', ' + sc.set_at + ')' :
      sc.source === 'none' ? ' (provisioning mode: waiting for the backend)' : '');
  document.title = st.site_id + ' \u00b7 ocpp-edge';
  $('updated').textContent = 'updated ' + new Date(st.now).toLocaleTimeString() +
    (feed === 'live' ? ' \u00b7 live' : ' \u00b7 polling');
  const cl = st.cloud;
  setState('cloud', cl.state + (cl.state === 'disabled' ? '' : ' for ' + since(cl.since)) +
    (cl.queued ? ', ' + cl.queued + ' queued' : ''),
    cl.state === 'connected' ? 'good' : cl.state === 'disabled' ? 'muted' : 'bad');
  if (!st.meter) setState('meter', 'none', 'muted');
  else setState('meter', st.meter.type + (st.meter.online ? ' online' : ' not answering') +
    (st.meter.since ? ' for ' + since(st.meter.since) : '') +
    (st.meter.healthy ? '' : ', readings stale'), st.meter.online && st.meter.healthy ? 'good' : 'bad');
  const off = st.chargers.filter((c) => !c.online);
  setState('chargers', off.length === 0 ? 'all ' + st.chargers.length + ' online' :
    off.map((c) => c.name + ' offline for ' + since(c.offline_since)).join(', '),
    off.length ? 'bad' : 'good');
  const p = sitePower(st);
  $('power-label').textContent = p.label;
  $('power').textContent = kw(p.w);
  $('cap').textContent = kw(st.site_cap.w) + ' (' + st.site_cap.source + ')';
  $('budget').textContent = kw(st.site_cap.budget_w);
  drawPlot();
  drawBays(st);
}

// The recorded history of the plot's span (the daemon samples every 10 s).
async function loadHistory() {
  try {
    const r = await fetch('/api/history?from=' + (Date.now() - windowMs), { cache: 'no-store' });
    if (!r.ok) throw new Error((await r.text()).trim());
    const h = await r.json();
    const live = samples.filter((s) => !s.recorded);
    const rec = h.samples.map((a) => ({ t: a[0], power: a[1], cap: a[2], budget: a[3], recorded: true }));
    const lastRec = rec.length ? rec[rec.length - 1].t : 0;
    samples = rec.concat(live.filter((s) => s.t > lastRec));
    if (last) render(last);
  } catch (err) {
    showError('history: ' + err.message);
  }
}

function setWindow(ms) {
  windowMs = ms;
  $('span-1h').classList.toggle('on', ms === HOUR_MS);
  $('span-24h').classList.toggle('on', ms !== HOUR_MS);
  $('span-label').textContent = ms === HOUR_MS ? 'last hour' : 'last 24 h';
  loadHistory();
}

// A plot sample from st now (at most one a second).
function addSample(st) {
  const p = sitePower(st);
  const s = { t: Date.now(), power: p.w, cap: st.site_cap.w, budget: st.site_cap.budget_w };
  const prev = samples[samples.length - 1];
  if (prev && !prev.recorded && s.t - prev.t < 1000) samples[samples.length - 1] = s;
  else samples.push(s);
  while (samples.length && samples[0].t < Date.now() - windowMs) samples.shift();
}

// A status from either feed: a plot sample, the page, the open bay's
// explain (at most every EXPLAIN_MS).
let explainAt = 0, explainTimer = null;
function take(st) {
  last = st;
  addSample(st);
  render(st);
  if (openBay !== null && explainTimer === null)
    explainTimer = setTimeout(() => {
      explainTimer = null;
      explainAt = Date.now();
      if (openBay !== null) explain(openBay);
    }, Math.max(0, explainAt + EXPLAIN_MS - Date.now()));
  showError('');
}

// The feed: 'live' while the websocket is up, else 'poll'.  The page's
// body carries it and how many statuses came each way (data-feed,
// data-pushes, data-polls).
let feed = 'poll';
let pollTimer = null, polling = false; // one chain of polls at most
let pushes = 0, polls = 0;
function setFeed(f) {
  feed = f;
  document.body.dataset.feed = f;
  if (f === 'live') {
    clearTimeout(pollTimer);
    pollTimer = null;
  } else if (pollTimer === null && !polling) {
    pollTimer = setTimeout(poll, 0);
  }
}

async function poll() {
  pollTimer = null;
  polling = true;
  try {
    const r = await fetch('/api/status', { cache: 'no-store' });
    if (!r.ok) throw new Error('status ' + r.status);
    const st = await r.json();
    if (feed !== 'live') { // else the websocket came up meanwhile
      document.body.dataset.polls = String(++polls);
      take(st);
    }
  } catch (err) {
    showError('no answer from the gateway (' + err.message + '); retrying');
  }
  polling = false;
  if (feed !== 'live' && pollTimer === null) pollTimer = setTimeout(poll, POLL_MS);
}

// The live websocket; when it fails, does not open or falls silent the
// page polls, and tries it again after LIVE_RETRY_MS.
function connectLive() {
  let ws;
  try {
    ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') +
      location.host + '/api/live', 'ocpp-edge.status');
  } catch (err) {
    setTimeout(connectLive, LIVE_RETRY_MS);
    return;
  }
  let quiet = setTimeout(() => ws.close(), LIVE_OPEN_MS);
  const hush = () => {
    clearTimeout(quiet);
    quiet = setTimeout(() => ws.close(), LIVE_QUIET_MS);
  };
  ws.onopen = () => { setFeed('live'); hush(); };
  ws.onmessage = (ev) => {
    hush();
    let st;
    try {
      st = JSON.parse(ev.data);
    } catch (err) {
      return;
    }
    document.body.dataset.pushes = String(++pushes);
    take(st);
  };
  ws.onclose = () => {
    clearTimeout(quiet);
    setFeed('poll');
    setTimeout(connectLive, LIVE_RETRY_MS);
  };
}

$('span-1h').addEventListener('click', () => setWindow(HOUR_MS));
$('span-24h').addEventListener('click', () => setWindow(24 * HOUR_MS));
loadHistory();
setInterval(loadHistory, 60000);
// The daemon pushes only changes: the plot moves on between them.
setInterval(() => {
  if (feed !== 'live' || !last) return;
  addSample(last);
  drawPlot();
}, POLL_MS);
document.body.dataset.feed = feed;
connectLive();
