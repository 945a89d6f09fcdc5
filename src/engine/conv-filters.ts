// The first convolutional layer's filters of a trained model, as plain numbers: chapter 6's picture of
// what the network learned (the book shows the 20 5×5 filters of its first conv-pool layer). The first
// conv layer always sees one channel (the image itself, or a pooled image), so each filter is a k×k grid.
import { planNetwork } from './network-plan.ts';
import type { TrainedModel } from './training-types.ts';

export type ConvFilters = {
  layer: number;              // index in experiment.network.layers
  member: number;             // ensemble member the weights come from
  members: number;
  kernel: number;             // k: each filter is k×k
  activation: string;
  min: number;                // over all the layer's weights (for one shared grey scale)
  max: number;
  filters: { bias: number; weights: number[][] }[]; // weights[row][col], the addon's W[f][ky][kx][0]
};

export class NoConvLayerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoConvLayerError';
  }
}

/** The first conv layer's filters of member `member`; NoConvLayerError for a model without one; RangeError for a member it lacks. */
export function firstConvFilters(model: TrainedModel, member = 0): ConvFilters {
  const plan = planNetwork(model.experiment.network);
  const segment = plan.segments.find((s) => s.kind === 'conv');
  if (!segment) throw new NoConvLayerError('the model has no convolutional layer (it has no filters to show)');
  if (!Number.isInteger(member) || member < 0 || member >= model.members.length) {
    throw new RangeError(`member ${member} does not exist: the model has ${model.members.length} member(s), 0…${model.members.length - 1}`);
  }
  const params = model.members[member]!.params;
  const [count, k, , channels] = segment.weightShape as [number, number, number, number];
  if (channels !== 1) throw new Error(`the first conv layer has ${channels} input channels, expected 1`);
  let min = Infinity;
  let max = -Infinity;
  const filters = [];
  for (let f = 0; f < count; f++) {
    const weights: number[][] = [];
    for (let y = 0; y < k; y++) {
      const row: number[] = [];
      for (let x = 0; x < k; x++) {
        const w = params[segment.weightOffset + (f * k + y) * k + x]!;
        if (w < min) min = w;
        if (w > max) max = w;
        row.push(w);
      }
      weights.push(row);
    }
    filters.push({ bias: params[segment.biasOffset + f]!, weights });
  }
  return {
    layer: segment.layer, member, members: model.members.length, kernel: k, activation: segment.activation, min, max, filters,
  };
}
