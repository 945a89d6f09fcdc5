// 28×28 pixel arrays (MNIST scale: 0 background … 1 ink) drawn as images: white ink on
// black, like the data the network learns from; CSS scales the canvas up without blur.

export function drawPixels(canvas, pixels) {
  canvas.width = 28;
  canvas.height = 28;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(Math.max(0, Math.min(1, pixels[i] ?? 0)) * 255);
    img.data[i * 4] = v;
    img.data[i * 4 + 1] = v;
    img.data[i * 4 + 2] = v;
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** A new canvas showing the pixels, with an accessible name. */
export function pixelCanvas(pixels, label) {
  const canvas = document.createElement('canvas');
  canvas.className = 'pixels';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  drawPixels(canvas, pixels);
  return canvas;
}
