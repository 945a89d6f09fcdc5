// A conv layer's learned filters drawn as small images, as chapter 6 shows them: one k×k canvas per
// filter, darker = larger weight, on one grey scale for the whole layer (its min white, its max black),
// the same scale as the API's PNG grid. CSS scales the canvases up without blur.

/** A canvas of one filter (weights[row][col]) with an accessible name. */
export function filterCanvas(weights, min, max, label) {
  const k = weights.length;
  const canvas = document.createElement('canvas');
  canvas.width = k;
  canvas.height = k;
  canvas.className = 'filter';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(k, k);
  const span = max - min;
  weights.forEach((row, y) => row.forEach((w, x) => {
    const grey = span > 0 ? Math.round(255 * (1 - (w - min) / span)) : 128;
    const at = (y * k + x) * 4;
    img.data[at] = grey;
    img.data[at + 1] = grey;
    img.data[at + 2] = grey;
    img.data[at + 3] = 255;
  }));
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/** The list of filter images of GET /v1/models/{id}/filters' answer. */
export function filterGrid(answer) {
  const list = document.createElement('ol');
  list.className = 'filters';
  answer.filters.forEach((f, i) => {
    const item = document.createElement('li');
    item.append(filterCanvas(f.weights, answer.min, answer.max, `filter ${i + 1}: ${answer.kernel}×${answer.kernel} weights, bias ${f.bias.toFixed(3)}`));
    list.append(item);
  });
  return list;
}
