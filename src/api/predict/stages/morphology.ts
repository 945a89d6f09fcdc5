// Grey-level max/min filters over a square window (radius r: a (2r+1)² square), separable and
// O(1) per pixel whatever r (van Herk / Gil-Werman): the building block of the background
// estimate (closing/opening) and of the stroke-width changes.

/** Max (or min) over a (2r+1)² square around each pixel; edges: only the pixels inside. */
export function squareFilter(src: Uint8Array, w: number, h: number, r: number, kind: 'max' | 'min'): Uint8Array {
  if (r <= 0) return src.slice();
  const tmp = new Uint8Array(w * h);
  const out = new Uint8Array(w * h);
  const isMax = kind === 'max';
  for (let y = 0; y < h; y++) filter1d(src, tmp, y * w, 1, w, r, isMax); // rows
  for (let x = 0; x < w; x++) filter1d(tmp, out, x, w, h, r, isMax); // columns
  return out;
}

// van Herk / Gil-Werman: prefix and suffix extrema over blocks of 2r+1, two lookups per output.
// Scratch buffers are shared (the event loop runs one filter at a time) and grow on demand.
let buf = new Uint8Array(1024), pre = new Uint8Array(1024), suf = new Uint8Array(1024);

/** n values of `src` from `start`, `step` apart, filtered into the same places of `dst`. */
function filter1d(src: Uint8Array, dst: Uint8Array, start: number, step: number, n: number, r: number, isMax: boolean): void {
  const k = 2 * r + 1;
  const m = n + 2 * r; // padded: r pixels of the neutral value on each side
  if (m > buf.length) [buf, pre, suf] = [new Uint8Array(m), new Uint8Array(m), new Uint8Array(m)];
  const B = buf, P = pre, S = suf;
  const pad = isMax ? 0 : 255;
  for (let i = 0; i < r; i++) B[i] = B[m - 1 - i] = pad;
  for (let i = 0, s = start; i < n; i++, s += step) B[i + r] = src[s]!;
  if (isMax) {
    for (let i = 0, j = 0; i < m; i++, j = j === k - 1 ? 0 : j + 1) {
      const v = B[i]!;
      P[i] = j === 0 ? v : P[i - 1]! > v ? P[i - 1]! : v;
    }
    for (let i = m - 1, j = (m - 1) % k; i >= 0; i--, j = j === 0 ? k - 1 : j - 1) {
      const v = B[i]!;
      S[i] = j === k - 1 || i === m - 1 ? v : S[i + 1]! > v ? S[i + 1]! : v;
    }
    for (let x = 0, d = start; x < n; x++, d += step) {
      const s = S[x]!, p = P[x + 2 * r]!;
      dst[d] = s > p ? s : p;
    }
  } else {
    for (let i = 0, j = 0; i < m; i++, j = j === k - 1 ? 0 : j + 1) {
      const v = B[i]!;
      P[i] = j === 0 ? v : P[i - 1]! < v ? P[i - 1]! : v;
    }
    for (let i = m - 1, j = (m - 1) % k; i >= 0; i--, j = j === 0 ? k - 1 : j - 1) {
      const v = B[i]!;
      S[i] = j === k - 1 || i === m - 1 ? v : S[i + 1]! < v ? S[i + 1]! : v;
    }
    for (let x = 0, d = start; x < n; x++, d += step) {
      const s = S[x]!, p = P[x + 2 * r]!;
      dst[d] = s < p ? s : p;
    }
  }
}
