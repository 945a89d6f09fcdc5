// A naive per-example TypeScript port of the book's network.py: sigmoid layers, quadratic cost,
// plain SGD, one example at a time through backprop. Float64 throughout. It is the oracle the tests
// hold the native engine to, and the baseline bench-engine divides by. Parameters use the addon's
// flat layout (per layer W[out][in] row-major, then b[out]) so the two can swap weights.

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

export class ReferenceNetwork {
  readonly sizes: number[];
  private w: Float64Array[];
  private b: Float64Array[];

  constructor(sizes: number[], params: ArrayLike<number>) {
    this.sizes = sizes;
    this.w = [];
    this.b = [];
    let o = 0;
    for (let l = 1; l < sizes.length; l++) {
      const n = sizes[l]!, m = sizes[l - 1]!;
      this.w.push(Float64Array.from({ length: n * m }, (_, i) => params[o + i]!));
      o += n * m;
      this.b.push(Float64Array.from({ length: n }, (_, i) => params[o + i]!));
      o += n;
    }
    if (o !== params.length) throw new RangeError(`params has ${params.length} values, sizes ${sizes.join(',')} need ${o}`);
  }

  static paramCount(sizes: number[]): number {
    let n = 0;
    for (let l = 1; l < sizes.length; l++) n += sizes[l]! * sizes[l - 1]! + sizes[l]!;
    return n;
  }

  toParams(): Float32Array {
    const out = new Float32Array(ReferenceNetwork.paramCount(this.sizes));
    let o = 0;
    for (let l = 0; l < this.w.length; l++) {
      out.set(this.w[l]!, o);
      o += this.w[l]!.length;
      out.set(this.b[l]!, o);
      o += this.b[l]!.length;
    }
    return out;
  }

  /** Activations of every layer for one input (a[0] = x). */
  private forwardAll(x: Float64Array): Float64Array[] {
    const acts = [x];
    for (let l = 0; l < this.w.length; l++) {
      const a = acts[l]!, w = this.w[l]!, b = this.b[l]!;
      const m = a.length, n = b.length;
      const out = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        let z = b[j]!;
        for (let k = 0; k < m; k++) z += w[j * m + k]! * a[k]!;
        out[j] = sigmoid(z);
      }
      acts.push(out);
    }
    return acts;
  }

  feedforward(x: Float64Array): Float64Array {
    return this.forwardAll(x).at(-1)!;
  }

  /** network.py's update_mini_batch: gradient summed over the batch by backprop, w -= η/m·∇. */
  updateMiniBatch(images: Uint8Array, labels: Uint8Array, indices: ArrayLike<number>, eta: number): void {
    const gw = this.w.map((w) => new Float64Array(w.length));
    const gb = this.b.map((b) => new Float64Array(b.length));
    for (let e = 0; e < indices.length; e++) {
      const i = indices[e]!;
      const x = new Float64Array(784);
      for (let p = 0; p < 784; p++) x[p] = images[i * 784 + p]! / 255;
      const acts = this.forwardAll(x);
      // δ^L = (a − y) ⊙ σ'(z) for the quadratic cost; σ'(z) = a(1−a)
      const L = this.w.length;
      let delta: Float64Array = acts[L]!.map((a, j) => (a - (j === labels[i] ? 1 : 0)) * a * (1 - a));
      for (let l = L - 1; l >= 0; l--) {
        const a = acts[l]!, m = a.length, n = delta.length;
        for (let j = 0; j < n; j++) {
          gb[l]![j]! += delta[j]!;
          for (let k = 0; k < m; k++) gw[l]![j * m + k]! += delta[j]! * a[k]!;
        }
        if (l > 0) {
          const prev = new Float64Array(m);
          for (let k = 0; k < m; k++) {
            let s = 0;
            for (let j = 0; j < n; j++) s += this.w[l]![j * m + k]! * delta[j]!;
            prev[k] = s * a[k]! * (1 - a[k]!);
          }
          delta = prev;
        }
      }
    }
    const f = eta / indices.length;
    for (let l = 0; l < this.w.length; l++) {
      for (let i = 0; i < this.w[l]!.length; i++) this.w[l]![i]! -= f * gw[l]![i]!;
      for (let i = 0; i < this.b[l]!.length; i++) this.b[l]![i]! -= f * gb[l]![i]!;
    }
  }

  /** One epoch over order in mini-batches (the last one may be smaller). */
  trainEpoch(images: Uint8Array, labels: Uint8Array, order: Uint32Array, batchSize: number, eta: number): void {
    for (let s = 0; s < order.length; s += batchSize) {
      this.updateMiniBatch(images, labels, order.subarray(s, Math.min(order.length, s + batchSize)), eta);
    }
  }

  /** Number of images classified right (argmax of the output). */
  evaluate(images: Uint8Array, labels: Uint8Array, count: number): number {
    let correct = 0;
    const x = new Float64Array(784);
    for (let i = 0; i < count; i++) {
      for (let p = 0; p < 784; p++) x[p] = images[i * 784 + p]! / 255;
      const out = this.feedforward(x);
      let best = 0;
      for (let j = 1; j < out.length; j++) if (out[j]! > out[best]!) best = j;
      if (best === labels[i]) correct++;
    }
    return correct;
  }
}
