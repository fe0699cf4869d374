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
  view: null,
  charts: new Map(), // machine id -> { svg, transitions }
  shownChart: null,
  history: new Map(), // key -> { time, values: {}, series: { name: number[] } }
  events: [],
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
      state.view = message.view;
      renderSummary(message.view);
      renderCounts(message.view);
      renderTree(message.view);
      renderSelected(message.selected, message.view);
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
        ? `${view.matched} of ${view.total} actors match${view.nodes.length < view.matched ? `; the first ${view.nodes.length} are listed` : ''}.`
        : `${view.total} actors.`;
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
  const label = document.createElement('span');
  label.className = 'label';
  label.textContent = node.label || '';
  div.append(kind, name, pill, label);
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
  if (state.shownChart !== selected.machine) {
    box.innerHTML = chart.svg; // our own server's SVG, generated from the machine definition
    state.shownChart = selected.machine;
  }
  const active = new Set(selected.active);
  for (const g of box.querySelectorAll('.state')) g.classList.toggle('active', active.has(g.dataset.state));
  for (const edge of box.querySelectorAll('.edge[data-source]')) edge.classList.toggle('next', active.has(edge.dataset.source));
  const next = $('next');
  next.replaceChildren();
  const short = (id) => id.slice(selected.machine.length + 1) || 'any state';
  const possible = chart.transitions.filter((t) => active.has(t.source) || t.source === selected.machine);
  for (const t of possible) {
    const li = document.createElement('li');
    const code = document.createElement('code');
    code.textContent = t.event;
    li.append(code, ` ${t.guard ? `if ${t.guard} ` : ''}→ ${t.targets.length ? t.targets.map(short).join(', ') : 'stays (actions only)'}`);
    next.append(li);
  }
  if (possible.length === 0) next.textContent = 'Nothing: this is a final state.';
}

// Events --------------------------------------------------------------------------------------------------
function onEvents(message) {
  if (message.reset) state.events = [];
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

let typing;
for (const id of ['filter-text', 'filter-state']) {
  $(id).addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(applyFilter, 250);
  });
}
$('filter-kind').addEventListener('change', applyFilter);
connect();
