// Shared helpers of the native tests: a seeded RNG, weight init over the addon's layout, and a
// finite-difference gradient check.
import assert from 'node:assert/strict';
import { NativeNetwork } from '../../src/engine/native.ts';
import { paramLayout, type NetworkDesc, type ParamLayout } from '../../src/engine/network-plan.ts';

export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
}

export function gaussian(r: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(r())) * Math.cos(2 * Math.PI * r());
}

/** Weights N(0, scale/√fanIn), biases N(0, biasScale); a batch-norm block: γ 1 + N(0, 0.3), running mean N(0, 0.5), running variance 0.5 + U(0, 1). */
export function initParams(desc: NetworkDesc, seed: number, scale = 1, biasScale = 0.5): Float32Array {
  const layout = paramLayout(desc);
  const p = new Float32Array(layout.paramCount);
  const g = gaussian(rng(seed));
  for (const l of layout.segments) {
    for (let i = 0; i < l.weightLength; i++) p[l.weightOffset + i] = (g() * scale) / Math.sqrt(l.fanIn);
    for (let i = 0; i < l.biasLength; i++) p[l.biasOffset + i] = g() * biasScale;
    if (l.norm) {
      const f = l.biasLength;
      for (let i = 0; i < f; i++) {
        p[l.norm.offset + i] = 1 + 0.3 * g();
        p[l.norm.offset + f + i] = 0.5 * g();
        p[l.norm.offset + 2 * f + i] = 0.5 + Math.abs(g()) % 1;
      }
    }
  }
  return p;
}

export function randomInput(n: number, size: number, seed: number): Float32Array {
  const r = rng(seed);
  return new Float32Array(n * size).map(() => r());
}

export function randomLabels(n: number, classes: number, seed: number): Uint8Array {
  const r = rng(seed);
  return new Uint8Array(n).map(() => Math.floor(r() * classes));
}

export function inputSize(desc: NetworkDesc): number {
  return desc.inputShape[0] * desc.inputShape[1] * desc.inputShape[2];
}

export interface FdOptions {
  l2?: number;
  l1?: number;
  dropoutSeed?: number;
  eps?: number;       // finite-difference step (parameters are float32)
  rtol?: number;      // relative to the parameter's own gradient
  scaleTol?: number;  // relative to the block's largest numeric gradient (its scale)
  atol?: number;      // absolute floor: the finite differences' own float32 noise
  samples?: number;   // parameters checked per parametric block (weights, biases)
  seed?: number;
  /** Changes the analytic gradient before the comparison (to show that the check catches a wrong one). */
  tamper?: (grad: Float32Array, layout: ParamLayout) => void;
}

/** A parametric layer's blocks: weights, biases (a batch-norm layer's shift β), a batch-norm layer's scale γ. */
export type Block = 'W' | 'b' | 'γ';
export type GradientFailure = { index: number; layer: number; block: Block; numeric: number; analytic: number; tolerance: number };

/**
 * Central differences of the addon's own cost (float32 forward, float64 sums) against its analytic
 * gradient, on a sample of parameters of every block (a layer's weights, its biases). A parameter
 * passes when |numeric − analytic| <= rtol·max(|numeric|, |analytic|) + scaleTol·scale + atol,
 * where scale is the largest |numeric| of its block: the tolerance follows each layer's own
 * magnitude, so a layer whose gradients are all small (the first layers of a sigmoid net) is held
 * to them, not to a fixed absolute tolerance larger than they are. Also reports blocks whose
 * tolerance would let a zeroed gradient pass (`insensitive`).
 */
export function gradientCheck(desc: NetworkDesc, n: number, o: FdOptions = {}) {
  const eps = o.eps ?? 1e-2, rtol = o.rtol ?? 2e-2, scaleTol = o.scaleTol ?? 2e-2, atol = o.atol ?? 1e-5, samples = o.samples ?? 12;
  const seed = o.seed ?? 1;
  const params = initParams(desc, seed);
  const net = new NativeNetwork(desc, params, null, 1);
  const outputs = net.forward(new Float32Array(inputSize(desc))).length;
  const x = randomInput(n, inputSize(desc), seed + 1);
  const y = randomLabels(n, outputs, seed + 2);
  const opts = { l2: o.l2, l1: o.l1, dropoutSeed: o.dropoutSeed };
  const { grad } = net.gradient(x, y, opts);
  const layout = paramLayout(desc);
  o.tamper?.(grad, layout);
  const pick = rng(seed + 3);
  const failures: GradientFailure[] = [];
  const insensitive: { layer: number; block: Block; scale: number }[] = [];
  const blocks: { layer: number; block: Block; scale: number; maxErr: number }[] = [];
  let checked = 0;
  for (const l of layout.segments) {
    const parts: [Block, { offset: number; length: number }][] = [
      ['W', { offset: l.weightOffset, length: l.weightLength }], ['b', { offset: l.biasOffset, length: l.biasLength }],
    ];
    if (l.norm) parts.push(['γ', { offset: l.norm.offset, length: l.biasLength }]);
    for (const [name, block] of parts) {
      const count = Math.min(samples, block.length);
      const sampled: { i: number; numeric: number }[] = [];
      for (let k = 0; k < count; k++) {
        const i = block.offset + (count === block.length ? k : Math.floor(pick() * block.length));
        const w = params[i]!;
        params[i] = w + eps;
        const cp = net.gradient(x, y, opts).cost;
        params[i] = w - eps;
        const cm = net.gradient(x, y, opts).cost;
        params[i] = w;
        sampled.push({ i, numeric: (cp - cm) / (Math.fround(w + eps) - Math.fround(w - eps)) });
      }
      const scale = Math.max(...sampled.map((s) => Math.abs(s.numeric)));
      // a zeroed gradient fails at the block's largest entry only if the tolerance there is below it
      if (scale <= rtol * scale + scaleTol * scale + atol) insensitive.push({ layer: l.layer, block: name, scale });
      let maxErr = 0;
      for (const { i, numeric } of sampled) {
        const tolerance = rtol * Math.max(Math.abs(numeric), Math.abs(grad[i]!)) + scaleTol * scale + atol;
        const err = Math.abs(numeric - grad[i]!);
        maxErr = Math.max(maxErr, err / tolerance);
        if (err > tolerance) failures.push({ index: i, layer: l.layer, block: name, numeric, analytic: grad[i]!, tolerance });
        checked++;
      }
      blocks.push({ layer: l.layer, block: name, scale, maxErr });
    }
  }
  net.dispose();
  return { checked, failures, insensitive, blocks };
}

/** gradientCheck that must pass, and whose tolerance must be able to catch a zeroed block. */
export function checkGradient(desc: NetworkDesc, n: number, o: FdOptions = {}): { checked: number; maxErr: number } {
  const r = gradientCheck(desc, n, o);
  const f = r.failures[0];
  assert.equal(r.failures.length, 0, f && `param ${f.index} (layer ${f.layer} ${f.block}): numeric ${f.numeric} vs analytic ${f.analytic}, tolerance ${f.tolerance}`);
  assert.deepEqual(r.insensitive, [], 'blocks whose gradients are below the tolerance floor (a zeroed gradient would pass)');
  return { checked: r.checked, maxErr: Math.max(...r.blocks.map((b) => b.maxErr)) };
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
