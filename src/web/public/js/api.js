// The REST API as the pages use it: JSON in and out, the service's one error shape turned
// into an Error whose message is the server's own sentence. Requests carry this tab's API key;
// a 401 asks for one (key-prompt.js).
import { authFetch } from './key-prompt.js';

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** fetch + JSON; throws ApiError on a non-2xx answer, with the server's message. */
export async function api(path, { method = 'GET', json, body, headers = {}, signal } = {}) {
  const init = { method, headers: { accept: 'application/json', ...headers }, signal };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers['content-type'] = 'application/json';
  } else if (body !== undefined) {
    init.body = body;
  }
  const res = await authFetch(path, init);
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (a proxy's error page): report the status below
  }
  if (!res.ok) {
    const e = data && data.error;
    throw new ApiError(res.status, e ? e.code : 'http_error', e ? e.message : `HTTP ${res.status}`, e && e.details);
  }
  return data;
}

/** Downloads a file the API serves (a model export) with this tab's key; its own name, else `filename`. */
export async function download(path, filename) {
  const res = await authFetch(path);
  if (!res.ok) {
    let e = null;
    try {
      e = (await res.json()).error;
    } catch {
      // not JSON
    }
    throw new ApiError(res.status, e ? e.code : 'http_error', e ? e.message : `HTTP ${res.status}`, e && e.details);
  }
  const named = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '');
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement('a'), { href: url, download: named ? named[1] : filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Details of a 422 (e.g. [{ path, message }]) as readable lines. */
export function describeError(err) {
  const lines = [err.message];
  if (Array.isArray(err.details)) {
    for (const d of err.details) if (d && d.message) lines.push(d.path ? `${d.path}: ${d.message}` : d.message);
  }
  return lines.join('\n');
}

export const percent = (v, digits = 2) => (typeof v === 'number' ? `${(v * 100).toFixed(digits)}%` : '–');

export function formatDate(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Models and aliases together, for pickers: [{ value, label }], aliases first. */
export async function modelChoices() {
  const [models, aliases] = await Promise.all([api('/v1/models?limit=200'), api('/v1/aliases')]);
  const byId = new Map(models.items.map((m) => [m.id, m]));
  const label = (m) => `${m.name || m.preset || m.id} (${percent(m.testAccuracy)})`;
  const choices = Object.entries(aliases)
    .sort(([a], [b]) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b)))
    .map(([name, id]) => ({ value: name, label: `${name} → ${byId.has(id) ? label(byId.get(id)) : id}` }));
  for (const m of models.items) choices.push({ value: m.id, label: label(m) });
  return choices;
}

/** Element helper: el('td', { class: 'x', text: 'hi' }, child...). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}
