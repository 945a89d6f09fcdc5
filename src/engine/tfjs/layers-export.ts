// A TrainedModel -> TensorFlow.js LayersModel files (model.json + weights.bin), whichever backend
// trained it. Pure conversion, no tfjs import: the topology is a Keras Sequential in tfjs-layers'
// JSON, the weights one float32 shard in manifest order. Layout changes: dense W[out][in] ->
// kernel [in][out]; conv W[f][ky][kx][c] -> kernel [ky][kx][c][f]. The input is [n, 784] (a Reshape
// to 28×28×1 leads when the net starts with a conv); Flatten before a dense keeps our NHWC order.
// L2 pooling has no standard Keras layer (a Lambda is not serialisable): such models are refused.
// A batch-norm conv layer is Conv2D (linear, no bias) + BatchNormalization (γ, β = our bias, the
// running mean and variance, the engine's ε) + Activation.
// Outputs are the network's own activations: /predict additionally normalises non-softmax
// outputs into probabilities (clamp at 0, divide by the sum), which does not change the argmax.
import { BATCH_NORM_EPS, BATCH_NORM_MOMENTUM, planNetwork } from '../network-plan.ts';
import type { TrainedModel } from '../training-types.ts';

export class ExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportError';
  }
}

export type LayersModelFiles = { modelJson: string; weights: Uint8Array };
export type ExportedModel = { files: Record<string, Uint8Array> };

type KerasLayer = { class_name: string; config: Record<string, unknown> };
type WeightSpec = { name: string; shape: number[]; dtype: 'float32' };

const TFJS_LAYERS_VERSION = 'tfjs-layers 4.22.0';

/** One member's parameters as a LayersModel (model.json text + weights.bin bytes). */
export function toLayersModel(model: TrainedModel, member = 0, name = 'nndl'): LayersModelFiles {
  const plan = planNetwork(model.experiment.network);
  const params = model.members[member]?.params;
  if (!params) throw new RangeError(`no member ${member}`);
  const layers: KerasLayer[] = [];
  const specs: WeightSpec[] = [];
  const chunks: Float32Array[] = [];
  let seg = 0;
  let flat = true; // is the current activation [n, features]?
  let first = true;
  const inputShape = (): Record<string, unknown> => (first ? { batch_input_shape: [null, 784] } : {});
  const counts: Record<string, number> = {};
  const nameOf = (kind: string) => `${kind}_${(counts[kind] = (counts[kind] ?? 0) + 1)}`;

  for (const [i, L] of plan.desc.layers.entries()) {
    if (L.kind === 'conv' || L.kind === 'pool') {
      if (flat) {
        layers.push({ class_name: 'Reshape', config: { name: nameOf('reshape'), target_shape: [28, 28, 1], trainable: false, dtype: 'float32', ...inputShape() } });
        first = false;
        flat = false;
      }
      if (L.kind === 'pool') {
        if (L.mode === 'l2') throw new ExportError(`layer ${i} is an L2 pool, which TensorFlow.js has no standard layer for; models with L2 pooling cannot be exported`);
        const cls = L.mode === 'max' ? 'MaxPooling2D' : 'AveragePooling2D';
        layers.push({ class_name: cls, config: { name: nameOf(L.mode === 'max' ? 'max_pooling2d' : 'average_pooling2d'), pool_size: [2, 2], strides: [2, 2], padding: 'valid', data_format: 'channels_last', trainable: true, dtype: 'float32' } });
        continue;
      }
      const s = plan.segments[seg++]!;
      const [f, k, , c] = s.weightShape as [number, number, number, number];
      const lname = nameOf('conv2d');
      const norm = s.norm;
      layers.push({ class_name: 'Conv2D', config: {
        name: lname, filters: f, kernel_size: [k, k], strides: [1, 1], padding: 'valid', data_format: 'channels_last',
        dilation_rate: [1, 1], activation: norm ? 'linear' : L.activation, use_bias: !norm, trainable: true, dtype: 'float32',
      } });
      // [f][ky][kx][c] -> [ky][kx][c][f]
      const src = params.subarray(s.weightOffset, s.weightOffset + s.weightLength);
      const kernel = new Float32Array(s.weightLength);
      for (let fi = 0; fi < f; fi++) for (let p = 0; p < k * k * c; p++) kernel[p * f + fi] = src[fi * k * k * c + p]!;
      specs.push({ name: `${lname}/kernel`, shape: [k, k, c, f], dtype: 'float32' });
      chunks.push(kernel);
      const bias = params.slice(s.biasOffset, s.biasOffset + s.biasLength);
      if (!norm) {
        specs.push({ name: `${lname}/bias`, shape: [f], dtype: 'float32' });
        chunks.push(bias);
        continue;
      }
      const bname = nameOf('batch_normalization');
      layers.push({ class_name: 'BatchNormalization', config: {
        name: bname, axis: -1, momentum: 1 - BATCH_NORM_MOMENTUM, epsilon: BATCH_NORM_EPS, center: true, scale: true,
        trainable: true, dtype: 'float32',
      } });
      const block = (i: number) => params.slice(norm.offset + i * f, norm.offset + (i + 1) * f);
      for (const [w, data] of [['gamma', block(0)], ['beta', bias], ['moving_mean', block(1)], ['moving_variance', block(2)]] as const) {
        specs.push({ name: `${bname}/${w}`, shape: [f], dtype: 'float32' });
        chunks.push(data);
      }
      if (L.activation !== 'linear') {
        layers.push({ class_name: 'Activation', config: { name: nameOf('activation'), activation: L.activation, trainable: true, dtype: 'float32' } });
      }
      continue;
    }
    if (!flat) {
      layers.push({ class_name: 'Flatten', config: { name: nameOf('flatten'), trainable: true, dtype: 'float32' } });
      flat = true;
    }
    const s = plan.segments[seg++]!;
    const [out, inp] = s.weightShape as [number, number];
    const lname = nameOf('dense');
    layers.push({ class_name: 'Dense', config: {
      name: lname, units: out, activation: L.activation, use_bias: true, trainable: true, dtype: 'float32', ...inputShape(),
    } });
    first = false;
    // W[out][in] -> kernel [in][out]
    const src = params.subarray(s.weightOffset, s.weightOffset + s.weightLength);
    const kernel = new Float32Array(s.weightLength);
    for (let o = 0; o < out; o++) for (let j = 0; j < inp; j++) kernel[j * out + o] = src[o * inp + j]!;
    specs.push({ name: `${lname}/kernel`, shape: [inp, out], dtype: 'float32' }, { name: `${lname}/bias`, shape: [out], dtype: 'float32' });
    chunks.push(kernel, params.slice(s.biasOffset, s.biasOffset + s.biasLength));
  }

  const total = chunks.reduce((a, ch) => a + ch.length, 0);
  const weights = new Float32Array(total);
  let at = 0;
  for (const ch of chunks) { weights.set(ch, at); at += ch.length; }
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'nndl',
    convertedBy: null,
    modelTopology: {
      class_name: 'Sequential',
      config: { name, layers },
      keras_version: TFJS_LAYERS_VERSION,
      backend: 'tensor_flow.js',
    },
    weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
    userDefinedMetadata: {
      nndl: { input: 'n × 784 floats in [0, 1], MNIST order', output: outputActivation(model), trainedBy: model.backend, member },
    },
  };
  return { modelJson: JSON.stringify(modelJson), weights: new Uint8Array(weights.buffer) };
}

function outputActivation(model: TrainedModel): string {
  const last = model.experiment.network.layers.at(-1);
  return last?.type === 'dense' ? last.activation : 'linear';
}

/**
 * The files of an export: a single network as model.json + weights.bin; an ensemble as
 * ensemble.json (members and how to combine them) + member-<i>/model.json + member-<i>/weights.bin.
 */
export function exportTfjs(model: TrainedModel, name = 'nndl'): ExportedModel {
  const enc = new TextEncoder();
  if (model.members.length === 1) {
    const m = toLayersModel(model, 0, name);
    return { files: { 'model.json': enc.encode(m.modelJson), 'weights.bin': m.weights } };
  }
  const files: Record<string, Uint8Array> = {};
  model.members.forEach((_, i) => {
    const m = toLayersModel(model, i, `${name}_member_${i}`);
    files[`member-${i}/model.json`] = enc.encode(m.modelJson);
    files[`member-${i}/weights.bin`] = m.weights;
  });
  const manifest = {
    format: 'nndl-tfjs-ensemble', version: 1,
    members: model.members.map((_, i) => ({ modelJson: `member-${i}/model.json` })),
    combine: 'mean of the members\' probabilities (softmax outputs as they are; other outputs clamped at 0 and divided by their sum)',
    testAccuracy: model.testAccuracy,
  };
  files['ensemble.json'] = enc.encode(JSON.stringify(manifest, null, 2));
  return { files };
}
