// Seeded weight initialisation into the one flat Float32Array the addon shares.
//  - 'large'   (network.py, network2.large_weight_initializer): weights and biases N(0, 1).
//  - 'default' (network2.default_weight_initializer): weights N(0, 1/√n_in), biases N(0, 1);
//    n_in is the fan-in, k·k·inC for a conv layer.
// network3.py (the ch6 presets) zero-initialises its SoftmaxLayer; we do the same for a softmax
// output under 'default' (zero weights are harmless there: the layer below still gets a gradient).
// network3.py scales its conv/FC weights by 1/√n_out instead; we keep the book's fan-in rule of
// chapter 3, which trains the ch6 nets as well and keeps one definition of 'default'.
import type { NetworkPlan } from './network-plan.ts';
import type { Rng } from './rng.ts';

export function initParams(plan: NetworkPlan, init: 'default' | 'large', rng: Rng): Float32Array {
  const params = new Float32Array(plan.paramCount);
  for (const _ of fill(plan, init, rng, params, Infinity));
  return params;
}

/** The same values as initParams, yielding to the event loop every `chunk` numbers (big networks). */
export async function initParamsAsync(plan: NetworkPlan, init: 'default' | 'large', rng: Rng, chunk = 1 << 16): Promise<Float32Array> {
  const params = new Float32Array(plan.paramCount);
  for (const _ of fill(plan, init, rng, params, chunk)) await new Promise((r) => setImmediate(r));
  return params;
}

function* fill(plan: NetworkPlan, init: 'default' | 'large', rng: Rng, params: Float32Array, chunk: number): Generator<void> {
  let done = 0;
  const tick = function* () {
    if (++done % chunk === 0) yield;
  };
  for (const s of plan.segments) {
    if (init === 'default' && s.activation === 'softmax') continue; // stays zero, as network3.py
    const std = init === 'large' ? 1 : 1 / Math.sqrt(s.fanIn);
    for (let i = 0; i < s.weightLength; i++) {
      params[s.weightOffset + i] = rng.nextNormal() * std;
      yield* tick();
    }
    for (let i = 0; i < s.biasLength; i++) {
      params[s.biasOffset + i] = rng.nextNormal();
      yield* tick();
    }
  }
  rng.clearSpare(); // so the rng state after init fully determines what follows
}
