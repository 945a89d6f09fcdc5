// The jobs page: submit a job from a preset (its book accuracy shown) or an edited JSON
// spec, and the list of jobs, refreshed while any of them is still queued or running.
import { api, describeError, el, formatDate, percent } from './api.js';

const $ = (id) => document.getElementById(id);
const form = $('submit-form');
const presetSelect = $('preset');
const spec = $('spec');
const submitStatus = $('submit-status');
let presets = [];
let refreshTimer = 0;

/** The job body the form fields describe: a preset with a few overrides. */
function bodyFromFields() {
  const body = { preset: presetSelect.value };
  const name = $('name').value.trim();
  if (name) body.name = name;
  const num = (id) => {
    const v = $(id).value.trim();
    return v === '' ? undefined : Number(v);
  };
  const epochs = num('epochs');
  if (epochs !== undefined) body.training = { epochs };
  const data = {};
  const trainSize = num('trainSize'), validationSize = num('validationSize');
  if (trainSize !== undefined) data.trainSize = trainSize;
  if (validationSize !== undefined) data.validationSize = validationSize;
  if (Object.keys(data).length) body.data = data;
  return body;
}

function syncSpec() {
  spec.value = JSON.stringify(bodyFromFields(), null, 2);
}

function showPreset() {
  const p = presets.find((x) => x.name === presetSelect.value);
  if (!p) return;
  const t = p.experiment.training, d = p.experiment.data;
  $('preset-info').textContent =
    `${p.description} — the book reports ${percent(p.bookAccuracy)} ${p.bookMetric ?? 'test'} accuracy ` +
    `(η ${t.eta}, λ ${t.lambda}, ${t.epochs} epochs, ${d.trainSize.toLocaleString()} training images).`;
  $('epochs').placeholder = String(t.epochs);
  $('trainSize').placeholder = String(d.trainSize);
  $('validationSize').placeholder = String(d.validationSize);
}

async function loadPresets() {
  const { items } = await api('/v1/presets');
  presets = items;
  presetSelect.replaceChildren(
    ...items.map((p) => el('option', { value: p.name, text: `${p.name} — book ${percent(p.bookAccuracy)}` })),
  );
  // small by default, so a first job finishes in seconds; the placeholders show the book's values
  $('epochs').value = '3';
  $('trainSize').value = '5000';
  $('validationSize').value = '1000';
  showPreset();
  syncSpec();
}

async function submit(e) {
  e.preventDefault();
  submitStatus.textContent = '';
  let body;
  try {
    body = JSON.parse(spec.value);
  } catch (err) {
    submitStatus.textContent = `The job is not valid JSON: ${err.message}`;
    spec.focus();
    return;
  }
  $('submit').disabled = true;
  try {
    const job = await api('/v1/jobs', { method: 'POST', json: body });
    location.assign(`/jobs/${encodeURIComponent(job.id)}`);
  } catch (err) {
    submitStatus.textContent = describeError(err);
  } finally {
    $('submit').disabled = false;
  }
}

// the list holds summaries: the last epoch's figures, not the history
function lastValidation(job) {
  const m = job.lastEpoch;
  return m ? percent(m.validationAccuracy ?? m.trainingAccuracy) : '–';
}

async function refresh() {
  clearTimeout(refreshTimer);
  try {
    const { items, total } = await api('/v1/jobs?limit=50');
    const rows = items.map((j) =>
      el('tr', {},
        el('td', {}, el('a', { href: `/jobs/${encodeURIComponent(j.id)}`, text: j.name || j.preset || j.id })),
        el('td', { 'data-label': 'Status' }, el('span', { class: `badge ${j.status}`, text: j.status })),
        el('td', { class: 'num', 'data-label': 'Epoch', text: `${j.progress.epoch}/${j.progress.epochs}` }),
        el('td', { class: 'num', 'data-label': 'Validation', text: lastValidation(j) }),
        el('td', { 'data-label': 'Created', text: formatDate(j.createdAt) }),
      ),
    );
    document.querySelector('#jobs tbody').replaceChildren(...rows);
    $('jobs-status').textContent = total === 0 ? 'No jobs yet.' : `${total} job${total === 1 ? '' : 's'}`;
    if (items.some((j) => j.status === 'queued' || j.status === 'running')) refreshTimer = setTimeout(refresh, 2000);
  } catch (err) {
    $('jobs-status').textContent = `Could not list jobs: ${err.message}`;
    refreshTimer = setTimeout(refresh, 5000);
  }
}

presetSelect.addEventListener('change', () => {
  showPreset();
  syncSpec();
});
for (const id of ['name', 'epochs', 'trainSize', 'validationSize']) $(id).addEventListener('input', syncSpec);
form.addEventListener('submit', submit);
loadPresets().catch((err) => (submitStatus.textContent = `Could not load presets: ${err.message}`));
refresh();
