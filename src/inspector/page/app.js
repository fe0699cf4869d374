// The inspector page: one WebSocket to the server (reconnecting on its own), the actor tree, the selected
// actor's statechart, numbers and events. No library, nothing fetched from anywhere but this server.
'use strict';

const $ = (id) => document.getElementById(id);
const token = new URLSearchParams(location.search).get('token');
const state = {
  socket: null,
  lastSeq: 0,
  retry: 500,
  filter: { text: '', state: '', kind: '' },
  selected: null,
  charts: new Map(), // machine id -> { svg, transitions }
  shownChart: null,
  history: new Map(), // key -> { time, values: {}, series: { name: number[] } }
  events: [],
  paused: false,
  held: [], // entries that arrived while paused
  expanded: new Set(),
  streams: [],
  streamSort: { key: 'name', down: false },
  openStreams: new Set(),
  view: 'actors',
  zoom: null, // { x, y, w, h } of the chart's viewBox, null = not yet placed
};
const MAX_EVENTS = 300;
const SERIES = 90;
/** counters charted as per-second rates */
const COUNTERS = ['bytesIn', 'bytesOut', 'packetsIn', 'packetsOut', 'retransmissions', 'droppedFrames', 'datagramsIn', 'bytes', 'frames'];
const KINDS_SHOWN = new Set();

function connect() {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  const socket = new WebSocket(url);
  state.socket = socket;
  socket.onopen = () => {
    state.retry = 500;
    setLink(true);
    send({ t: 'hello', since: state.lastSeq });
    send({ t: 'filter', filter: state.filter });
    sendFeed();
    for (const key of state.expanded) send({ t: 'expand', key, open: true });
    if (state.selected) send({ t: 'select', key: state.selected });
  };
  socket.onmessage = (message) => onMessage(JSON.parse(message.data));
  socket.onclose = () => {
    setLink(false);
    setTimeout(connect, state.retry);
    state.retry = Math.min(state.retry * 2, 10_000);
  };
}

function send(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(message));
}

function setLink(up) {
  const link = $('link');
  link.className = `link ${up ? 'up' : 'down'}`;
  link.textContent = up ? 'live' : 'reconnecting…';
}

function onMessage(message) {
  switch (message.t) {
    case 'tree':
      state.lastView = message.view;
      renderSummary(message.view);
      renderCounts(message.view);
      renderTree(message.view);
      renderSelected(message.selected, message.view);
      if (message.streams) {
        state.streams = message.streams;
        renderStreams();
      }
      break;
    case 'chart':
      state.charts.set(message.machine, { svg: message.svg, transitions: message.transitions });
      break;
    case 'events':
      onEvents(message);
      break;
  }
}

// Summary -------------------------------------------------------------------------------------------------
const SUMMARY_NAMES = {
  address: 'server',
  sessions: 'sessions',
  clients: 'clients',
  uptime: 'uptime',
  datagramsIn: 'datagrams in',
  handshakes: 'handshakes',
  malformed: 'malformed',
  publications: 'publications',
  groups: 'groups',
};

function renderSummary(view) {
  const dl = $('summary');
  dl.replaceChildren();
  for (const [key, value] of Object.entries(view.summary)) {
    if (!(key in SUMMARY_NAMES)) continue;
    dl.append(item(SUMMARY_NAMES[key], key === 'uptime' ? duration(value) : value));
  }
  const series = track('supervisor', view.summary, view.time);
  spark($('server-chart'), series.datagramsIn || []);
  $('server-chart').setAttribute('aria-label', 'datagrams per second');
}

function item(name, value) {
  const div = document.createElement('div');
  const dt = document.createElement('dt');
  const dd = document.createElement('dd');
  dt.textContent = name;
  dd.textContent = String(value);
  div.append(dt, dd);
  return div;
}

function duration(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}` : m > 0 ? `${m}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
}

// Counts and filter ---------------------------------------------------------------------------------------
function renderCounts(view) {
  const box = $('counts');
  box.replaceChildren();
  const kinds = Object.keys(view.counts).sort();
  for (const kind of kinds) {
    if (!KINDS_SHOWN.has(kind)) {
      KINDS_SHOWN.add(kind);
      const option = document.createElement('option');
      option.value = kind;
      option.textContent = kind;
      $('filter-kind').append(option);
    }
    const row = document.createElement('div');
    row.className = 'kind-row';
    const total = Object.values(view.counts[kind]).reduce((a, b) => a + b, 0);
    const badge = document.createElement('span');
    badge.className = `kind ${kind}`;
    badge.textContent = `${kind} ${total}`;
    row.append(badge);
    for (const [name, count] of Object.entries(view.counts[kind]).sort()) {
      const button = document.createElement('button');
      button.type = 'button';
      button.title = `show only ${kind} actors in this state`;
      button.textContent = name;
      const b = document.createElement('b');
      b.textContent = count;
      button.append(b);
      button.onclick = () => {
        $('filter-kind').value = kind;
        $('filter-state').value = name;
        applyFilter();
      };
      row.append(button);
    }
    box.append(row);
  }
  const note = $('tree-note');
  note.textContent =
    view.total === 0
      ? 'No actors yet: they appear as soon as a client connects.'
      : view.matched < view.total || view.nodes.length < view.matched
        ? `${view.matched} of ${view.total} actors match${view.nodes.length + view.folded < view.matched ? `; the first ${view.nodes.length} are listed` : ''}.`
        : `${view.total} actors.`;
  if (view.folded > 0) note.textContent += ` ${view.folded} are folded under their session or publication: click ▸ to list them.`;
}

function applyFilter() {
  state.filter = { text: $('filter-text').value, state: $('filter-state').value, kind: $('filter-kind').value };
  send({ t: 'filter', filter: state.filter });
}

// Tree ----------------------------------------------------------------------------------------------------
function renderTree(view) {
  const children = new Map();
  for (const node of view.nodes) {
    const list = children.get(node.parent) || [];
    list.push(node);
    children.set(node.parent, list);
  }
  const root = $('tree');
  const scroll = root.parentElement.scrollTop;
  root.replaceChildren();
  const supervisor = {
    key: 'supervisor',
    name: 'supervisor',
    kind: 'supervisor',
    state: 'running',
    status: 'active',
    label: view.summary.address,
    context: false,
  };
  const li = document.createElement('li');
  li.append(row(supervisor));
  const ul = document.createElement('ul');
  addChildren(ul, 'supervisor', children);
  li.append(ul);
  root.append(li);
  root.parentElement.scrollTop = scroll;
}

function addChildren(ul, key, children) {
  const list = (children.get(key) || []).slice().sort(order);
  for (const node of list) {
    const li = document.createElement('li');
    li.append(row(node));
    if (children.has(node.key)) {
      const sub = document.createElement('ul');
      addChildren(sub, node.key, children);
      li.append(sub);
    }
    ul.append(li);
  }
}

const KIND_ORDER = ['session', 'publication', 'member', 'group', 'flow', 'writer', 'listener'];
function order(a, b) {
  const k = KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind);
  return k !== 0 ? k : a.name.localeCompare(b.name, undefined, { numeric: true });
}

function row(node) {
  const div = document.createElement('div');
  div.className = `row${node.context ? ' context' : ''}${node.key === state.selected ? ' selected' : ''}`;
  div.dataset.key = node.key;
  div.dataset.name = node.name;
  div.dataset.state = node.state;
  div.dataset.status = node.status;
  const counts = node.children ? Object.entries(node.children) : [];
  const toggle = document.createElement('button');
  toggle.type = 'button';
  toggle.className = 'toggle';
  if (counts.length > 0) {
    const open = !node.collapsed;
    toggle.textContent = open ? '▾' : '▸';
    toggle.title = open ? 'fold its actors' : 'list its actors';
    toggle.setAttribute('aria-expanded', String(open));
    toggle.onclick = (e) => {
      e.stopPropagation();
      if (open) state.expanded.delete(node.key);
      else state.expanded.add(node.key);
      send({ t: 'expand', key: node.key, open: !open });
    };
  } else toggle.disabled = true;
  div.append(toggle);
  const kind = document.createElement('span');
  kind.className = `kind ${node.kind}`;
  kind.textContent = node.kind;
  const name = document.createElement('span');
  name.className = 'name';
  name.textContent = node.name;
  const pill = document.createElement('span');
  pill.className = `pill ${node.status}`;
  pill.textContent = node.state;
  pill.title = `status: ${node.status}`;
  if (node.endedWith) {
    pill.textContent = `${node.state} · ended with ${node.endedWith}`;
    pill.title = `its ${node.endedWith.split(':')[0]} ended, so it did too`;
  }
  const label = document.createElement('span');
  label.className = 'label';
  label.textContent = node.brief || node.label || '';
  label.title = node.label || '';
  div.append(kind, name, pill);
  if (node.collapsed) {
    const folded = document.createElement('span');
    folded.className = 'folded';
    folded.textContent = counts.map(([k, n]) => `${n} ${k}${n > 1 ? 's' : ''}`).join(' · ');
    div.append(folded);
  }
  div.append(label);
  if (node.key !== 'supervisor') div.onclick = () => select(node.key);
  return div;
}

function select(key) {
  state.selected = key;
  state.events = [];
  renderEvents();
  send({ t: 'select', key });
  for (const r of document.querySelectorAll('.row')) r.classList.toggle('selected', r.dataset.key === key);
}

// Selected actor ------------------------------------------------------------------------------------------
function renderSelected(selected, view) {
  $('nothing').hidden = Boolean(selected);
  $('selected').hidden = !selected;
  $('events-title').hidden = Boolean(selected);
  if (!selected) return;
  const node = view.nodes.find((n) => n.key === selected.key);
  $('sel-kind').className = `kind ${selected.kind}`;
  $('sel-kind').textContent = selected.kind;
  $('sel-name').textContent = selected.name;
  $('sel-state').textContent = node ? node.state : '';
  $('sel-state').className = `pill ${node ? node.status : ''}`;
  const facts = $('facts');
  facts.replaceChildren();
  if (node) {
    facts.append(item('age', duration(node.age)));
    for (const [key, value] of Object.entries(node.facts)) facts.append(item(factName(key), formatFact(key, value)));
    renderRates(selected.key, node, view.time);
  }
  selected.ended = node ? node.status !== 'active' : false;
  renderChart(selected);
  $('events-note').textContent = `of ${selected.name}, newest first`;
}

const FACT_NAMES = {
  rtt: 'RTT (ms)',
  loss: 'loss (% retransmitted)',
  peerId: 'peer id',
  bytesIn: 'bytes in',
  bytesOut: 'bytes out',
  packetsIn: 'packets in',
  packetsOut: 'packets out',
  kbps: 'kbit/s',
  kbpsIn: 'kbit/s in',
  kbpsOut: 'kbit/s out',
  audioKbps: 'audio kbit/s',
  videoKbps: 'video kbit/s',
  queued: 'queued (messages)',
  inFlight: 'in flight (fragments)',
  skippedUntilKeyFrame: 'skipped until key frame',
  droppedForCongestion: 'dropped: congestion',
  latency: 'latency (ms)',
};
function factName(key) {
  return FACT_NAMES[key] || key.replace(/([A-Z])/g, ' $1').toLowerCase();
}

function formatFact(key, value) {
  if (typeof value !== 'number') return value === '' ? '–' : value;
  if (/bytes/i.test(key)) return bytes(value);
  return value.toLocaleString();
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Per-second rates of an actor's counters, plus facts that already are rates, kept while the page is open. */
function track(key, facts, time) {
  let h = state.history.get(key);
  if (!h) {
    h = { time: 0, values: {}, series: {} };
    state.history.set(key, h);
  }
  const dt = (time - h.time) / 1000;
  for (const [name, value] of Object.entries(facts)) {
    if (typeof value !== 'number') continue;
    let point;
    if (COUNTERS.includes(name)) {
      if (h.time > 0 && dt > 0 && name in h.values) point = Math.max(0, (value - h.values[name]) / dt);
    } else if (/rate|kbps|bps/i.test(name)) point = value;
    if (point !== undefined) {
      const series = (h.series[name] = h.series[name] || []);
      series.push(point);
      if (series.length > SERIES) series.shift();
    }
    h.values[name] = value;
  }
  if (dt > 0 || h.time === 0) h.time = time;
  if (state.history.size > 200) state.history.delete(state.history.keys().next().value);
  return h.series;
}

function renderRates(key, node, time) {
  const series = track(key, node.facts, time);
  const box = $('rates');
  box.replaceChildren();
  for (const [name, points] of Object.entries(series)) {
    const figure = document.createElement('figure');
    const caption = document.createElement('figcaption');
    const last = points[points.length - 1] || 0;
    const perSecond = COUNTERS.includes(name);
    caption.textContent = `${factName(name)}${perSecond ? ' per second' : ''}: ${/bytes/i.test(name) ? bytes(Math.round(last)) : Math.round(last * 10) / 10}`;
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('class', 'spark');
    svg.setAttribute('viewBox', '0 0 200 36');
    svg.setAttribute('preserveAspectRatio', 'none');
    spark(svg, points);
    figure.append(caption, svg);
    box.append(figure);
  }
}

function spark(svg, points) {
  svg.replaceChildren();
  if (points.length < 2) return;
  const max = Math.max(...points, 1);
  const step = 200 / (SERIES - 1);
  const offset = 200 - step * (points.length - 1);
  const coords = points.map((p, i) => `${(offset + i * step).toFixed(1)},${(34 - (p / max) * 32).toFixed(1)}`);
  const area = document.createElementNS('http://www.w3.org/2000/svg', 'polygon');
  area.setAttribute('points', `${offset},36 ${coords.join(' ')} 200,36`);
  area.setAttribute('fill', 'rgba(66,153,225,.25)');
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('points', coords.join(' '));
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', '#3182ce');
  line.setAttribute('stroke-width', '1.5');
  line.setAttribute('vector-effect', 'non-scaling-stroke');
  svg.append(area, line);
}

function renderChart(selected) {
  const box = $('chart');
  const chart = selected.machine ? state.charts.get(selected.machine) : undefined;
  if (!chart) {
    box.textContent = selected.machine ? 'loading the statechart…' : 'this actor is not a state machine';
    state.shownChart = null;
    return;
  }
  const fresh = state.shownChart !== `${selected.key}`;
  if (state.shownChart === null || box.querySelector('svg')?.dataset.machine !== selected.machine) {
    box.innerHTML = chart.svg; // our own server's SVG, generated from the machine definition
    const svg = box.querySelector('svg');
    svg.dataset.width = svg.getAttribute('width');
    svg.dataset.height = svg.getAttribute('height');
    svg.removeAttribute('width');
    svg.removeAttribute('height');
  }
  state.shownChart = `${selected.key}`;
  const active = new Set(selected.active);
  for (const g of box.querySelectorAll('.state')) g.classList.toggle('active', active.has(g.dataset.state));
  const next = selected.next || [];
  const taken = new Set(next.flatMap((t) => t.targets.map((target) => `${t.source}>${target}`)));
  for (const edge of box.querySelectorAll('.edge[data-source]'))
    edge.classList.toggle('next', taken.has(`${edge.dataset.source}>${edge.dataset.target}`));
  // a newly selected actor: the whole chart when it is readable at that size, else its current state
  if (fresh) placeChart(true);
  const list = $('next');
  list.replaceChildren();
  const short = (id) => id.slice(selected.machine.length + 1) || 'any state';
  for (const t of next) {
    const li = document.createElement('li');
    const code = document.createElement('code');
    code.textContent = readable(t.event);
    const guard = t.guard ? (t.uncertain ? `if ${t.guard} (depends on the event) ` : `${t.guard} holds now `) : '';
    li.append(code, ` ${guard}→ ${t.targets.length ? t.targets.map(short).join(', ') : 'stays (actions only)'}`);
    li.title = `declared on ${short(t.source)}`;
    list.append(li);
  }
  if (next.length === 0) {
    list.textContent = active.size === 0 || selected.ended ? 'Nothing: it has ended.' : 'Nothing: no event moves it from here.';
  }
}

/** The chart's viewBox: all of it, or around the current state when fitting would make it too small to read. */
function placeChart(auto) {
  const svg = $('chart').querySelector('svg');
  if (!svg) return;
  const [x0, y0, w0, h0] = svg.getAttribute('viewBox').split(' ').map(Number);
  state.chartBox = state.chartBox && state.chartBox.svg === svg ? state.chartBox : { svg, x: x0, y: y0, w: w0, h: h0 };
  const full = state.chartBox;
  const panel = $('chart').getBoundingClientRect();
  const scale = Math.min(panel.width / full.w, panel.height / full.h);
  if (!auto || scale >= 0.75) setView({ x: full.x, y: full.y, w: full.w, h: full.h });
  else focusCurrent();
}

function focusCurrent() {
  const svg = $('chart').querySelector('svg');
  if (!svg) return;
  const leaves = [...svg.querySelectorAll('.state.active')].filter((g) => !g.querySelector('.state'));
  const panel = $('chart').getBoundingClientRect();
  if (leaves.length === 0) return setView(state.chartBox);
  // every active leaf (one per parallel region) in view, at most 1:1, centred
  const boxes = leaves.map((g) => g.getBBox());
  const x0 = Math.min(...boxes.map((b) => b.x));
  const y0 = Math.min(...boxes.map((b) => b.y));
  const x1 = Math.max(...boxes.map((b) => b.x + b.width));
  const y1 = Math.max(...boxes.map((b) => b.y + b.height));
  const scale = Math.min(1, panel.width / (x1 - x0 + 80), panel.height / (y1 - y0 + 80));
  const w = Math.max(panel.width, 200) / scale;
  const h = Math.max(panel.height, 120) / scale;
  setView({ x: (x0 + x1) / 2 - w / 2, y: (y0 + y1) / 2 - h / 2, w, h });
}

function setView(v) {
  const svg = $('chart').querySelector('svg');
  if (!svg || !v) return;
  state.zoom = { x: v.x, y: v.y, w: v.w, h: v.h };
  svg.setAttribute('viewBox', `${v.x} ${v.y} ${v.w} ${v.h}`);
}

function zoomBy(factor, cx, cy) {
  const v = state.zoom;
  if (!v) return;
  const px = cx === undefined ? 0.5 : cx;
  const py = cy === undefined ? 0.5 : cy;
  const w = Math.min(Math.max(v.w * factor, 80), (state.chartBox?.w || v.w) * 4);
  const h = (v.h * w) / v.w;
  setView({ x: v.x + (v.w - w) * px, y: v.y + (v.h - h) * py, w, h });
}

(function chartControls() {
  const box = $('chart');
  box.addEventListener(
    'wheel',
    (e) => {
      if (!state.zoom) return;
      e.preventDefault();
      const r = box.getBoundingClientRect();
      zoomBy(e.deltaY > 0 ? 1.15 : 1 / 1.15, (e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height);
    },
    { passive: false },
  );
  let drag = null;
  box.addEventListener('pointerdown', (e) => {
    if (!state.zoom) return;
    drag = { x: e.clientX, y: e.clientY, view: { ...state.zoom } };
    box.setPointerCapture(e.pointerId);
    box.classList.add('dragging');
  });
  box.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const r = box.getBoundingClientRect();
    const k = drag.view.w / r.width;
    setView({ ...drag.view, x: drag.view.x - (e.clientX - drag.x) * k, y: drag.view.y - (e.clientY - drag.y) * k });
  });
  const end = () => {
    drag = null;
    box.classList.remove('dragging');
  };
  box.addEventListener('pointerup', end);
  box.addEventListener('pointercancel', end);
  $('chart-fit').onclick = () => placeChart(false);
  $('chart-current').onclick = focusCurrent;
  $('chart-in').onclick = () => zoomBy(1 / 1.3);
  $('chart-out').onclick = () => zoomBy(1.3);
})();

// Events --------------------------------------------------------------------------------------------------
function onEvents(message) {
  if (state.paused && !message.reset) {
    // the list stays as it is; what arrives meanwhile is kept and shown on resume
    state.held.push(message);
    $('feed-note').textContent = `paused: ${state.held.reduce((n, m) => n + m.entries.length, 0)} new events waiting`;
    return;
  }
  if (message.reset) {
    state.events = [];
    state.held = [];
  }
  if (message.missed > 0) notice(`${message.missed} events happened while this page was away and are no longer kept`);
  if (message.dropped > 0) notice(`${message.dropped} events dropped: the page could not keep up`);
  for (const entry of message.entries) {
    if (entry.seq <= state.lastSeq && !message.reset) continue;
    state.events.push(entry);
  }
  if (message.last !== undefined) state.lastSeq = message.last;
  if (state.events.length > MAX_EVENTS) state.events.splice(0, state.events.length - MAX_EVENTS);
  renderEvents();
}

function notice(text) {
  state.events.push({ notice: text, time: Date.now() });
}

function renderEvents() {
  const body = document.querySelector('#events tbody');
  body.replaceChildren();
  if (state.events.length === 0) {
    const tr = document.createElement('tr');
    tr.className = 'empty';
    tr.append(cell(''), cell(''), cell('No events yet. Events are recorded only while an inspector page is open.'));
    body.append(tr);
  }
  for (let i = state.events.length - 1; i >= 0; i--) {
    const e = state.events[i];
    const tr = document.createElement('tr');
    const time = new Date(e.time).toLocaleTimeString(undefined, { hour12: false }) + `.${String(e.time % 1000).padStart(3, '0')}`;
    if (e.notice) {
      tr.className = 'notice';
      tr.append(cell(time), cell(''), cell(e.notice));
    } else {
      tr.append(cell(time), cell(e.name), cell(describe(e)));
      tr.dataset.type = e.type;
    }
    body.append(tr);
  }
}

function describe(e) {
  switch (e.type) {
    case 'created':
      return 'created';
    case 'event':
      return `received ${readable(e.event)}`;
    case 'state':
      return `${e.from || '(start)'} → ${e.state}`;
    case 'ended':
      return `ended (${e.state})`;
    default:
      return e.type;
  }
}

/** "xstate.after.keepAlive.session.open…" is how xstate names a timer firing. */
function readable(event) {
  const timer = /^xstate\.after\.([^.]+)\./.exec(event || '');
  return timer ? `timer ${timer[1]}` : event;
}

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function sendFeed() {
  const types = [...document.querySelectorAll('.feed-type')].filter((c) => c.checked).map((c) => c.value);
  send({ t: 'feed', timers: $('feed-timers').checked, types });
}

$('feed-timers').addEventListener('change', sendFeed);
for (const box of document.querySelectorAll('.feed-type')) box.addEventListener('change', sendFeed);
$('feed-pause').onclick = () => {
  state.paused = !state.paused;
  $('feed-pause').textContent = state.paused ? 'resume' : 'pause';
  $('feed-pause').classList.toggle('on', state.paused);
  if (!state.paused) {
    const held = state.held;
    state.held = [];
    $('feed-note').textContent = '';
    for (const message of held) onEvents(message);
  } else $('feed-note').textContent = 'paused';
};
$('feed-export').onclick = () => {
  const entries = state.events.filter((e) => !e.notice);
  const blob = new Blob([JSON.stringify({ exported: new Date().toISOString(), selected: state.selected, entries }, null, 2)], {
    type: 'application/json',
  });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `nimbus-events-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
};

// Streams ------------------------------------------------------------------------------------------------
function showView(view) {
  state.view = view;
  $('actors-view').hidden = view !== 'actors';
  $('streams-view').hidden = view !== 'streams';
  for (const [id, name] of [
    ['tab-actors', 'actors'],
    ['tab-streams', 'streams'],
  ]) {
    $(id).classList.toggle('on', view === name);
    $(id).setAttribute('aria-selected', String(view === name));
  }
  renderStreams();
}
$('tab-actors').onclick = () => showView('actors');
$('tab-streams').onclick = () => showView('streams');

const dropsOf = (s) => ({
  skipped: s.listeners.reduce((n, l) => n + l.skippedUntilKeyFrame, 0),
  congestion: s.listeners.reduce((n, l) => n + l.droppedForCongestion, 0),
});

function sortValue(row, key) {
  if (key === 'skipped') return row.skippedUntilKeyFrame ?? dropsOf(row).skipped;
  if (key === 'congestion') return row.droppedForCongestion ?? dropsOf(row).congestion;
  if (key === 'name' && row.session !== undefined) return row.session;
  if (key === 'publisher' && row.session !== undefined) return row.session;
  return row[key];
}

function sorted(rows) {
  const { key, down } = state.streamSort;
  return rows.slice().sort((a, b) => {
    const x = sortValue(a, key);
    const y = sortValue(b, key);
    const c =
      typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''), undefined, { numeric: true });
    return down ? -c : c;
  });
}

function renderStreams() {
  if (state.view !== 'streams') return;
  const body = document.querySelector('#streams-table tbody');
  body.replaceChildren();
  for (const th of document.querySelectorAll('#streams-table th')) {
    th.classList.toggle('sorted', th.dataset.sort === state.streamSort.key);
    th.classList.toggle('down', th.dataset.sort === state.streamSort.key && state.streamSort.down);
  }
  for (const stream of sorted(state.streams)) {
    const drops = dropsOf(stream);
    const open = !state.openStreams.has(`-${stream.name}`);
    const tr = document.createElement('tr');
    tr.className = 'stream';
    tr.dataset.name = stream.name;
    const name = cell(`${open ? '▾' : '▸'} ${stream.name}`);
    name.className = 'stream-name';
    name.onclick = () => {
      if (open) state.openStreams.add(`-${stream.name}`);
      else state.openStreams.delete(`-${stream.name}`);
      renderStreams();
    };
    tr.append(
      name,
      cell(stream.state),
      link(stream.publisher || 'script', stream.publisher, stream.publisherAddress),
      num(stream.kbps),
      num(stream.listenerCount),
      cell(''),
      num(drops.skipped),
      num(drops.congestion),
    );
    body.append(tr);
    if (!open) continue;
    for (const l of sorted(stream.listeners)) {
      const row = document.createElement('tr');
      row.className = 'listener';
      row.dataset.session = l.session;
      row.append(
        cell(`listener of ${stream.name}`),
        cell(l.state),
        link(l.session || 'script', l.session, l.address),
        num(l.kbps),
        cell(''),
        num(l.latency),
        num(l.skippedUntilKeyFrame),
        num(l.droppedForCongestion),
      );
      row.onclick = () => inspect(l.key);
      body.append(row);
    }
    if (stream.listeners.length < stream.listenerCount) {
      const more = document.createElement('tr');
      more.append(cell(`… ${stream.listenerCount - stream.listeners.length} more listeners not listed`));
      body.append(more);
    }
  }
  $('streams-note').textContent = state.streams.length === 0 ? 'No publication yet: they appear when a client publishes.' : '';
}

function num(value) {
  const td = cell(String(value));
  td.className = 'num';
  return td;
}

function link(text, sessionName, address) {
  const td = cell(text);
  if (address) td.title = address;
  if (sessionName && sessionName.startsWith('session:')) {
    td.className = 'link-cell';
    td.onclick = (e) => {
      e.stopPropagation();
      const node = state.lastView?.nodes.find((n) => n.name === sessionName);
      $('filter-text').value = sessionName;
      applyFilter();
      if (node) inspect(node.key);
      else showView('actors');
    };
  }
  return td;
}

function inspect(key) {
  showView('actors');
  select(key);
}

for (const th of document.querySelectorAll('#streams-table th')) {
  th.onclick = () => {
    const key = th.dataset.sort;
    state.streamSort = {
      key,
      down: state.streamSort.key === key ? !state.streamSort.down : key !== 'name' && key !== 'state' && key !== 'publisher',
    };
    renderStreams();
  };
}

let typing;
for (const id of ['filter-text', 'filter-state']) {
  $(id).addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(applyFilter, 250);
  });
}
$('filter-kind').addEventListener('change', applyFilter);
connect();
