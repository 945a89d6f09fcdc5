// Sweeps: start one (a JSON body for POST /v1/sweeps), list them, and follow one live
// (/sweeps?id=…): the leaderboard, every trial's curve on one chart and the objective against
// each searched field, updated from GET /v1/sweeps/:id/events (sweep snapshots + trial epochs).
import { api, describeError, el, formatDate, percent } from './api.js';
import { KeyedEventSource } from './event-stream.js';
import { CurvesChart, ScatterChart } from './sweep-charts.js';

const $ = (id) => document.getElementById(id);
const EXAMPLE = {
  name: 'η on a small slice',
  base: { preset: 'ch3-mlp30-ce', training: { epochs: 3, lambda: 5 }, data: { trainSize: 2000, validationSize: 1000 } },
  space: { 'training.eta': { values: [0.025, 0.25, 2.5] } },
  strategy: { type: 'grid' },
  concurrency: 3,
};
const ENDED = ['completed', 'failed', 'cancelled'];
let sweep = null;
let curves = null;
let scatters = [];
let source = null;

const short = (path) => path.split('.').at(-1);
const fmt = (v) => (typeof v === 'number' ? +v.toPrecision(4) : String(v));
const settings = (params) => Object.entries(params).map(([p, v]) => `${short(p)} = ${fmt(v)}`).join(', ');
const objectiveOf = (t) => (sweep.objective === 'validationCost' ? t.validationCost : t.validationAccuracy);
const showObjective = (v) => (sweep.objective === 'validationCost' ? (typeof v === 'number' ? v.toFixed(4) : '–') : percent(v));

function setStatus(status) {
  const badge = $('sweep-status');
  badge.textContent = status;
  badge.className = `badge ${status}`;
  $('cancel').hidden = status !== 'running';
}

function describe(s) {
  const st = s.strategy;
  const how = st.type === 'grid' ? 'grid' : st.type === 'random' ? `random, ${st.trials} trials (seed ${st.seed})`
    : `successive halving: ${st.trials} trials, keep ${st.keep} per rung, rungs ${st.rungs.map((r) => `${r.epochs} ep × ${r.trainSize.toLocaleString()}`).join(' → ')}`;
  const space = Object.entries(s.space).map(([p, d]) => `${p} ∈ ${d.values ? `{${d.values.join(', ')}}` : d.logUniform ? `logU[${d.logUniform.join(', ')}]` : `[${d.intRange.join('..')}]`}`);
  return `${how}; ${space.join('; ')}; objective: ${s.objective}; ${s.concurrency} at once; ≤ ${s.imageSteps.toLocaleString()} image-steps`;
}

function render(s) {
  sweep = s;
  setStatus(s.status);
  $('sweep-title').textContent = `Sweep ${s.name ?? s.id}`;
  $('sweep-spec').textContent = describe(s);
  if (s.error) $('sweep-error').textContent = s.error;
  const done = s.trials.filter((t) => ENDED.includes(t.status)).length;
  $('stat-trials').textContent = `${done} / ${s.trials.length} done${s.strategy.type === 'halving' ? '' : ` (of ${s.plannedTrials})`}`;
  $('stat-best').textContent = s.best ? showObjective(sweep.objective === 'validationCost' ? s.best.validationCost : s.best.validationAccuracy) : '–';
  $('stat-params').textContent = s.best ? settings(s.best.params) : '–';
  const byId = new Map(s.trials.map((t) => [t.jobId, t]));
  const rows = s.leaderboard.map((id, i) => {
    const t = byId.get(id);
    return el('tr', { 'data-job': id, 'data-status': t.status, class: s.best && s.best.jobId === id ? 'best' : null },
      el('td', { class: 'num', 'data-label': '#', text: String(i + 1) }),
      el('td', { 'data-label': 'Trial' }, el('a', { href: `/jobs/${encodeURIComponent(id)}`, text: `trial ${t.index}` })),
      el('td', { 'data-label': 'Settings', text: settings(t.params) }),
      el('td', { class: 'num', 'data-label': 'Rung', text: String(t.rung) }),
      el('td', { 'data-label': 'Status' }, el('span', { class: `badge ${t.status}`, text: t.status })),
      el('td', { class: 'num', 'data-label': 'Epochs', text: `${t.epochs}/${t.totalEpochs}` }),
      el('td', { class: 'num', 'data-label': 'Validation accuracy', text: percent(t.validationAccuracy) }),
      el('td', { class: 'num', 'data-label': 'Validation cost', text: typeof t.validationCost === 'number' ? t.validationCost.toFixed(4) : '–' }));
  });
  $('leaderboard').tBodies[0].replaceChildren(...rows);
  for (const t of s.trials) curves.trial(t.jobId, `trial ${t.index}${t.rung ? ` · rung ${t.rung}` : ''} (${settings(t.params)})`, t.index);
  const points = s.trials.filter((t) => t.status === 'completed').map((t) => ({ params: t.params, rung: t.rung, value: objectiveOf(t) }));
  for (const sc of scatters) sc.set(points, s.objective);
}

async function loadCurves(trials) {
  await Promise.all(trials.map(async (t) => {
    if (curves.series.get(t.jobId)?.loaded) return;
    const job = await api(`/v1/jobs/${encodeURIComponent(t.jobId)}`);
    const s = curves.series.get(t.jobId);
    if (s) s.loaded = true;
    for (const m of job.metrics) curves.add(t.jobId, m);
  }));
}

function follow(id) {
  source = new KeyedEventSource(`/v1/sweeps/${encodeURIComponent(id)}/events`);
  source.addEventListener('error', (e) => ($('sweep-error').textContent = `Live updates stopped: ${e.message}`));
  source.addEventListener('sweep', (e) => {
    const s = JSON.parse(e.data);
    render(s);
    loadCurves(s.trials.filter((t) => t.status !== 'queued')).catch(() => {});
  });
  source.addEventListener('epoch', (e) => {
    const { jobId, metrics } = JSON.parse(e.data);
    curves.add(jobId, metrics);
  });
  for (const type of ENDED) {
    source.addEventListener(type, (e) => {
      source.close();
      const s = JSON.parse(e.data);
      render(s);
      loadCurves(s.trials).catch((err) => ($('sweep-error').textContent = err.message));
      loadList();
    });
  }
}

async function showSweep(id) {
  const s = await api(`/v1/sweeps/${encodeURIComponent(id)}`);
  $('sweep').hidden = false;
  $('sweep-charts').hidden = false;
  document.title = `nndl — sweep ${s.name ?? s.id}`;
  curves = new CurvesChart($('curves-chart'), 'validationAccuracy');
  $('curve-metric').addEventListener('change', (e) => curves.setMetric(e.target.value));
  scatters = Object.entries(s.space).map(([path, d]) => {
    const canvas = el('canvas', { role: 'img', 'aria-label': `${s.objective} against ${path}`, 'data-path': path });
    $('scatters').append(el('section', { class: 'card scatter' }, el('h2', { text: `${s.objective === 'validationCost' ? 'Validation cost' : 'Validation accuracy'} against ${path}` }), el('div', { class: 'chart-box' }, canvas)));
    return new ScatterChart(canvas, { path, log: s.logScale.includes(path), categories: d.values && d.values.some((v) => typeof v !== 'number') ? d.values : null, objective: s.objective });
  });
  render(s);
  await loadCurves(s.trials.filter((t) => t.status !== 'queued'));
  if (s.status === 'running' || s.trials.some((t) => !ENDED.includes(t.status))) follow(id);
}

async function loadList() {
  try {
    const page = await api('/v1/sweeps?limit=50');
    $('sweeps').tBodies[0].replaceChildren(...page.items.map((s) => el('tr', {},
      el('td', { 'data-label': 'Sweep' }, el('a', { href: `/sweeps?id=${encodeURIComponent(s.id)}`, text: s.name ?? s.preset ?? s.id.slice(0, 8) })),
      el('td', { 'data-label': 'Strategy', text: s.strategy }),
      el('td', { 'data-label': 'Status' }, el('span', { class: `badge ${s.status}`, text: s.status })),
      el('td', { class: 'num', 'data-label': 'Trials', text: `${s.trials}` }),
      el('td', { class: 'num', 'data-label': 'Best', text: s.best ? percent(s.best.validationAccuracy) : '–' }),
      el('td', { 'data-label': 'Created', text: formatDate(s.createdAt) }))));
    $('sweeps-status').textContent = page.total === 0 ? 'No sweeps yet.' : `${page.total} sweep${page.total === 1 ? '' : 's'}`;
  } catch (err) {
    $('sweeps-status').textContent = err.message;
  }
}

async function submit(e) {
  e.preventDefault();
  const status = $('submit-status');
  status.textContent = '';
  let body;
  try {
    body = JSON.parse($('spec').value);
  } catch (err) {
    status.textContent = `Not valid JSON: ${err.message}`;
    return;
  }
  $('submit').disabled = true;
  try {
    const s = await api('/v1/sweeps', { method: 'POST', json: body });
    location.href = `/sweeps?id=${encodeURIComponent(s.id)}`;
  } catch (err) {
    status.textContent = describeError(err);
  } finally {
    $('submit').disabled = false;
  }
}

async function cancel() {
  $('cancel').disabled = true;
  try {
    render(await api(`/v1/sweeps/${encodeURIComponent(sweep.id)}/cancel`, { method: 'POST' }));
  } catch (err) {
    $('sweep-error').textContent = err.message;
  } finally {
    $('cancel').disabled = false;
  }
}

$('spec').value = JSON.stringify(EXAMPLE, null, 2);
$('submit-form').addEventListener('submit', submit);
$('cancel').addEventListener('click', cancel);
const id = new URLSearchParams(location.search).get('id');
if (id) showSweep(id).catch((err) => {
  $('sweep').hidden = false;
  setStatus('failed');
  $('sweep-error').textContent = err.message;
});
loadList();
