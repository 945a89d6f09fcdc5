// Seeded weight initialisation into the one flat Float32Array the addon shares.
//  - 'large'   (network.py, network2.large_weight_initializer): weights and biases N(0, 1).
//  - 'default' (network2.default_weight_initializer): weights N(0, 1/√n_in), biases N(0, 1);
//    n_in is the fan-in, k·k·inC for a conv layer.
//  - 'network3' (network3.py, the ch6 presets): conv and FC weights N(0, 1/√n_out) with n_out the
//    layer's fan-out (units; filters·k·k / pool area for a conv layer), biases N(0, 1).
// network3.py zero-initialises its SoftmaxLayer (weights and biases); 'default' and 'network3' do the
// same for a softmax output (zero weights are harmless there: the layer below still gets a gradient).
// A batch-norm conv layer starts as the identity normalisation: shift β (its bias) 0, γ 1, running
// mean 0 and running variance 1 (its weights as the init says).
import type { NetworkPlan, ParamSegment } from './network-plan.ts';
import type { Rng } from './rng.ts';
import type { Init } from './spec.ts';

function weightStd(init: Init, s: ParamSegment): number {
  if (init === 'large') return 1;
  return 1 / Math.sqrt(init === 'network3' ? s.fanOut : s.fanIn);
}

export function initParams(plan: NetworkPlan, init: Init, rng: Rng): Float32Array {
  const params = new Float32Array(plan.paramCount);
  for (const _ of fill(plan, init, rng, params, Infinity));
  return params;
}

/** The same values as initParams, yielding to the event loop every `chunk` numbers (big networks). */
export async function initParamsAsync(plan: NetworkPlan, init: Init, rng: Rng, chunk = 1 << 16): Promise<Float32Array> {
  const params = new Float32Array(plan.paramCount);
  for (const _ of fill(plan, init, rng, params, chunk)) await new Promise((r) => setImmediate(r));
  return params;
}

function* fill(plan: NetworkPlan, init: Init, rng: Rng, params: Float32Array, chunk: number): Generator<void> {
  let done = 0;
  const tick = function* () {
    if (++done % chunk === 0) yield;
  };
  for (const s of plan.segments) {
    if (init !== 'large' && s.activation === 'softmax') continue; // stays zero, as network3.py
    const std = weightStd(init, s);
    for (let i = 0; i < s.weightLength; i++) {
      params[s.weightOffset + i] = rng.nextNormal() * std;
      yield* tick();
    }
    if (s.norm) {
      const f = s.biasLength; // γ, running mean, running variance
      params.fill(1, s.norm.offset, s.norm.offset + f);
      params.fill(1, s.norm.offset + 2 * f, s.norm.offset + 3 * f);
      continue;
    }
    for (let i = 0; i < s.biasLength; i++) {
      params[s.biasOffset + i] = rng.nextNormal();
      yield* tick();
    }
  }
  rng.clearSpare(); // so the rng state after init fully determines what follows
}
