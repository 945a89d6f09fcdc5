// The job page's speed-of-learning chart (chapter 5): one line per hidden layer, from the
// initialisation (epoch 0) on. JobCharts' bookkeeping with a stand-in for chart.js (no browser).
import { test } from 'node:test';
import assert from 'node:assert/strict';

type Dataset = { label: string; data: (number | null)[] };
class FakeChart {
  data: { labels: string[]; datasets: Dataset[] };
  options: { scales: { y: { type: string } } };
  constructor(_canvas: unknown, config: { data: { labels: string[]; datasets: Dataset[] }; options: { scales: { y: { type: string } } } }) {
    this.data = config.data;
    this.options = config.options;
  }
  update() {}
}
const canvas = () => ({ dataset: {} as Record<string, string> });

test('JobCharts plots ‖∂C/∂b‖ per hidden layer from epoch 0, on a log scale', async () => {
  (globalThis as unknown as { window: unknown }).window = { Chart: FakeChart };
  // the page's own module, untyped browser JavaScript: loaded by path so TypeScript does not look for types
  const modulePath = '../../src/web/public/js/job-charts.js';
  const { JobCharts } = (await import(modulePath)) as { JobCharts: new (c: unknown, o: unknown) => { add(m: unknown): boolean; bias: unknown } };
  const bias = canvas();
  const charts = new JobCharts(
    { accuracy: canvas(), cost: canvas(), eta: canvas(), gradients: canvas() },
    { layers: 4, members: 1, bias, hiddenLayers: 3 },
  );
  const base = { member: 0, epochs: 2, trainingCost: 1, trainingAccuracy: 0.5, validationCost: 1, validationAccuracy: 0.5, eta: 0.1, gradientNorms: [1, 2, 3, 4] };
  charts.add({ ...base, epoch: 1, initialBiasGradientNorms: [0.012, 0.06, 0.283], biasGradientNorms: [0.02, 0.07, 0.2] });
  charts.add({ ...base, epoch: 2, biasGradientNorms: [0.03, 0.08, 0.1] });
  charts.add({ ...base, epoch: 2, biasGradientNorms: [9, 9, 9] }); // a replay: ignored
  const chart = charts.bias as unknown as FakeChart;
  assert.deepEqual(chart.data.labels, ['0', '1', '2']);
  assert.deepEqual(chart.data.datasets.map((d) => d.label), ['hidden layer 1', 'hidden layer 2', 'hidden layer 3']);
  assert.deepEqual(chart.data.datasets.map((d) => d.data), [[0.012, 0.02, 0.03], [0.06, 0.07, 0.08], [0.283, 0.2, 0.1]]);
  assert.equal(chart.options.scales.y.type, 'logarithmic');
  assert.equal(bias.dataset.points, '3');
  // a job that does not measure it has no such chart
  const plain = new JobCharts({ accuracy: canvas(), cost: canvas(), eta: canvas(), gradients: canvas() }, { layers: 2, members: 1 });
  plain.add({ ...base, epoch: 1 });
  assert.equal(plain.bias, null);
});
