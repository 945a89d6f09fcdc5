// The drawing page: draw (or drop / choose a photo), and the prediction follows live —
// debounced, one request in flight at a time, the latest drawing always answered last.
import { api, describeError, el, modelChoices, percent } from './api.js';
import { drawPixels } from './digit-image.js';
import { DigitPad } from './digit-pad.js';

const DEBOUNCE_MS = 120;
// the image types the API reads: the file input's accept list (test/api/predict-formats.test.ts
// checks it against the API's registry, src/api/predict/image-formats.ts)
const IMAGE_TYPES = document.getElementById('file').accept.split(',');
const IMAGE_NAMES = IMAGE_TYPES.map((t) => t.split('/')[1].toUpperCase()).join(' or ');

const $ = (id) => document.getElementById(id);
const modelSelect = $('model');
const status = $('status');
const bars = $('bars');
const digitOut = $('digit');
const summary = $('summary');
const seen = $('seen');
let upload = null; // a chosen/dropped photo, sent as is until the next stroke
let timer = 0;
let busy = false;
let again = false;

const pad = new DigitPad($('pad'), {
  onChange: (kind) => {
    upload = null;
    if (kind === 'clear') return showEmpty();
    schedule();
  },
});

function buildBars() {
  bars.replaceChildren();
  for (let d = 0; d < 10; d++) {
    bars.append(
      el('li', { id: `bar-${d}` },
        el('span', { class: 'bar-digit', text: String(d), 'aria-hidden': 'true' }),
        el('span', { class: 'bar-track', 'aria-hidden': 'true' }, el('span', { class: 'bar-fill' })),
        el('span', { class: 'bar-value', text: '–' }),
      ),
    );
  }
}

function showEmpty() {
  digitOut.textContent = '?';
  summary.textContent = 'Draw a digit to see what the network thinks it is.';
  status.textContent = '';
  for (let d = 0; d < 10; d++) setBar(d, 0, false);
  drawPixels(seen, new Array(784).fill(0));
}

function setBar(d, p, best) {
  const li = $(`bar-${d}`);
  li.classList.toggle('best', best);
  li.querySelector('.bar-fill').style.width = `${(p * 100).toFixed(1)}%`;
  const value = li.querySelector('.bar-value');
  value.textContent = percent(p, 1);
  value.setAttribute('aria-label', `digit ${d}: ${percent(p, 1)}`);
}

function show(result) {
  const p = result.predictions[0];
  digitOut.textContent = String(p.digit);
  summary.textContent = `The network reads a ${p.digit} (${percent(p.confidence, 1)} sure).`;
  status.textContent = `model ${result.modelId}`;
  p.probabilities.forEach((v, d) => setBar(d, v, d === p.digit));
  if (p.input) drawPixels(seen, p.input);
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(run, DEBOUNCE_MS);
}

async function run() {
  if (busy) {
    again = true; // answer the newest drawing once the current request is back
    return;
  }
  if (pad.isEmpty && !upload) return showEmpty();
  busy = true;
  try {
    const body = upload ?? (await pad.toPng());
    const type = upload ? upload.type || 'application/octet-stream' : 'image/png';
    const ref = encodeURIComponent(modelSelect.value || 'default');
    const result = await api(`/v1/models/${ref}/predict?debug=1`, { method: 'POST', body, headers: { 'content-type': type } });
    if (!again) show(result);
  } catch (err) {
    digitOut.textContent = '!';
    summary.textContent = describeError(err);
    status.textContent = '';
  } finally {
    busy = false;
    if (again) {
      again = false;
      schedule();
    }
  }
}

async function usePhoto(file) {
  if (!file) return;
  if (!IMAGE_TYPES.includes(file.type)) {
    summary.textContent = `“${file.name}” is not a ${IMAGE_NAMES} image.`;
    digitOut.textContent = '!';
    return;
  }
  await pad.showImage(file).catch(() => {}); // a preview only: the server judges the bytes
  upload = file;
  schedule();
}

async function loadModels() {
  try {
    const choices = await modelChoices();
    modelSelect.replaceChildren(...choices.map((c) => el('option', { value: c.value, text: c.label })));
    const wanted = new URLSearchParams(location.search).get('model'); // e.g. from a job page
    if (wanted) {
      if (!choices.some((c) => c.value === wanted)) modelSelect.append(el('option', { value: wanted, text: wanted }));
      modelSelect.value = wanted;
    }
    if (choices.length === 0 && !wanted) {
      modelSelect.append(el('option', { value: 'default', text: 'no models yet' }));
      status.textContent = 'No trained model yet: train one on the Jobs page.';
    }
  } catch (err) {
    status.textContent = `Could not list models: ${err.message}`;
  }
}

buildBars();
showEmpty();
loadModels();
modelSelect.addEventListener('change', () => !pad.isEmpty && schedule());
$('clear').addEventListener('click', () => pad.clear());
$('file').addEventListener('change', (e) => usePhoto(e.target.files[0]));
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('dragging');
});
drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('dragging');
  usePhoto(e.dataTransfer.files[0]);
});
