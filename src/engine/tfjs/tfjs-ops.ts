// The book's layer operations in tfjs ops, with the native addon's semantics (native/README.md):
// NHWC activations, conv k×k stride 1 valid with W[filters][ky][kx][inC], 2×2 pools (max/l2/avg),
// the activations, and the costs. Gradients come from tfjs autodiff, except where a backend lacks a
// kernel (conv's filter gradient on wasm) or native defines the value at a kink (l2 pool at 0).
import type { Tf, Tensor } from './tfjs-loader.ts';
import { COST_LOG_FLOOR, unreachable, type Activation, type Cost, type PoolKind } from '../spec.ts';

/**
 * conv2d(x [n,h,w,c], W in our layout [f,k,k,c]) with a custom gradient: the filter gradient is
 * itself a valid conv2d with the batch as channels — dW[ky,kx,c,f] = Σ_{n,i,j} x[n,i+ky,j+kx,c]·dz[n,i,j,f]
 * = conv2d(xᵀ [c,h,w,n], dzᵀ [oh,ow,n,f]) — so no Conv2DBackpropFilter kernel is needed (wasm has none).
 */
export function makeConv(tf: Tf, needInputGrad = true): (x: Tensor, w: Tensor) => Tensor {
  return tf.customGrad(((x: Tensor, w: Tensor, save: (ts: Tensor[]) => void) => {
    const filter = tf.transpose(w, [1, 2, 3, 0]); // [k,k,c,f]
    save([x, filter]);
    const value = tf.conv2d(x as never, filter as never, 1, 'valid') as Tensor;
    const gradFunc = (dy: Tensor, saved: Tensor[]) => {
      const [xs, f] = saved as [Tensor, Tensor];
      // dx: a 'full' correlation of dy with the filter rotated 180° and in/out swapped, as a plain
      // conv2d (wasm's Conv2DBackpropInput is ~8× slower); skipped for the input image.
      let dx: Tensor;
      if (needInputGrad) {
        const k = f.shape[0]!;
        const rot = tf.transpose(tf.reverse(f, [0, 1]), [0, 1, 3, 2]); // [k,k,f,c]
        const padded = tf.pad(dy, [[0, 0], [k - 1, k - 1], [k - 1, k - 1], [0, 0]]);
        dx = tf.conv2d(padded as never, rot as never, 1, 'valid') as Tensor;
      } else {
        dx = tf.zerosLike(xs);
      }
      const xT = tf.transpose(xs, [3, 1, 2, 0]);     // [c,h,w,n]
      const dyT = tf.transpose(dy, [1, 2, 0, 3]);    // [oh,ow,n,f]
      const dwKkcf = tf.conv2d(xT as never, dyT as never, 1, 'valid') as Tensor; // [c,k,k,f]
      return [dx, tf.transpose(dwKkcf, [3, 1, 2, 0])]; // -> [f,k,k,c]
    };
    return { value, gradFunc };
  }) as never) as unknown as (x: Tensor, w: Tensor) => Tensor;
}

/**
 * L2 pooling √(Σ x²) over 2×2 windows; gradient x·dy/y, 0 where y = 0 (as native, instead of NaN).
 * The per-window factor is spread back over the window by a 2×2 nearest upsampling (tile).
 */
export function makeL2Pool(tf: Tf): (x: Tensor) => Tensor {
  return tf.customGrad(((x: Tensor, save: (ts: Tensor[]) => void) => {
    const y = tf.sqrt(tf.mul(tf.avgPool(tf.square(x) as never, 2, 2, 'valid'), 4));
    save([x, y]);
    const gradFunc = (dy: Tensor, saved: Tensor[]) => {
      const [xs, ys] = saved as [Tensor, Tensor];
      const pos = tf.greater(ys, 0);
      const k = tf.where(pos, tf.div(dy, tf.where(pos, ys, tf.onesLike(ys))), tf.zerosLike(ys));
      return [tf.mul(xs, upsample2(tf, k))];
    };
    return { value: y, gradFunc };
  }) as never) as unknown as (x: Tensor) => Tensor;
}

/** [n,h,w,c] -> [n,2h,2w,c], each value repeated over its 2×2 window. */
export function upsample2(tf: Tf, t: Tensor): Tensor {
  const [n, h, w, c] = t.shape as [number, number, number, number];
  return tf.reshape(tf.tile(tf.reshape(t, [n * h, 1, w, 1, c]), [1, 2, 1, 2, 1]), [n, 2 * h, 2 * w, c]);
}

/**
 * 2×2 max pooling whose gradient goes to the first maximum of each window (row-major), as native.
 * (Ties are common after relu; the wasm MaxPoolGrad kernel also disagreed with cpu's on channels > 1.)
 */
export function makeMaxPool(tf: Tf): (x: Tensor) => Tensor {
  return tf.customGrad(((x: Tensor, save: (ts: Tensor[]) => void) => {
    const y = tf.maxPool(x as never, 2, 2, 'valid') as Tensor;
    save([x, y]);
    const gradFunc = (dy: Tensor, saved: Tensor[]) => {
      const [xs, ys] = saved as [Tensor, Tensor];
      const [, h, w] = ys.shape as [number, number, number, number];
      const up = (t: Tensor) => tf.image.resizeNearestNeighbor(t as never, [2 * h, 2 * w]) as Tensor; // 2×2 repeat
      // Where x equals its window's max, score it by position (00: 8, 01: 4, 10: 2, 11: 1); the
      // window's top score marks the first maximum in row-major order, as native picks it.
      const score = tf.mul(tf.cast(tf.equal(xs, up(ys)), 'float32'), positionWeights(tf, h, w));
      const first = tf.cast(tf.equal(score, up(tf.maxPool(score as never, 2, 2, 'valid') as Tensor)), 'float32');
      return [tf.mul(first, up(dy))];
    };
    return { value: y, gradFunc };
  }) as never) as unknown as (x: Tensor) => Tensor;
}

/** [1, 2h, 2w, 1]: 8, 4 / 2, 1 in every 2×2 window. */
function positionWeights(tf: Tf, h: number, w: number): Tensor {
  const out = new Float32Array(4 * h * w);
  for (let r = 0; r < 2 * h; r++) for (let q = 0; q < 2 * w; q++) out[r * 2 * w + q] = [[8, 4], [2, 1]][r % 2]![q % 2]!;
  return tf.tensor(out, [1, 2 * h, 2 * w, 1]);
}

export type Pools = { max: (x: Tensor) => Tensor; l2: (x: Tensor) => Tensor };

export function pool(tf: Tf, pools: Pools, mode: PoolKind, x: Tensor): Tensor {
  switch (mode) {
    case 'max': return pools.max(x);
    case 'avg': return tf.avgPool(x as never, 2, 2, 'valid') as Tensor;
    case 'l2': return pools.l2(x);
    default: return unreachable(mode, 'pool kind');
  }
}

export function activate(tf: Tf, act: Activation, z: Tensor): Tensor {
  switch (act) {
    case 'sigmoid': return tf.sigmoid(z);
    case 'tanh': return tf.tanh(z);
    case 'relu': return tf.relu(z);
    case 'linear': return z;
    case 'softmax': return tf.softmax(z);
  }
}

/**
 * Per-example cost [n] from the output layer's pre-activation z and activation a, y one-hot.
 * sigmoid+cross-entropy and softmax+log-likelihood are computed from z, so autodiff gives the
 * book's δ = a − y exactly; other pairs go through a, with logs clamped as native's safe_log.
 */
export function exampleCosts(tf: Tf, cost: Cost, act: Activation, z: Tensor, a: Tensor, y: Tensor): Tensor {
  const log = (t: Tensor) => tf.log(tf.maximum(t, COST_LOG_FLOOR));
  switch (cost) {
    case 'quadratic':
      return tf.mul(tf.sum(tf.square(tf.sub(a, y)), 1), 0.5);
    case 'log-likelihood':
      if (act === 'softmax') return tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(z)), 1));
      return tf.neg(tf.sum(tf.mul(y, log(a)), 1));
    case 'cross-entropy': {
      // −[y ln σ(z) + (1−y) ln(1−σ(z))] = softplus(z) − y·z
      if (act === 'sigmoid') return tf.sum(tf.sub(tf.softplus(z), tf.mul(y, z)), 1);
      const one = tf.scalar(1);
      return tf.neg(tf.sum(tf.add(tf.mul(y, log(a)), tf.mul(tf.sub(one, y), log(tf.sub(one, a)))), 1));
    }
    default:
      return unreachable(cost, 'cost');
  }
}
