// A sweep's search space: spec fields named by path ("training.eta", "network.layers.0.units")
// with the values they may take — a list, a log-uniform range or an integer range — and the two
// ways of drawing trials from it: the grid (every combination) and seeded random samples.
import { Rng } from '../engine/rng.ts';
import { SpecError, type Experiment, type SpecIssue } from '../engine/index.ts';

export type Dimension =
  | { values: (number | string | boolean)[] }
  | { logUniform: [number, number] }
  | { intRange: [number, number] };

export type SearchSpace = Record<string, Dimension>;
/** One trial's settings: path → value. */
export type Params = Record<string, number | string | boolean>;

/** Integers an intRange expands to on a grid, at most. */
export const MAX_GRID_INT_RANGE = 1000;

const SEGMENT = /^(?:[A-Za-z][A-Za-z0-9]*|\d{1,3})$/;
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** The value at `path` in the experiment (own properties only), or undefined. */
export function getPath(e: unknown, path: string): unknown {
  let at: unknown = e;
  for (const seg of path.split('.')) {
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, seg)) return undefined;
    at = (at as Record<string, unknown>)[seg];
  }
  return at;
}

/** A copy of the experiment with `path` set to `value` (the path must exist: see checkSpace). */
export function setPath<T>(e: T, path: string, value: unknown): T {
  const copy = structuredClone(e) as Record<string, unknown>;
  const segs = path.split('.');
  let at: Record<string, unknown> = copy;
  for (const seg of segs.slice(0, -1)) at = at[seg] as Record<string, unknown>;
  at[segs[segs.length - 1]!] = value;
  return copy as T;
}

export function withParams(e: Experiment, params: Params): Experiment {
  let out = e;
  for (const [path, v] of Object.entries(params)) out = setPath(out, path, v);
  return out;
}

/** Whether the dimension is searched on a log scale (the page draws it on log axes). */
export const isLogScale = (d: Dimension) => 'logUniform' in d;

/**
 * Checks every path names a numeric, text or boolean field of the resolved base experiment and
 * every range is well formed; issues are named `space.<path>` (→ 422). The values themselves
 * are checked against the spec by the caller (each trial's experiment is validated).
 */
export function checkSpace(base: Experiment, space: SearchSpace, strategy: 'grid' | 'random' | 'halving'): SpecIssue[] {
  const issues: SpecIssue[] = [];
  for (const [path, dim] of Object.entries(space)) {
    const at = `space.${path}`;
    const segs = path.split('.');
    if (segs.some((s) => !SEGMENT.test(s) || FORBIDDEN.has(s))) {
      issues.push({ path: at, message: 'a path is dot-separated field names and indexes, e.g. training.eta or network.layers.0.units' });
      continue;
    }
    const current = getPath(base, path);
    if (current === undefined) {
      issues.push({ path: at, message: `unknown field "${path}" in the base experiment` });
      continue;
    }
    if (typeof current === 'object') {
      issues.push({ path: at, message: `"${path}" is not a number, a name or a flag; name one of its fields` });
      continue;
    }
    if ('values' in dim) {
      if (dim.values.some((v) => typeof v !== typeof current)) issues.push({ path: `${at}.values`, message: `every value must be a ${typeof current}, like the base's ${JSON.stringify(current)}` });
      continue;
    }
    if (typeof current !== 'number') {
      issues.push({ path: at, message: `"${path}" is not numeric: give it { "values": [...] }` });
      continue;
    }
    if ('logUniform' in dim) {
      const [a, b] = dim.logUniform;
      if (!(a > 0 && b > a)) issues.push({ path: `${at}.logUniform`, message: 'a log-uniform range is [low, high] with 0 < low < high' });
      else if (strategy === 'grid') issues.push({ path: `${at}.logUniform`, message: 'a grid needs values or intRange (a log-uniform range is continuous); use the random or halving strategy' });
      else if (Number.isInteger(current)) issues.push({ path: `${at}.logUniform`, message: `"${path}" is an integer: use intRange` });
    } else {
      const [a, b] = dim.intRange;
      if (!(Number.isSafeInteger(a) && Number.isSafeInteger(b) && a <= b)) issues.push({ path: `${at}.intRange`, message: 'an integer range is [low, high], integers with low ≤ high' });
      else if (b - a + 1 > 2 ** 32) issues.push({ path: `${at}.intRange`, message: 'at most 2^32 integers in a range' });
      else if (strategy === 'grid' && b - a + 1 > MAX_GRID_INT_RANGE) issues.push({ path: `${at}.intRange`, message: `at most ${MAX_GRID_INT_RANGE} integers on a grid` });
    }
  }
  return issues;
}

/** The number of grid points (may be huge: checked against the trial limit before expanding). */
export function gridSize(space: SearchSpace): number {
  let n = 1;
  for (const d of Object.values(space)) n *= 'values' in d ? d.values.length : 'intRange' in d ? d.intRange[1] - d.intRange[0] + 1 : Infinity;
  return n;
}

/** Every combination, the first path varying slowest (the order of the request). */
export function grid(space: SearchSpace): Params[] {
  let out: Params[] = [{}];
  for (const [path, d] of Object.entries(space)) {
    const values: (number | string | boolean)[] =
      'values' in d ? d.values : 'intRange' in d ? Array.from({ length: d.intRange[1] - d.intRange[0] + 1 }, (_, i) => d.intRange[0] + i) : [];
    out = out.flatMap((p) => values.map((v) => ({ ...p, [path]: v })));
  }
  return out;
}

/** `n` draws, reproducible from `seed`: values uniformly, logUniform as exp(U(ln a, ln b)) to 4 significant digits. */
export function sample(space: SearchSpace, n: number, seed: number): Params[] {
  const rng = Rng.fromSeed(seed >>> 0);
  return Array.from({ length: n }, () => {
    const p: Params = {};
    for (const [path, d] of Object.entries(space)) {
      if ('values' in d) p[path] = d.values[rng.nextBelow(d.values.length)]!;
      else if ('intRange' in d) p[path] = d.intRange[0] + rng.nextBelow(d.intRange[1] - d.intRange[0] + 1);
      else {
        const [a, b] = d.logUniform;
        p[path] = Number(Math.exp(Math.log(a) + rng.nextFloat() * (Math.log(b) - Math.log(a))).toPrecision(4));
      }
    }
    return p;
  });
}

/** Throws SpecError with the issues (for callers that collect them). */
export function throwIfIssues(issues: SpecIssue[]): void {
  if (issues.length > 0) throw new SpecError(issues);
}
