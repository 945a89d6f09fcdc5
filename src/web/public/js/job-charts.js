// The book's plots for one job, with chart.js (loaded as a UMD script, window.Chart):
// accuracy and cost per epoch (training and validation), η over time, and the per-layer
// gradient norms on a log scale, and (training.biasGradientImages) chapter 5's speed of learning:
// ‖∂C/∂b‖ of each hidden layer from initialisation (epoch 0) on, one line per layer as the book plots it.

const COLORS = ['#1f5fbf', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c2255c', '#5c940d'];

function lineChart(canvas, { datasets, yTitle, yType = 'linear', percent = false, stepped = false }) {
  const Chart = window.Chart;
  return new Chart(canvas, {
    type: 'line',
    data: {
      labels: [],
      datasets: datasets.map((label, i) => ({
        label,
        data: [],
        borderColor: COLORS[i % COLORS.length],
        backgroundColor: COLORS[i % COLORS.length],
        pointRadius: 2,
        borderWidth: 2,
        stepped,
        spanGaps: true,
      })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { title: { display: true, text: 'epoch' } },
        y: {
          type: yType,
          title: { display: true, text: yTitle },
          ticks: percent ? { callback: (v) => `${v}%` } : {},
        },
      },
      plugins: { legend: { position: 'bottom' } },
    },
  });
}

export class JobCharts {
  /** `canvases`: { accuracy, cost, eta, gradients } canvas elements; `bias` (optional): the speed-of-learning canvas. */
  constructor(canvases, { layers, members, bias = null, hiddenLayers = 0 }) {
    this.canvases = canvases;
    this.members = members;
    this.seen = new Set();
    this.accuracy = lineChart(canvases.accuracy, { datasets: ['training', 'validation'], yTitle: 'accuracy', percent: true });
    this.cost = lineChart(canvases.cost, { datasets: ['training', 'validation'], yTitle: 'cost' });
    this.eta = lineChart(canvases.eta, { datasets: ['η'], yTitle: 'learning rate η', stepped: true });
    const names = Array.from({ length: layers }, (_, i) => `layer ${i + 1}`);
    this.gradients = lineChart(canvases.gradients, { datasets: names, yTitle: '‖∂C/∂w‖', yType: 'logarithmic' });
    this.biasCanvas = bias;
    this.bias = bias
      ? lineChart(bias, { datasets: Array.from({ length: hiddenLayers }, (_, i) => `hidden layer ${i + 1}`), yTitle: '‖∂C/∂b‖', yType: 'logarithmic' })
      : null;
  }

  /** One point of the speed-of-learning chart (its own x axis: it starts at epoch 0, the initialisation). */
  addBias(label, norms) {
    this.bias.data.labels.push(label);
    norms.forEach((g, i) => {
      const ds = this.bias.data.datasets[i];
      if (ds) ds.data.push(g > 0 ? g : null);
    });
  }

  get all() {
    return [this.accuracy, this.cost, this.eta, this.gradients];
  }

  /** Adds one epoch's metrics; replays of an epoch already shown are ignored. */
  add(m) {
    const key = `${m.member ?? 0}:${m.epoch}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    const label = this.members > 1 ? `net ${(m.member ?? 0) + 1} · ${m.epoch}` : String(m.epoch);
    const pct = (v) => (typeof v === 'number' ? +(v * 100).toFixed(2) : null);
    const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    for (const c of this.all) c.data.labels.push(label);
    this.accuracy.data.datasets[0].data.push(pct(m.trainingAccuracy));
    this.accuracy.data.datasets[1].data.push(pct(m.validationAccuracy));
    this.cost.data.datasets[0].data.push(num(m.trainingCost));
    this.cost.data.datasets[1].data.push(num(m.validationCost));
    this.eta.data.datasets[0].data.push(num(m.eta));
    (m.gradientNorms ?? []).forEach((g, i) => {
      const ds = this.gradients.data.datasets[i];
      if (ds) ds.data.push(g > 0 ? g : null); // log scale: zero cannot be drawn
    });
    if (this.bias && m.biasGradientNorms) {
      const prefix = this.members > 1 ? `net ${(m.member ?? 0) + 1} · ` : '';
      if (m.initialBiasGradientNorms) this.addBias(`${prefix}0`, m.initialBiasGradientNorms);
      this.addBias(label, m.biasGradientNorms);
      this.bias.update('none');
      this.biasCanvas.dataset.points = String(this.bias.data.labels.length);
    }
    for (const c of this.all) c.update('none');
    // for people using a screen reader, and for tests: how many epochs each chart shows
    for (const canvas of Object.values(this.canvases)) canvas.dataset.points = String(this.seen.size);
    return true;
  }
}
