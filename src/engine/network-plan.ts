// LayerSpec[] -> the native network description (native/README.md): shape inference in NHWC from
// the 28×28×1 input, the parameter layout (weights then biases per parametric layer), and the
// structural checks that need shapes (kernel larger than its input, pooling an odd size, ...).
// The one TypeScript place that computes shapes, sizes and parameter offsets, and the one
// description type: native.ts, the tfjs backend, tests and benchmarks all take them from here
// (test/native/layout.test.ts checks them against the addon's own, native/src/network_desc.cc).
import {
  COST_OUTPUT_ACTIVATIONS, LIMITS, SpecError, dropoutStyleOf,
  type Activation, type Cost, type DropoutStyle, type NetworkSpec, type PoolKind, type SpecIssue, type TrainingSpec,
} from './spec.ts';

export const INPUT_SHAPE = [28, 28, 1] as const;
export const OUTPUT_UNITS = 10;

/** [height, width, channels] of one example (NHWC). */
export type Shape3 = [number, number, number];
export type NativeConvLayer = {
  kind: 'conv'; inShape: Shape3; outShape: Shape3; filters: number; kernel: number; activation: Activation;
  batchNorm?: boolean; // planNetwork writes it only when on (absent = off, the addon's default)
};
export type NativePoolLayer = { kind: 'pool'; inShape: Shape3; outShape: Shape3; mode: PoolKind };
export type NativeDenseLayer = {
  kind: 'dense'; inSize: number; outSize: number; activation: Activation; dropout: number;
  dropoutStyle?: DropoutStyle; // planNetwork writes it only for network3's style (absent = inverted, the addon's default)
};
export type NativeLayer = NativeConvLayer | NativePoolLayer | NativeDenseLayer;
/** A network description with every shape filled in (what planNetwork and describeNetwork give). */
export type NativeNetworkDesc = { inputShape: Shape3; layers: NativeLayer[]; cost: Cost };

/** The fields of a layer the addon infers from the shape chain (checked when given) or defaults (dropout 0). */
type Inferred = 'inShape' | 'outShape' | 'inSize' | 'dropout';
type WithInferredOptional<L> = L extends unknown ? Omit<L, Inferred> & Partial<Pick<L, Extract<keyof L, Inferred>>> : never;
/** A layer as the addon accepts it (native/README.md): a NativeLayer whose inferred fields are optional. */
export type NetworkDescLayer = WithInferredOptional<NativeLayer>;
/** A description as the addon accepts it (native tests and benchmarks write these by hand). */
export type NetworkDesc = Omit<NativeNetworkDesc, 'layers'> & { layers: NetworkDescLayer[] };

/** Where one parametric layer's weights and biases live in the flat parameter array. */
export type ParamSegment = {
  layer: number;              // index into network.layers (= desc.layers)
  kind: 'dense' | 'conv';
  weightOffset: number;
  weightLength: number;
  biasOffset: number;
  biasLength: number;
  fanIn: number;              // inputs per output unit: inSize (dense) or k·k·inC (conv)
  fanOut: number;             // network3.py's n_out: units (dense), filters·k·k / pool area (conv; a following 2×2 pool: 4)
  weightShape: number[];      // dense [out, in]; conv [filters, k, k, inC]
  activation: Activation;
  // A batch-norm conv layer (its bias is then the shift β): γ[filters], running mean[filters] and
  // running variance[filters], right after the bias.
  norm?: { offset: number; length: number };
};

/** The parameter layout of a description: per parametric layer in order W then b (then a batch-norm block), and the total. */
export type ParamLayout = { segments: ParamSegment[]; paramCount: number };

export type NetworkPlan = { desc: NativeNetworkDesc } & ParamLayout;

const sizeOf = (s: Shape3): number => s[0] * s[1] * s[2];
/** k×k convolution, stride 1, valid. */
const convOut = ([h, w]: Shape3, kernel: number, filters: number): Shape3 => [h - kernel + 1, w - kernel + 1, filters];
/** 2×2 pooling, stride 2; an odd trailing row/column is dropped (the addon's floor; planNetwork rejects odd sizes). */
const poolOut = ([h, w, c]: Shape3): Shape3 => [Math.floor(h / 2), Math.floor(w / 2), c];

/** Batch normalisation's ε and running-average momentum (native/src/batch_norm.h; test/native/batch-norm.test.ts holds them equal). */
export const BATCH_NORM_EPS = 1e-5;
export const BATCH_NORM_MOMENTUM = 0.01;

/** Whether any layer of a description normalises by batch statistics (the native engine's alone). */
export function hasBatchNorm(desc: { layers: readonly NativeLayer[] }): boolean {
  return desc.layers.some((L) => L.kind === 'conv' && L.batchNorm === true);
}

/** Values per example a layer outputs. */
export function outputSizeOf(layer: NativeLayer): number {
  return layer.kind === 'dense' ? layer.outSize : sizeOf(layer.outShape);
}

/**
 * Fills in a description's inferred fields (inShape, outShape, inSize, dropout 0) from the shape chain,
 * as the addon does; declared shapes are recomputed, not trusted (the addon checks them). No checks:
 * the addon (or planNetwork, for a spec) is what rejects an impossible network.
 */
export function describeNetwork(desc: NetworkDesc): NativeNetworkDesc {
  let shape: Shape3 = [...desc.inputShape];
  const layers = desc.layers.map((L): NativeLayer => {
    const inShape = shape;
    if (L.kind === 'conv') {
      shape = convOut(inShape, L.kernel, L.filters);
      return {
        kind: 'conv', inShape, outShape: shape, filters: L.filters, kernel: L.kernel, activation: L.activation,
        ...(L.batchNorm ? { batchNorm: true as const } : {}),
      };
    }
    if (L.kind === 'pool') {
      shape = poolOut(inShape);
      return { kind: 'pool', inShape, outShape: shape, mode: L.mode };
    }
    shape = [1, 1, L.outSize];
    return {
      kind: 'dense', inSize: sizeOf(inShape), outSize: L.outSize, activation: L.activation, dropout: L.dropout ?? 0,
      ...(L.dropoutStyle !== undefined ? { dropoutStyle: L.dropoutStyle } : {}),
    };
  });
  return { inputShape: [...desc.inputShape], layers, cost: desc.cost };
}

/**
 * The parameter layout (native/README.md, "Data layout"): for each dense/conv layer in order, W then
 * b; dense W is [out][in], conv W is [filters][k][k][inC]. Takes a hand-written description too.
 */
export function paramLayout(desc: NetworkDesc): ParamLayout {
  const layers = describeNetwork(desc).layers;
  const segments: ParamSegment[] = [];
  let offset = 0;
  layers.forEach((L, i) => {
    if (L.kind === 'pool') return;
    let weightShape: number[], fanOut: number;
    if (L.kind === 'conv') {
      weightShape = [L.filters, L.kernel, L.kernel, L.inShape[2]];
      // network3's ConvPoolLayer: n_out = filters·k·k / pool area (a conv layer there always pools)
      fanOut = (L.filters * L.kernel * L.kernel) / (layers[i + 1]?.kind === 'pool' ? 4 : 1);
    } else {
      weightShape = [L.outSize, L.inSize];
      fanOut = L.outSize;
    }
    const biasLength = weightShape[0]!;
    const weightLength = weightShape.reduce((a, b) => a * b, 1);
    const normLength = L.kind === 'conv' && L.batchNorm ? 3 * L.filters : 0;
    segments.push({
      layer: i, kind: L.kind, weightOffset: offset, weightLength, biasOffset: offset + weightLength, biasLength,
      fanIn: weightLength / biasLength, fanOut, weightShape, activation: L.activation,
      ...(normLength ? { norm: { offset: offset + weightLength + biasLength, length: normLength } } : {}),
    });
    offset += weightLength + biasLength + normLength;
  });
  return { segments, paramCount: offset };
}

/**
 * Infers shapes and the parameter layout; throws SpecError naming the layer at fault.
 * Pooling is 2×2 stride 2 and requires an even input size: we reject odd sizes rather than
 * silently dropping a row and column (Theano's ignore_border floor) so the spec says what runs.
 */
export function planNetwork(network: NetworkSpec): NetworkPlan {
  const issues: SpecIssue[] = [];
  const layers: NativeLayer[] = [];
  let shape: Shape3 | null = [...INPUT_SHAPE];
  let size: number = sizeOf(shape);
  const last = network.layers.length - 1;

  network.layers.forEach((layer, i) => {
    const at = (field: string) => `network.layers.${i}.${field}`;
    if (layer.type === 'conv' || layer.type === 'pool') {
      if (shape === null) {
        issues.push({ path: at('type'), message: `a ${layer.type} layer cannot follow a dense layer (its input is flat)` });
        return;
      }
      const [h, w] = shape;
      if (layer.type === 'conv') {
        if (layer.kernel > h || layer.kernel > w) {
          issues.push({ path: at('kernel'), message: `kernel ${layer.kernel} is larger than its ${h}×${w} input` });
          return;
        }
        const out = convOut(shape, layer.kernel, layer.filters);
        layers.push({
          kind: 'conv', inShape: shape, outShape: out, filters: layer.filters, kernel: layer.kernel, activation: layer.activation,
          ...(layer.batchNorm ? { batchNorm: true as const } : {}),
        });
        shape = out;
      } else {
        if (h < 2 || w < 2 || h % 2 !== 0 || w % 2 !== 0) {
          issues.push({ path: at('kind'), message: `2×2 pooling needs an even input size of at least 2, got ${h}×${w}` });
          return;
        }
        const out = poolOut(shape);
        layers.push({ kind: 'pool', inShape: shape, outShape: out, mode: layer.kind });
        shape = out;
      }
      size = sizeOf(shape);
      return;
    }
    // dense
    if (layer.activation === 'softmax' && i !== last) {
      issues.push({ path: at('activation'), message: 'softmax is only allowed in the last layer' });
    }
    layers.push({
      kind: 'dense', inSize: size, outSize: layer.units, activation: layer.activation, dropout: layer.dropout ?? 0,
      ...(dropoutStyleOf(network) === 'network3' ? { dropoutStyle: 'network3' as const } : {}),
    });
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
  const desc: NativeNetworkDesc = { inputShape: [...INPUT_SHAPE], layers, cost: network.cost };
  // with issues above, the layers that were laid out (the count is still the one to report)
  const { segments, paramCount } = paramLayout(desc);
  if (paramCount > LIMITS.params) {
    issues.push({ path: 'network.layers', message: `the network has ${paramCount} parameters, more than the limit of ${LIMITS.params}` });
  }
  if (issues.length > 0) throw new SpecError(issues);
  return { desc, segments, paramCount };
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
