// The API key of this tab: asked for in a small modal dialog when the API answers 401, kept in
// sessionStorage (gone when the tab closes, never in a URL or a cookie), sent as a Bearer header.
// On an API that runs without keys (loopback) nothing is ever asked.

const STORAGE = 'nndl.apiKey';
let fallbackKey = null; // when sessionStorage is unavailable

export function storedKey() {
  try {
    return sessionStorage.getItem(STORAGE);
  } catch {
    return null; // storage disabled: ask each time
  }
}

export function forgetKey() {
  fallbackKey = null;
  try {
    sessionStorage.removeItem(STORAGE);
  } catch {
    // nothing stored
  }
}

function remember(key) {
  try {
    sessionStorage.setItem(STORAGE, key);
  } catch {
    // storage disabled: the key lives as long as this page
  }
  fallbackKey = key;
}

export const currentKey = () => storedKey() ?? fallbackKey;

/** Headers that carry the key, if there is one. */
export function authHeaders() {
  const key = currentKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

function buildDialog() {
  const dialog = document.createElement('dialog');
  dialog.className = 'key-prompt';
  dialog.setAttribute('aria-labelledby', 'key-prompt-title');
  dialog.setAttribute('aria-describedby', 'key-prompt-help');
  dialog.innerHTML = `
    <form method="dialog">
      <h2 id="key-prompt-title">API key needed</h2>
      <p id="key-prompt-help">This service wants an API key for that. It is kept in this tab only and sent with each request.</p>
      <p id="key-prompt-error" class="error" role="alert"></p>
      <label for="key-prompt-input">API key</label>
      <input id="key-prompt-input" name="key" type="password" autocomplete="off" spellcheck="false" required>
      <div class="row">
        <button type="submit" value="ok">Use this key</button>
        <button type="button" class="secondary" value="cancel">Cancel</button>
      </div>
    </form>`;
  document.body.append(dialog);
  return dialog;
}

let asking = null;

/**
 * Asks for a key (one dialog however many requests wait on it). Resolves to the key, stored,
 * or null when the person cancels. `reason` says why (e.g. the last key was refused).
 */
export function askForKey(reason = '') {
  if (asking) return asking;
  asking = new Promise((resolve) => {
    const dialog = document.getElementById('key-prompt') ?? buildDialog();
    dialog.id = 'key-prompt';
    const input = dialog.querySelector('input');
    const cancel = dialog.querySelector('button[value="cancel"]');
    dialog.querySelector('#key-prompt-error').textContent = reason;
    input.value = '';
    const done = (key) => {
      dialog.removeEventListener('close', onClose);
      cancel.removeEventListener('click', onCancel);
      if (dialog.open) dialog.close();
      asking = null;
      if (key) remember(key);
      resolve(key);
    };
    const onClose = () => done(dialog.returnValue === 'ok' ? input.value.trim() || null : null);
    const onCancel = () => done(null);
    dialog.addEventListener('close', onClose);
    cancel.addEventListener('click', onCancel);
    dialog.returnValue = '';
    dialog.showModal();
    input.focus();
  });
  return asking;
}

/**
 * fetch with this tab's key; on 401 asks for a key and tries again, until the API accepts one
 * or the person cancels (then the 401 answer is returned as it came).
 */
export async function authFetch(url, init = {}) {
  for (;;) {
    const sent = currentKey();
    const res = await fetch(url, { ...init, headers: { ...(init.headers ?? {}), ...authHeaders() } });
    if (res.status !== 401) return res;
    const now = currentKey();
    if (now && now !== sent) continue; // another request got a key meanwhile
    if (sent) forgetKey();
    const key = await askForKey(sent ? 'That key was not accepted. Check it, or ask for a new one.' : '');
    if (!key) return res;
  }
}
