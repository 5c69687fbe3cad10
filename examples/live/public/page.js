// The live page: charts tokenbatch's ChainStats snapshots and lists the ordered results, both read
// from the server-sent events at /events. uPlot is loaded by index.html (served from node_modules).
/* global uPlot, document, window, location, requestAnimationFrame, EventSource */
const $ = (id) => document.getElementById(id);
const MAX_RESULTS = 500;
const state = { snapshots: 0, results: [], done: false, total: undefined };
window.livePage = state;

const colors = { blue: '#2563eb', red: '#dc2626', green: '#16a34a', orange: '#ea580c', gray: '#6b7280', purple: '#7c3aed' };
const line = (label, stroke, extra = {}) => ({ label, stroke, width: 2, ...extra });

/** One chart: its series' data arrays, redrawn at most once a frame. */
function chart(id, series, extra = {}) {
  const element = $(id);
  const data = [[], ...series.map(() => [])];
  const plot = new uPlot(
    {
      width: element.clientWidth,
      height: element.clientHeight - 30,
      scales: { x: { time: false } },
      axes: [{ label: extra.xLabel ?? 'seconds' }, { size: 55, values: (_, ticks) => ticks.map((tick) => (Math.abs(tick) >= 10_000 ? `${tick / 1000}k` : tick)) }],
      series: [{ label: extra.xLabel ?? 's' }, ...series],
      legend: { live: false },
      cursor: { show: false },
    },
    data,
    element,
  );
  return { plot, data, id };
}

const charts = {
  fill: chart('c-fill', [
    line('fill %', colors.blue, { fill: 'rgba(37,99,235,0.35)', paths: uPlot.paths.bars({ size: [0.9, 12] }), points: { show: false } }),
    line('mean %', colors.gray, { dash: [4, 4] }),
  ], { xLabel: 'batch' }),
  latency: chart('c-latency', [line('wait p50', colors.green), line('wait p99', colors.green, { dash: [6, 3] }), line('latency p50', colors.blue), line('latency p99', colors.blue, { dash: [6, 3] })]),
  flight: chart('c-flight', [line('calls in flight', colors.blue, { fill: 'rgba(37,99,235,0.15)' }), line('concurrency', colors.red, { dash: [6, 3] })]),
  retries: chart('c-retries', [line('retries', colors.orange), line('429s', colors.red), line('timeouts', colors.purple)]),
  tokens: chart('c-tokens', [line('tokens spent', colors.blue), line('tokens saved', colors.green), line('duplicates ×100', colors.orange)]),
};
state.points = (name) => charts[name].data[0].length;

const fills = new Map(); // batch number -> utilization, rebuilt from the snapshots' last 50 batches
let pending = false;
const redraw = () => {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    for (const { plot, data } of Object.values(charts)) plot.setData(data);
  });
};
const push = (name, x, ...values) => {
  const { data } = charts[name];
  data[0].push(x);
  values.forEach((value, i) => data[i + 1].push(value));
};
const format = (n) => (n >= 10_000 ? `${(n / 1000).toFixed(1)}k` : String(Math.round(n)));

function onStats(s) {
  state.snapshots++;
  state.last = s;
  const x = s.elapsedMs / 1000;
  const first = s.batches.closed - s.batches.lastUtilization.length + 1;
  s.batches.lastUtilization.forEach((u, i) => fills.set(first + i, u));
  const fill = charts.fill.data;
  fill[0] = [...fills.keys()].sort((a, b) => a - b);
  fill[1] = fill[0].map((batch) => fills.get(batch) * 100);
  fill[2] = fill[0].map(() => s.batches.meanUtilization * 100);
  push('latency', x, s.wait.p50Ms, s.wait.p99Ms, s.latency.p50Ms, s.latency.p99Ms);
  push('flight', x, s.calls.inFlight, s.calls.concurrency);
  push('retries', x, s.calls.retries, s.calls.rateLimited, s.calls.timeouts);
  push('tokens', x, s.tokens.spent, s.tokens.saved, s.items.duplicates * 100);
  redraw();
  $('t-items').textContent = `${s.items.done}${state.total ? ` / ${state.total}` : ''}`;
  $('t-rate').textContent = s.throughput.itemsPerSecond.toFixed(1);
  $('t-fill').textContent = `${(s.batches.meanUtilization * 100).toFixed(0)} % of ${s.batches.closed}`;
  $('t-calls').textContent = `${s.calls.made} (${s.calls.retries} / ${s.calls.rateLimited})`;
  $('t-tokens').textContent = `${format(s.tokens.spent)} / ${format(s.tokens.saved)}`;
  $('t-cost').textContent = `$${s.cost.spentUsd.toFixed(4)} / $${s.cost.savedUsd.toFixed(4)}`;
  $('t-dups').textContent = String(s.items.duplicates);
  $('t-eta').textContent = s.eta ? (s.eta.remainingItems === 0 ? 'done' : `${(s.eta.etaMs / 1000).toFixed(0)} s`) : '–';
}

function onResult(r) {
  state.results.push(r.index);
  const item = document.createElement('li');
  item.value = r.index;
  item.dataset.index = r.index;
  if (!r.ok) item.className = 'failed';
  item.append(`${r.value}${r.attempts > 1 ? ` (${r.attempts} attempts)` : ''} `);
  if (r.duplicateOf !== undefined) {
    const dup = document.createElement('span');
    dup.className = 'dup';
    dup.textContent = `duplicate of #${r.duplicateOf} `;
    item.append(dup);
  }
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = r.text;
  item.append(text);
  const list = $('results');
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 30;
  list.append(item);
  while (list.children.length > MAX_RESULTS) list.firstElementChild.remove();
  if (atBottom) list.scrollTop = list.scrollHeight;
}

const events = new EventSource('/events');
events.addEventListener('open', () => ($('state').textContent = state.done ? 'done' : 'live'));
events.addEventListener('error', () => ($('state').textContent = state.done ? 'done (server stopped)' : 'disconnected'));
events.addEventListener('meta', (event) => {
  // A reconnect replays the whole history: start over rather than draw it twice.
  if (state.snapshots > 0 || state.results.length > 0) return location.reload();
  const meta = JSON.parse(event.data);
  state.total = meta.total;
  $('title').textContent = meta.title;
  document.title = `${meta.title} · tokenbatch live`;
});
events.addEventListener('stats', (event) => onStats(JSON.parse(event.data)));
events.addEventListener('result', (event) => onResult(JSON.parse(event.data)));
events.addEventListener('done', () => {
  state.done = true;
  $('state').textContent = 'done';
  events.close();
});
