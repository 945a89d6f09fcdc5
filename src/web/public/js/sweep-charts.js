// A sweep's charts with chart.js (window.Chart): every trial's curve on one chart (x: epoch, so a
// promoted trial's curve continues where its rung before stopped), and one scatter per searched
// field of the objective against the field's value (log axis for a log-uniform field, categories
// for names and flags).

const COLORS = ['#1f5fbf', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c2255c', '#5c940d', '#495057', '#364fc7'];
const RUNG_COLORS = ['#8aa7d6', '#1f5fbf', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c2255c'];

export const METRIC_LABELS = { validationAccuracy: 'validation accuracy', validationCost: 'validation cost', trainingCost: 'training cost' };

export class CurvesChart {
  constructor(canvas, metric) {
    this.canvas = canvas;
    this.metric = metric;
    this.series = new Map(); // jobId -> { label, points: Map(epoch -> metrics) }
    this.chart = new window.Chart(canvas, {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false, parsing: false,
        scales: { x: { type: 'linear', title: { display: true, text: 'epoch' }, ticks: { precision: 0 } }, y: { title: { display: true, text: METRIC_LABELS[metric] } } },
        plugins: { legend: { position: 'bottom' } },
      },
    });
  }

  /** A trial's series (created on first use), labelled e.g. "trial 3 · η 0.25". */
  trial(jobId, label, colorIndex) {
    let s = this.series.get(jobId);
    if (!s) {
      const color = COLORS[colorIndex % COLORS.length];
      s = { label, points: new Map(), dataset: { label, data: [], borderColor: color, backgroundColor: color, pointRadius: 2, borderWidth: 2 } };
      this.series.set(jobId, s);
      this.chart.data.datasets.push(s.dataset);
    }
    return s;
  }

  add(jobId, m) {
    const s = this.series.get(jobId);
    if (!s || s.points.has(m.epoch)) return;
    s.points.set(m.epoch, m);
    this.redraw(s);
  }

  setMetric(metric) {
    this.metric = metric;
    this.chart.options.scales.y.title.text = METRIC_LABELS[metric];
    for (const s of this.series.values()) this.redraw(s, false);
    this.chart.update('none');
  }

  redraw(s, update = true) {
    const pct = this.metric === 'validationAccuracy';
    s.dataset.data = [...s.points.values()].sort((a, b) => a.epoch - b.epoch)
      .map((m) => ({ x: m.epoch, y: typeof m[this.metric] === 'number' ? (pct ? +(m[this.metric] * 100).toFixed(2) : m[this.metric]) : null }));
    if (update) this.chart.update('none');
    this.canvas.dataset.points = String([...this.series.values()].reduce((n, x) => n + x.points.size, 0));
    this.canvas.dataset.series = String(this.series.size);
  }
}

export class ScatterChart {
  constructor(canvas, { path, log, categories, objective }) {
    this.canvas = canvas;
    this.path = path;
    this.categories = categories;
    const x = categories
      ? { type: 'category', labels: categories.map(String), title: { display: true, text: path } }
      : { type: log ? 'logarithmic' : 'linear', title: { display: true, text: `${path}${log ? ' (log scale)' : ''}` } };
    this.chart = new window.Chart(canvas, {
      type: 'scatter',
      data: { datasets: [] },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: { x, y: { title: { display: true, text: METRIC_LABELS[objective] } } },
        plugins: { legend: { position: 'bottom' } },
      },
    });
    this.canvas.dataset.scale = categories ? 'category' : log ? 'logarithmic' : 'linear';
  }

  /** trials: [{ params, rung, value }] — one dataset per rung. */
  set(trials, objective) {
    const rungs = [...new Set(trials.map((t) => t.rung))].sort((a, b) => a - b);
    this.chart.data.datasets = rungs.map((r) => ({
      label: rungs.length > 1 ? `rung ${r}` : 'trials',
      data: trials.filter((t) => t.rung === r && typeof t.value === 'number')
        .map((t) => ({ x: this.categories ? String(t.params[this.path]) : t.params[this.path], y: objective === 'validationAccuracy' ? +(t.value * 100).toFixed(2) : t.value })),
      backgroundColor: RUNG_COLORS[r % RUNG_COLORS.length], borderColor: RUNG_COLORS[r % RUNG_COLORS.length], pointRadius: 5,
    }));
    this.chart.update('none');
    this.canvas.dataset.points = String(this.chart.data.datasets.reduce((n, d) => n + d.data.length, 0));
  }
}
