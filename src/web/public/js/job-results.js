// A finished job's results: test accuracy, the confusion matrix ([actual][predicted]) and
// a gallery of misclassified test digits with the network's answer.
import { api, el, percent } from './api.js';
import { pixelCanvas } from './digit-image.js';

const GALLERY_SIZE = 24;

function confusionTable(confusion) {
  const head = el('tr', {}, el('th', { scope: 'col', text: 'right ↓ / answer →' }), ...confusion.map((_, d) => el('th', { scope: 'col', text: String(d) })));
  const rows = confusion.map((row, actual) =>
    el('tr', {},
      el('th', { scope: 'row', text: String(actual) }),
      ...row.map((n, predicted) => el('td', { class: actual === predicted ? 'diag' : n > 0 ? 'off' : '', text: String(n) })),
    ),
  );
  return [el('caption', { class: 'visually-hidden', text: 'Confusion matrix of the test set' }), el('thead', {}, head), el('tbody', {}, rows)];
}

export async function showResults(model) {
  const section = document.getElementById('results');
  section.hidden = false;
  document.getElementById('model-link').replaceChildren(
    `Test accuracy ${percent(model.testAccuracy)} — model `,
    el('a', { href: '/models', text: model.name ?? model.id }),
    ' · ',
    el('a', { href: `/?model=${encodeURIComponent(model.id)}`, text: 'draw a digit for it' }),
  );
  if (Array.isArray(model.confusion) && model.confusion.length === 10) {
    document.getElementById('confusion').replaceChildren(...confusionTable(model.confusion));
  }
  const status = document.getElementById('gallery-status');
  status.textContent = 'Looking for the digits it gets wrong…';
  try {
    const res = await api(`/v1/models/${encodeURIComponent(model.id)}/misclassified?limit=${GALLERY_SIZE}`);
    status.textContent = `${res.misclassified.toLocaleString()} of ${res.testSize.toLocaleString()} test digits are misclassified; the first ${res.items.length}:`;
    const items = res.items.map((x) =>
      el('li', {},
        pixelCanvas(x.pixels, `test digit ${x.index}: a ${x.label}, read as ${x.predicted}`),
        el('div', {}, el('span', { class: 'wrong', text: String(x.predicted) }), ` (${percent(x.confidence, 0)})`),
        el('div', { class: 'muted', text: `was ${x.label}` }),
      ),
    );
    document.getElementById('gallery').replaceChildren(...items);
  } catch (err) {
    status.textContent = `No gallery: ${err.message}`;
  }
}
