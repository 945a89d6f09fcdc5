// Parameter layout of a network description: where each parametric layer's weights and biases
// live in the single Float32Array shared with the native addon. Mirrors native/src/network_desc.cc:
// for each dense/conv layer in order, W then b; dense W is [out][in], conv W is [filters][k][k][inC].
import type { NetworkDesc } from './native.ts';

export interface ParamBlock {
  offset: number;
  length: number;
  shape: number[];
}

export interface LayerParams {
  layer: number; // index into desc.layers
  kind: 'dense' | 'conv';
  fanIn: number; // inputs feeding one unit (for weight initialisation)
  weights: ParamBlock;
  biases: ParamBlock;
}

export interface ParamLayout {
  total: number;
  layers: LayerParams[]; // parametric layers only, in order
}

export function paramLayout(desc: NetworkDesc): ParamLayout {
  let [h, w, c] = desc.inputShape;
  let offset = 0;
  const layers: LayerParams[] = [];
  desc.layers.forEach((layer, index) => {
    if (layer.kind === 'pool') {
      h = Math.floor(h / 2);
      w = Math.floor(w / 2);
      return;
    }
    let shape: number[];
    let units: number;
    if (layer.kind === 'dense') {
      const inSize = h * w * c;
      units = layer.outSize;
      shape = [units, inSize];
      h = 1;
      w = 1;
      c = units;
    } else {
      units = layer.filters;
      shape = [units, layer.kernel, layer.kernel, c];
      h = h - layer.kernel + 1;
      w = w - layer.kernel + 1;
      c = units;
    }
    const wLen = shape.reduce((a, b) => a * b, 1);
    const weights = { offset, length: wLen, shape };
    offset += wLen;
    const biases = { offset, length: units, shape: [units] };
    offset += units;
    layers.push({ layer: index, kind: layer.kind, fanIn: wLen / units, weights, biases });
  });
  return { total: offset, layers };
}
