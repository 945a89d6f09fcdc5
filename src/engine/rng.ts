// A seeded, serialisable PRNG: xoshiro128** (32-bit arithmetic only, so it is exact in JS), seeded
// through splitmix32. Its whole state is four uint32s, which checkpoints store to resume a run
// bit-identically. Used for weight init, the per-epoch shuffle and the per-epoch dropout seed.

export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Rng {
  // State in four plain numbers (uint32 values): much faster in V8 than a Uint32Array.
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | null = null; // Box–Muller gives two normals; the second is kept here

  private constructor(state: ArrayLike<number>) {
    if (state.length !== 4) throw new RangeError('rng state must be four uint32s');
    [this.a, this.b, this.c, this.d] = Array.from(state, (x) => {
      if (!Number.isInteger(x) || x < 0 || x > 0xffff_ffff) throw new RangeError('rng state must be four uint32s');
      return x >>> 0;
    }) as RngState;
    if ((this.a | this.b | this.c | this.d) === 0) throw new RangeError('rng state must be four uint32s, not all zero');
  }

  static fromSeed(seed: number): Rng {
    const next = splitmix32(seed);
    return new Rng([next(), next(), next(), next()]);
  }

  static fromState(state: RngState): Rng {
    return new Rng(state);
  }

  /** The state to store in a checkpoint. Taken at a point where no spare normal is pending. */
  state(): RngState {
    return [this.a, this.b, this.c, this.d];
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c = (this.c ^ this.a) >>> 0;
    this.d = (this.d ^ this.b) >>> 0;
    this.b = (this.b ^ this.c) >>> 0;
    this.a = (this.a ^ this.d) >>> 0;
    this.c = (this.c ^ t) >>> 0;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), unbiased (rejection of the short tail). n ≤ 2^32. */
  nextBelow(n: number): number {
    if (n <= 0 || n > 0x1_0000_0000) throw new RangeError(`nextBelow: bad bound ${n}`);
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal (Box–Muller). */
  nextNormal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.nextFloat();
    const v = this.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Drops a pending spare normal so that state() fully describes the generator. */
  clearSpare(): void {
    this.spare = null;
  }

  /** A Fisher–Yates permutation of 0..n-1: the visiting order of one epoch. */
  permutation(n: number): Uint32Array {
    const order = identity(n);
    this.shuffleRange(order, n - 1, 0);
    return order;
  }

  /** The same permutation as permutation(n), yielding to the event loop every `chunk` swaps. */
  async permutationAsync(n: number, chunk = 1 << 16): Promise<Uint32Array> {
    const order = identity(n);
    for (let hi = n - 1; hi > 0; hi -= chunk) {
      this.shuffleRange(order, hi, Math.max(0, hi - chunk));
      if (hi - chunk > 0) await new Promise((r) => setImmediate(r));
    }
    return order;
  }

  // Fisher–Yates steps i = hi down to lo+1 (exclusive of lo), in the standard order.
  private shuffleRange(order: Uint32Array, hi: number, lo: number): void {
    for (let i = hi; i > lo; i--) {
      const j = this.nextBelow(i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
  }
}

function identity(n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}
