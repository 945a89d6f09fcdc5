// One job, live: its record first, then the SSE stream (GET /v1/jobs/:id/events) — epochs
// grow the charts, progress moves the bar, the end event brings the test results.
import { api, el, percent } from './api.js';
import { KeyedEventSource } from './event-stream.js';
import { JobCharts } from './job-charts.js';
import { showResults } from './job-results.js';

const $ = (id) => document.getElementById(id);
const jobId = decodeURIComponent(location.pathname.split('/').filter(Boolean).at(-1) ?? '');
const ACTIVE = ['queued', 'running'];
let charts = null;
let job = null;
let source = null;

function setStatus(status) {
  const badge = $('job-status');
  badge.textContent = status;
  badge.className = `badge ${status}`;
  $('cancel').hidden = !ACTIVE.includes(status);
}

function setProgress(p) {
  const members = p.members ?? 1, member = p.member ?? 0;
  const inEpoch = p.batches ? (p.batch ?? 0) / p.batches : 0;
  const done = Math.min(1, (member * p.epochs + p.epoch + (p.epoch < p.epochs ? inEpoch : 0)) / (members * p.epochs));
  $('progress').value = done;
  const net = members > 1 ? `network ${member + 1} of ${members}, ` : '';
  $('progress-text').textContent = `${net}epoch ${p.epoch} of ${p.epochs} done (${Math.round(done * 100)}%)`;
  $('stat-epoch').textContent = `${p.epoch}/${p.epochs}`;
}

function addEpoch(m) {
  if (!charts.add(m)) return;
  $('stat-validation').textContent = percent(m.validationAccuracy);
  $('stat-speed').textContent = Math.round(m.imagesPerSecond).toLocaleString();
}

function describe(j) {
  const e = j.experiment;
  const layers = e.network.layers.map((l) => (l.type === 'dense' ? `${l.units} ${l.activation}` : l.type === 'conv' ? `conv ${l.filters}×${l.kernel}×${l.kernel}` : `${l.kind}pool`));
  return `${e.preset ?? 'custom'}: [784, ${layers.join(', ')}], ${e.network.cost} cost, η ${e.training.eta}, λ ${e.training.lambda}, ` +
    `batch ${e.training.miniBatchSize}, ${e.data.trainSize.toLocaleString()} training images${e.ensemble ? `, ensemble of ${e.ensemble.size}` : ''}`;
}

async function finish(record) {
  job = record;
  setStatus(record.status);
  setProgress(record.progress);
  for (const m of record.metrics) addEpoch(m);
  if (record.error) $('job-error').textContent = record.error;
  if (record.status === 'completed' && record.modelId) {
    const model = await api(`/v1/models/${encodeURIComponent(record.modelId)}`);
    $('stat-test').textContent = percent(model.testAccuracy);
    await showResults(model);
  }
}

function follow() {
  // fetch-based: the stream carries the API key as a header, never in the URL
  source = new KeyedEventSource(`/v1/jobs/${encodeURIComponent(jobId)}/events`);
  source.addEventListener('error', (e) => ($('job-error').textContent = `Live updates stopped: ${e.message}`));
  source.addEventListener('epoch', (e) => {
    const m = JSON.parse(e.data);
    addEpoch(m);
    setProgress({ ...job.progress, epoch: m.epoch, epochs: m.epochs, member: m.member, batch: 0, batches: 0 });
  });
  source.addEventListener('progress', (e) => setProgress(JSON.parse(e.data)));
  source.addEventListener('status', (e) => setStatus(JSON.parse(e.data).status));
  for (const type of ['completed', 'failed', 'cancelled']) {
    source.addEventListener(type, (e) => {
      source.close(); // the stream ends here; a reconnect would only replay it
      finish(JSON.parse(e.data)).catch((err) => ($('job-error').textContent = err.message));
    });
  }
}

async function cancel() {
  const button = $('cancel');
  button.disabled = true;
  try {
    const record = await api(`/v1/jobs/${encodeURIComponent(jobId)}/cancel`, { method: 'POST' });
    $('progress-text').textContent = record.status === 'cancelled' ? 'Cancelled.' : 'Cancelling at the next mini-batch…';
  } catch (err) {
    $('job-error').textContent = err.message;
  } finally {
    button.disabled = false;
  }
}

async function start() {
  try {
    job = await api(`/v1/jobs/${encodeURIComponent(jobId)}`);
  } catch (err) {
    setStatus('failed');
    $('job-error').textContent = err.message;
    return;
  }
  document.title = `nndl — ${job.name ?? job.id}`;
  $('job-title').textContent = job.name ? `Job ${job.name}` : `Job ${job.id}`;
  $('job-spec').textContent = describe(job);
  const layers = job.experiment.network.layers.filter((l) => l.type === 'dense' || l.type === 'conv').length;
  // chapter 5's speed of learning, when the job measures it
  const measuresBias = (job.experiment.training.biasGradientImages ?? 0) > 0;
  $('bias-card').hidden = !measuresBias;
  charts = new JobCharts(
    { accuracy: $('accuracy-chart'), cost: $('cost-chart'), eta: $('eta-chart'), gradients: $('gradients-chart') },
    { layers, members: job.experiment.ensemble?.size ?? 1, bias: measuresBias ? $('bias-chart') : null, hiddenLayers: layers - 1 },
  );
  setStatus(job.status);
  setProgress(job.progress);
  for (const m of job.metrics) addEpoch(m);
  if (ACTIVE.includes(job.status)) follow();
  else await finish(job);
}

$('cancel').addEventListener('click', cancel);
start().catch((err) => $('job-error').append(el('span', { text: err.message })));
