// LayerSpec[] -> the native network description (native/README.md): shape inference in NHWC from
// the 28×28×1 input, the parameter layout (weights then biases per parametric layer), and the
// structural checks that need shapes (kernel larger than its input, pooling an odd size, ...).
import {
  COST_OUTPUT_ACTIVATIONS, LIMITS, SpecError, dropoutStyleOf,
  type Activation, type Cost, type NetworkSpec, type PoolKind, type SpecIssue, type TrainingSpec,
} from './spec.ts';

export const INPUT_SHAPE = [28, 28, 1] as const;
export const OUTPUT_UNITS = 10;

type Shape3 = [number, number, number];
export type NativeConvLayer = {
  kind: 'conv'; inShape: Shape3; outShape: Shape3; filters: number; kernel: number; activation: Activation;
};
export type NativePoolLayer = { kind: 'pool'; inShape: Shape3; outShape: Shape3; mode: PoolKind };
export type NativeDenseLayer = {
  kind: 'dense'; inSize: number; outSize: number; activation: Activation; dropout: number;
  dropoutStyle?: 'network3'; // only written for network3's style (absent = inverted, the addon's default)
};
export type NativeLayer = NativeConvLayer | NativePoolLayer | NativeDenseLayer;
export type NativeNetworkDesc = { inputShape: Shape3; layers: NativeLayer[]; cost: Cost };

/** Where one parametric layer's weights and biases live in the flat parameter array. */
export type ParamSegment = {
  layer: number;              // index into network.layers
  kind: 'dense' | 'conv';
  weightOffset: number;
  weightLength: number;
  biasOffset: number;
  biasLength: number;
  fanIn: number;              // inputs per output unit: inSize (dense) or k·k·inC (conv)
  fanOut: number;             // network3.py's n_out: units (dense), filters·k·k / pool area (conv; a following 2×2 pool: 4)
  weightShape: number[];      // dense [out, in]; conv [filters, k, k, inC]
  activation: Activation;
};

export type NetworkPlan = { desc: NativeNetworkDesc; segments: ParamSegment[]; paramCount: number };

/**
 * Infers shapes and the parameter layout; throws SpecError naming the layer at fault.
 * Pooling is 2×2 stride 2 and requires an even input size: we reject odd sizes rather than
 * silently dropping a row and column (Theano's ignore_border floor) so the spec says what runs.
 */
export function planNetwork(network: NetworkSpec): NetworkPlan {
  const issues: SpecIssue[] = [];
  const layers: NativeLayer[] = [];
  const segments: ParamSegment[] = [];
  let shape: Shape3 | null = [...INPUT_SHAPE];
  let size: number = INPUT_SHAPE[0] * INPUT_SHAPE[1] * INPUT_SHAPE[2];
  let offset = 0;
  const last = network.layers.length - 1;

  network.layers.forEach((layer, i) => {
    const at = (field: string) => `network.layers.${i}.${field}`;
    if (layer.type === 'conv' || layer.type === 'pool') {
      if (shape === null) {
        issues.push({ path: at('type'), message: `a ${layer.type} layer cannot follow a dense layer (its input is flat)` });
        return;
      }
      const [h, w, c] = shape;
      if (layer.type === 'conv') {
        if (layer.kernel > h || layer.kernel > w) {
          issues.push({ path: at('kernel'), message: `kernel ${layer.kernel} is larger than its ${h}×${w} input` });
          return;
        }
        const out: Shape3 = [h - layer.kernel + 1, w - layer.kernel + 1, layer.filters];
        layers.push({ kind: 'conv', inShape: shape, outShape: out, filters: layer.filters, kernel: layer.kernel, activation: layer.activation });
        const fanIn = layer.kernel * layer.kernel * c;
        const weightLength = layer.filters * fanIn;
        // network3's ConvPoolLayer: n_out = filters·k·k / pool area (a conv layer there always pools)
        const pooled = network.layers[i + 1]?.type === 'pool';
        const fanOut = (layer.filters * layer.kernel * layer.kernel) / (pooled ? 4 : 1);
        segments.push({
          layer: i, kind: 'conv', weightOffset: offset, weightLength, biasOffset: offset + weightLength,
          biasLength: layer.filters, fanIn, fanOut, weightShape: [layer.filters, layer.kernel, layer.kernel, c], activation: layer.activation,
        });
        offset += weightLength + layer.filters;
        shape = out;
      } else {
        if (h < 2 || w < 2 || h % 2 !== 0 || w % 2 !== 0) {
          issues.push({ path: at('kind'), message: `2×2 pooling needs an even input size of at least 2, got ${h}×${w}` });
          return;
        }
        const out: Shape3 = [h / 2, w / 2, c];
        layers.push({ kind: 'pool', inShape: shape, outShape: out, mode: layer.kind });
        shape = out;
      }
      size = shape[0] * shape[1] * shape[2];
      return;
    }
    // dense
    if (layer.activation === 'softmax' && i !== last) {
      issues.push({ path: at('activation'), message: 'softmax is only allowed in the last layer' });
    }
    const dropout = layer.dropout ?? 0;
    layers.push({
      kind: 'dense', inSize: size, outSize: layer.units, activation: layer.activation, dropout,
      ...(dropoutStyleOf(network) === 'network3' ? { dropoutStyle: 'network3' as const } : {}),
    });
    const weightLength = layer.units * size;
    segments.push({
      layer: i, kind: 'dense', weightOffset: offset, weightLength, biasOffset: offset + weightLength,
      biasLength: layer.units, fanIn: size, fanOut: layer.units, weightShape: [layer.units, size], activation: layer.activation,
    });
    offset += weightLength + layer.units;
    shape = null;
    size = layer.units;
  });

  const out = network.layers[last];
  if (out && out.type !== 'dense') {
    issues.push({ path: `network.layers.${last}.type`, message: 'the last layer must be a dense output layer of 10 units' });
  } else if (out && out.units !== OUTPUT_UNITS) {
    issues.push({ path: `network.layers.${last}.units`, message: `the output layer must have 10 units (one per digit), got ${out.units}` });
  }
  if (out && out.type === 'dense') {
    const allowed = COST_OUTPUT_ACTIVATIONS[network.cost];
    if (!allowed.includes(out.activation)) {
      issues.push({ path: 'network.cost', message: `${network.cost} cost needs a ${allowed.join(' or ')} output layer, got ${out.activation}` });
    }
  }
  if (offset > LIMITS.params) {
    issues.push({ path: 'network.layers', message: `the network has ${offset} parameters, more than the limit of ${LIMITS.params}` });
  }
  if (issues.length > 0) throw new SpecError(issues);
  return { desc: { inputShape: [...INPUT_SHAPE], layers, cost: network.cost }, segments, paramCount: offset };
}

/**
 * The n dividing λ in the regularization term for a set of `count` images: count itself (network2's
 * λ/2n·Σw², a step's decay ηλ/n), or network3's number of mini-batches ⌊count/m⌋ (its
 * 0.5·λ·Σw²/num_training_batches, a step's decay ηλ·m/n). At least 1.
 */
export function regularizationN(t: Pick<TrainingSpec, 'regularizationScale' | 'miniBatchSize'>, count: number): number {
  return t.regularizationScale === 'batches' ? Math.max(1, Math.floor(count / t.miniBatchSize)) : Math.max(1, count);
}

/** The regularization term of the cost: λ/2n Σw² (l2) or λ/n Σ|w| (l1), biases excluded. */
export function regularizationCost(plan: NetworkPlan, params: Float32Array, kind: 'l2' | 'l1', lambda: number, n: number): number {
  if (lambda === 0) return 0;
  let sum = 0;
  for (const s of plan.segments) sum += weightSum(params, s.weightOffset, s.weightOffset + s.weightLength, kind);
  return kind === 'l2' ? (lambda / (2 * n)) * sum : (lambda / n) * sum;
}

/** The same value, summed in slices with yields to the event loop between them (big networks). */
export async function regularizationCostAsync(
  plan: NetworkPlan, params: Float32Array, kind: 'l2' | 'l1', lambda: number, n: number, chunk = 1 << 18,
): Promise<number> {
  if (lambda === 0) return 0;
  let sum = 0;
  for (const s of plan.segments) {
    // Per-segment sums are added in the same order as the sync version, so the result is identical.
    let seg = 0;
    for (let a = s.weightOffset; a < s.weightOffset + s.weightLength; a += chunk) {
      seg = weightSum(params, a, Math.min(a + chunk, s.weightOffset + s.weightLength), kind, seg);
      await new Promise((r) => setImmediate(r));
    }
    sum += seg;
  }
  return kind === 'l2' ? (lambda / (2 * n)) * sum : (lambda / n) * sum;
}

function weightSum(params: Float32Array, from: number, to: number, kind: 'l2' | 'l1', start = 0): number {
  let sum = start;
  if (kind === 'l2') {
    for (let i = from; i < to; i++) sum += params[i]! * params[i]!;
  } else {
    for (let i = from; i < to; i++) sum += Math.abs(params[i]!);
  }
  return sum;
}
