// The models page: accuracy, spec and aliases of each model; make one the default, delete
// one, export one (the export link only appears once the API documents an export route); a conv
// net's learned filters (chapter 6), fetched when opened.
import { api, download, el, formatDate, percent } from './api.js';
import { filterGrid } from './filter-images.js';

const $ = (id) => document.getElementById(id);
const status = $('models-status');
let exportFormat = null; // e.g. 'tfjs', when GET /openapi.json lists /v1/models/{id}/export

async function findExport() {
  try {
    const doc = await api('/openapi.json');
    const route = doc.paths?.['/v1/models/{id}/export']?.get;
    if (!route) return null;
    const format = (route.parameters ?? []).find((p) => p.name === 'format');
    return format?.schema?.enum?.includes('tfjs') ? 'tfjs' : format?.schema?.enum?.[0] ?? 'tfjs';
  } catch {
    return null; // no document, no link
  }
}

/** The spec, fetched when opened: the list is a summary, and most rows are never opened. */
function specDetails(m) {
  const pre = el('pre', { text: 'loading…' });
  const details = el('details', {}, el('summary', { text: `spec${m.preset ? ` (${m.preset})` : ''}` }), pre);
  let loaded = false;
  details.addEventListener('toggle', async () => {
    if (!details.open || loaded) return;
    loaded = true;
    try {
      const { experiment: e, ensemble } = await api(`/v1/models/${encodeURIComponent(m.id)}`);
      if (ensemble) { // an ensemble of trained models (POST /v1/ensembles): its members, each with its own spec
        details.querySelector('summary').textContent =
          `ensemble of ${ensemble.members.length} models (${ensemble.combine})`;
        pre.textContent = JSON.stringify(ensemble, null, 2);
        return;
      }
      const layers = e.network.layers.length;
      details.querySelector('summary').textContent =
        `${layers} layers, ${e.network.cost}, η ${e.training.eta}, λ ${e.training.lambda}, ${e.training.epochs} epochs`;
      pre.textContent = JSON.stringify(e, null, 2);
    } catch (err) {
      loaded = false;
      pre.textContent = `Could not load the spec: ${err.message}`;
    }
  });
  return details;
}

/** The first conv layer's filters as images, fetched when opened (only conv nets have them). */
function filtersDetails(m) {
  const body = el('div', { class: 'filters-body', text: 'loading…' });
  const details = el('details', { class: 'filters-details' }, el('summary', { text: 'learned filters' }), body);
  let loaded = false;
  details.addEventListener('toggle', async () => {
    if (!details.open || loaded) return;
    loaded = true;
    try {
      const answer = await api(`/v1/models/${encodeURIComponent(m.id)}/filters`);
      const n = answer.filters.length;
      body.replaceChildren(
        el('p', { class: 'muted', text: `${n} filters of ${answer.kernel}×${answer.kernel} weights (first conv layer${answer.members > 1 ? `, member 1 of ${answer.members}` : ''}); darker = larger weight.` }),
        filterGrid(answer),
      );
    } catch (err) {
      loaded = false;
      body.textContent = `Could not load the filters: ${err.message}`;
    }
  });
  return details;
}

async function setDefault(m) {
  status.textContent = '';
  try {
    await api('/v1/aliases/default', { method: 'PUT', json: { modelId: m.id } });
    status.textContent = `${m.name ?? m.id} is now the default model.`;
    await load();
  } catch (err) {
    status.textContent = `Could not set the default: ${err.message}`;
  }
}

async function remove(m) {
  if (!confirm(`Delete model ${m.name ?? m.id}? Its aliases go with it.`)) return;
  try {
    await api(`/v1/models/${encodeURIComponent(m.id)}`, { method: 'DELETE' });
    status.textContent = `Deleted ${m.name ?? m.id}.`;
    await load();
  } catch (err) {
    status.textContent = `Could not delete: ${err.message}`;
  }
}

function row(m) {
  const label = m.name ?? m.preset ?? m.id;
  const isDefault = m.aliases.includes('default');
  const actions = el('div', { class: 'actions' },
    el('button', { type: 'button', class: 'secondary', disabled: isDefault, 'aria-label': `Make ${label} the default model`, onclick: () => setDefault(m), text: isDefault ? 'Default' : 'Make default' }),
    el('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${label}`, onclick: () => remove(m), text: 'Delete' }),
    exportFormat
      ? el('a', {
        class: 'button',
        href: `/v1/models/${encodeURIComponent(m.id)}/export?format=${exportFormat}`,
        download: true,
        text: `Export (${exportFormat})`,
        // a plain link cannot send the API key: fetch it with the key instead
        onclick: (e) => {
          e.preventDefault();
          download(e.currentTarget.href, `${m.id}-${exportFormat}.zip`).catch((err) => (status.textContent = `Could not export: ${err.message}`));
        },
      })
      : null,
  );
  return el('tr', { 'data-model-id': m.id },
    el('td', {},
      el('div', {}, el('strong', { text: label })),
      el('div', { class: 'muted id', text: m.id }),
      m.jobId ? el('a', { href: `/jobs/${encodeURIComponent(m.jobId)}`, text: 'training job' }) : null,
      specDetails(m),
      m.hasFilters ? filtersDetails(m) : null,
    ),
    el('td', { class: 'num', 'data-label': 'Test accuracy', text: percent(m.testAccuracy) }),
    el('td', { 'data-label': 'Aliases' }, m.aliases.map((a) => el('span', { class: 'badge', text: a })), ' '),
    el('td', { 'data-label': 'Created', text: formatDate(m.createdAt) }),
    el('td', {}, actions),
  );
}

async function load() {
  try {
    // one request: the list's summaries hold what the table shows; a spec loads when opened
    const { items, total } = await api('/v1/models?limit=100');
    document.querySelector('#models tbody').replaceChildren(...items.map(row));
    if (total === 0) status.textContent = 'No models yet: train one on the Jobs page.';
  } catch (err) {
    status.textContent = `Could not list models: ${err.message}`;
  }
}

exportFormat = await findExport();
await load();
