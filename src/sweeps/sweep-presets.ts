// The book's searches by name: POST /v1/sweeps { "preset": "ch3-eta" } runs one, and any other
// field of the body overrides the preset's (base merged field by field, e.g. a smaller slice).
import type { CreateSweepBody } from './sweep-spec.ts';

export type SweepPreset = { name: string; description: string; request: Omit<CreateSweepBody, 'preset'> };

const PRESETS: SweepPreset[] = [
  {
    name: 'ch3-eta',
    description:
      "Chapter 3's choice of the learning rate: [784,30,10], cross-entropy, λ = 5.0, mini-batches of 10, 30 epochs on the 50,000 " +
      'training images, η = 0.025, 0.25 and 2.5 — the cost falls slowly at 0.025, fastest at 0.25, and oscillates at 2.5',
    request: {
      base: { preset: 'ch3-mlp30-ce', training: { lambda: 5.0, epochs: 30, miniBatchSize: 10 } },
      space: { 'training.eta': { values: [0.025, 0.25, 2.5] } },
      strategy: { type: 'grid' },
      objective: 'validationAccuracy',
      concurrency: 3,
    },
  },
];

export const SWEEP_PRESET_NAMES = PRESETS.map((p) => p.name);

export function getSweepPreset(name: string): SweepPreset | undefined {
  const p = PRESETS.find((x) => x.name === name);
  return p && structuredClone(p);
}

export function listSweepPresets(): SweepPreset[] {
  return PRESETS.map((p) => structuredClone(p));
}
