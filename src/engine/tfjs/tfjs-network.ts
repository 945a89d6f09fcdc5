// A network over tfjs ops with the native Network's contract (native/README.md): parameters in the
// addon's flat layout, offsets and shapes from network-plan.ts's paramLayout (dense W[out][in] then b;
// conv W[f][ky][kx][inC] then b), trainEpoch over an order of examples with momentum/L2/L1/dropout and
// cancel/progress between mini-batches, evaluate, predict, gradient and forward. Synchronous (tfjs ops
// are): it runs inside the tfjs worker thread.
import { outputSizeOf, paramLayout, type NativeNetworkDesc } from '../network-plan.ts';
import type { TrainEpochJob, TrainEpochResult } from '../backend.ts';
import { dropoutScales } from './dropout-hash.ts';
import { activate, exampleCosts, makeConv, makeL2Pool, makeMaxPool, pool, type Pools } from './tfjs-ops.ts';
import type { Tf, Tensor } from './tfjs-loader.ts';

const SCALE = Math.fround(1 / 255);
const CHUNK = 500; // examples per evaluate/predict step: bounds memory

type Param = { w: Tensor; b: Tensor; wOff: number; wLen: number; bOff: number; bLen: number; shape: number[] };

export type GradientOpts = { l2?: number; l1?: number; dropoutSeed?: number };

export class TfjsNetwork {
  readonly paramCount: number;
  private readonly layers: Param[] = [];
  private velocity: Tensor[] | null = null;
  private readonly conv: (x: Tensor, w: Tensor) => Tensor;
  private readonly inputConv: (x: Tensor, w: Tensor) => Tensor; // no gradient for the image
  private readonly pools: Pools;
  private readonly outputs: number;

  constructor(private readonly tf: Tf, readonly desc: NativeNetworkDesc, params: Float32Array, velocity: Float32Array | null) {
    this.conv = makeConv(tf);
    this.inputConv = makeConv(tf, false);
    this.pools = { max: makeMaxPool(tf), l2: makeL2Pool(tf) };
    const layout = paramLayout(desc);
    for (const s of layout.segments) {
      this.layers.push({
        w: tf.zeros(s.weightShape), b: tf.zeros([s.biasLength]),
        wOff: s.weightOffset, wLen: s.weightLength, bOff: s.biasOffset, bLen: s.biasLength, shape: s.weightShape,
      });
    }
    this.paramCount = layout.paramCount;
    this.outputs = outputSizeOf(desc.layers[desc.layers.length - 1]!);
    if (params.length !== this.paramCount) throw new RangeError(`params: expected ${this.paramCount} floats, got ${params.length}`);
    this.setParams(params, velocity);
  }

  /** Replaces the parameters (and momentum velocity) from flat arrays in the native layout. */
  setParams(params: Float32Array, velocity: Float32Array | null): void {
    const tf = this.tf;
    for (const p of this.layers) {
      p.w.dispose(); p.b.dispose();
      p.w = tf.tensor(params.subarray(p.wOff, p.wOff + p.wLen), p.shape);
      p.b = tf.tensor(params.subarray(p.bOff, p.bOff + p.bLen), [p.bLen]);
    }
    this.velocity?.forEach((t) => t.dispose());
    this.velocity = velocity ? this.layers.flatMap((p) => [
      tf.tensor(velocity.subarray(p.wOff, p.wOff + p.wLen), p.shape), tf.tensor(velocity.subarray(p.bOff, p.bOff + p.bLen), [p.bLen]),
    ]) : null;
  }

  /** Copies the parameters (and velocity) back into flat arrays in the native layout. */
  getParams(params: Float32Array, velocity: Float32Array | null): void {
    for (const [i, p] of this.layers.entries()) {
      params.set(p.w.dataSync() as Float32Array, p.wOff);
      params.set(p.b.dataSync() as Float32Array, p.bOff);
      if (velocity && this.velocity) {
        velocity.set(this.velocity[2 * i]!.dataSync() as Float32Array, p.wOff);
        velocity.set(this.velocity[2 * i + 1]!.dataSync() as Float32Array, p.bOff);
      }
    }
  }

  /** Forward pass over x [n, inputSize]; `drop` gives inverted-dropout scales per dense layer index. */
  private run(x: Tensor, ws: Tensor[], drop?: (layer: number, width: number) => Tensor | null): { z: Tensor; a: Tensor } {
    const tf = this.tf;
    const [h0, w0, c0] = this.desc.inputShape;
    let a = tf.reshape(x, [-1, h0, w0, c0]);
    let z = a;
    let k = 0;
    this.desc.layers.forEach((L, l) => {
      if (L.kind === 'pool') { a = pool(tf, this.pools, L.mode, a); return; }
      const w = ws[2 * k]!, b = ws[2 * k + 1]!;
      k++;
      if (L.kind === 'conv') {
        z = tf.add((l === 0 ? this.inputConv : this.conv)(a, w), b);
      } else {
        let input = tf.reshape(a, [a.shape[0]!, -1]);
        const mask = L.dropout > 0 ? drop?.(l, L.inSize) : null;
        if (mask) input = tf.mul(input, mask);
        // network3's dropout: no scaling in training, W·x × (1−p) without dropout (the addon's alpha)
        else if (L.dropout > 0 && L.dropoutStyle === 'network3') input = tf.mul(input, Math.fround(1 - L.dropout));
        z = tf.add(tf.matMul(input, w, false, true), b);
      }
      a = activate(tf, L.activation, z);
    });
    return { z, a };
  }

  private lastActivation() {
    const last = this.desc.layers[this.desc.layers.length - 1]!;
    return last.kind === 'pool' ? 'linear' : last.activation;
  }

  /** Summed cost over the batch (unregularized) from parameter tensors ws. */
  private costSum(ws: Tensor[], x: Tensor, y: Tensor, drop?: (layer: number, width: number) => Tensor | null) {
    const { z, a } = this.run(x, ws, drop);
    return { cost: this.tf.sum(exampleCosts(this.tf, this.desc.cost, this.lastActivation(), z, a, y)), a };
  }

  private params(): Tensor[] {
    return this.layers.flatMap((p) => [p.w, p.b]);
  }

  private dropper(seed: number, posBase: number, rows: number) {
    return (layer: number, width: number) => {
      const L = this.desc.layers[layer]!;
      const p = L.kind === 'dense' ? L.dropout : 0;
      const network3 = L.kind === 'dense' && L.dropoutStyle === 'network3';
      return this.tf.tensor(dropoutScales(rows, width, p, seed, posBase, layer, network3), [rows, width]);
    };
  }

  private images(images: Uint8Array, order: Uint32Array | null, from: number, to: number): Tensor {
    const size = this.inputSize();
    const out = new Float32Array((to - from) * size);
    for (let r = from; r < to; r++) {
      const at = (order ? order[r]! : r) * size;
      const dst = (r - from) * size;
      for (let i = 0; i < size; i++) out[dst + i] = images[at + i]! * SCALE;
    }
    return this.tf.tensor(out, [to - from, size]);
  }

  private inputSize(): number {
    const [h, w, c] = this.desc.inputShape;
    return h * w * c;
  }

  private oneHot(labels: ArrayLike<number>): Tensor {
    const K = this.outputs;
    const y = new Float32Array(labels.length * K);
    for (let i = 0; i < labels.length; i++) y[i * K + labels[i]!] = 1;
    return this.tf.tensor(y, [labels.length, K]);
  }

  trainEpoch(job: TrainEpochJob): TrainEpochResult {
    const tf = this.tf;
    const n = job.order.length;
    const m = job.batchSize;
    const nb = Math.ceil(n / m);
    const wCount = this.layers.length;
    const gradNormSum = new Float64Array(wCount);
    let costSum = 0, correct = 0, examples = 0;
    let b = Math.min(Math.max(job.startBatch, 0), nb);
    const hasDrop = job.dropoutSeed !== undefined && this.desc.layers.some((L) => L.kind === 'dense' && L.dropout > 0);
    if (job.momentum > 0 && !this.velocity) {
      this.velocity = this.params().map((t) => tf.zerosLike(t));
    }
    let cancelled = false;
    // Per-batch sums [cost, correct, ‖gW‖ per layer] stay on the device and are read once at the
    // end: a read per batch would stall a GPU's pipeline (float32 sums: ample for these counts).
    let acc: Tensor | null = null;
    for (; b < nb; b++) {
      if (job.cancel && Atomics.load(job.cancel, 0) !== 0) { cancelled = true; break; }
      const first = b * m;
      const last = Math.min(n, first + m);
      const rows = last - first;
      const labels = Array.from({ length: rows }, (_, r) => job.labels[job.order[first + r]!]!);
      const next: Tensor = tf.tidy(() => {
        const x = this.images(job.images, job.order, first, last);
        const y = this.oneHot(labels);
        const drop = hasDrop ? this.dropper(job.dropoutSeed, first, rows) : undefined;
        let hits: Tensor | null = null;
        const f = (...ws: Tensor[]) => {
          const r = this.costSum(ws, x, y, drop);
          // kept: the gradient scope disposes its intermediates (the outputs among them)
          hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(r.a, 1), tf.argMax(y, 1)), 'float32')));
          return tf.div(r.cost, rows) as TfScalar;
        };
        const { value, grads } = tf.valueAndGrads(f)(this.params());
        const norms = this.layers.map((_, i) => tf.norm(grads[2 * i]!));
        this.step(grads, job);
        const h = hits as Tensor | null;
        const stats = tf.stack([tf.mul(value, rows), h!, ...norms]);
        h!.dispose();
        return acc ? tf.add(acc, stats) : stats;
      });
      acc?.dispose();
      acc = next;
      examples += rows;
      if (job.progress) Atomics.store(job.progress, 0, b + 1);
    }
    if (acc) {
      const sums = acc.dataSync();
      acc.dispose();
      costSum = sums[0]!;
      correct = Math.round(sums[1]!);
      for (let i = 0; i < wCount; i++) gradNormSum[i] = sums[2 + i]!;
    }
    return { batchesDone: b, cancelled, examples, costSum, correct, gradNormSum };
  }

  /** g = ∇ + l2·w + l1·sign(w) for weights; v = μv − ηg, w += v (or w −= ηg). Replaces the tensors. */
  private step(grads: Tensor[], job: TrainEpochJob): void {
    const tf = this.tf;
    this.layers.forEach((p, i) => {
      for (const which of ['w', 'b'] as const) {
        const k = 2 * i + (which === 'w' ? 0 : 1);
        const cur = p[which];
        let g = grads[k]!;
        if (which === 'w' && job.l2 > 0) g = tf.add(g, tf.mul(cur, job.l2));
        if (which === 'w' && job.l1 > 0) g = tf.add(g, tf.mul(tf.sign(cur), job.l1));
        let next: Tensor;
        if (job.momentum > 0 && this.velocity) {
          const v = tf.keep(tf.sub(tf.mul(this.velocity[k]!, job.momentum), tf.mul(g, job.eta)));
          this.velocity[k]!.dispose();
          this.velocity[k] = v;
          next = tf.add(cur, v);
        } else {
          next = tf.sub(cur, tf.mul(g, job.eta));
        }
        p[which] = tf.keep(next);
        cur.dispose();
      }
    });
  }

  evaluate(images: Uint8Array, labels: Uint8Array): { costSum: number; correct: number; confusion: Uint32Array } {
    const tf = this.tf;
    const K = this.outputs;
    const confusion = new Uint32Array(K * K);
    let costSum = 0, correct = 0;
    for (let s = 0; s < labels.length; s += CHUNK) {
      const e = Math.min(labels.length, s + CHUNK);
      const [c, pred] = tf.tidy(() => {
        const r = this.costSum(this.params(), this.images(images, null, s, e), this.oneHot(labels.subarray(s, e)));
        return [r.cost.dataSync()[0]!, tf.argMax(r.a, 1).dataSync()] as const;
      });
      costSum += c;
      for (let i = 0; i < e - s; i++) {
        const y = labels[s + i]!;
        const p = pred[i]!;
        confusion[y * K + p]!++;
        if (p === y) correct++;
      }
    }
    return { costSum, correct, confusion };
  }

  forward(input: Float32Array): Float32Array {
    const size = this.inputSize();
    if (input.length % size !== 0) throw new RangeError(`input: length ${input.length} is not a multiple of ${size}`);
    const n = input.length / size;
    const out = new Float32Array(n * this.outputs);
    for (let s = 0; s < n; s += CHUNK) {
      const e = Math.min(n, s + CHUNK);
      const a = this.tf.tidy(() => this.run(this.tf.tensor(input.subarray(s * size, e * size), [e - s, size]), this.params()).a.dataSync());
      out.set(a as Float32Array, s * this.outputs);
    }
    return out;
  }

  gradient(input: Float32Array, labels: Uint8Array, opts: GradientOpts = {}): { cost: number; grad: Float32Array } {
    const tf = this.tf;
    const size = this.inputSize();
    const n = labels.length;
    if (input.length !== n * size) throw new RangeError(`input: expected ${n} × ${size} floats, got ${input.length}`);
    const l2 = opts.l2 ?? 0, l1 = opts.l1 ?? 0;
    const grad = new Float32Array(this.paramCount);
    const cost = tf.tidy(() => {
      const x = tf.tensor(input, [n, size]);
      const y = this.oneHot(labels);
      const drop = opts.dropoutSeed !== undefined ? this.dropper(opts.dropoutSeed, 0, n) : undefined;
      const f = (...ws: Tensor[]) => tf.div(this.costSum(ws, x, y, drop).cost, n) as TfScalar;
      const { value, grads } = tf.valueAndGrads(f)(this.params());
      // The regularizer is added by hand, as native does (sign(0) = 0, where tfjs's |w|' at 0 is −1).
      let reg = 0;
      this.layers.forEach((p, i) => {
        let gw = grads[2 * i]!;
        if (l2 > 0) { gw = tf.add(gw, tf.mul(p.w, l2)); reg += (l2 / 2) * tf.sum(tf.square(p.w)).dataSync()[0]!; }
        if (l1 > 0) { gw = tf.add(gw, tf.mul(tf.sign(p.w), l1)); reg += l1 * tf.sum(tf.abs(p.w)).dataSync()[0]!; }
        grad.set(gw.dataSync() as Float32Array, p.wOff);
        grad.set(grads[2 * i + 1]!.dataSync() as Float32Array, p.bOff);
      });
      return value.dataSync()[0]! + reg;
    });
    return { cost, grad };
  }

  dispose(): void {
    for (const p of this.layers) { p.w.dispose(); p.b.dispose(); }
    this.velocity?.forEach((t) => t.dispose());
    this.velocity = null;
  }
}

type TfScalar = import('@tensorflow/tfjs').Scalar;
