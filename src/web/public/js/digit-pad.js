// A canvas to draw a digit on with mouse, pen or finger (pointer events). Dark ink on
// white paper, like a digit on a sheet: the server's MNIST-style normalisation inverts,
// crops, scales and centres it. Also shows a dropped or chosen photo in place.

const SIZE = 280; // drawing resolution; CSS may show it smaller on a phone
const BRUSH = 20; // ≈ 2 MNIST pixels at 28×28

export class DigitPad {
  /** onChange(kind) is called after every stroke segment ('draw') and on clear ('clear'). */
  constructor(canvas, { onChange } = {}) {
    this.canvas = canvas;
    this.onChange = onChange ?? (() => {});
    canvas.width = SIZE;
    canvas.height = SIZE;
    this.ctx = canvas.getContext('2d');
    this.inked = false;
    this.photo = false;
    this.last = null;
    this.clear(false);
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    for (const type of ['pointerup', 'pointercancel', 'lostpointercapture']) canvas.addEventListener(type, () => this.up());
  }

  /** Blank paper; `notify` false when nothing should react (initial state). */
  clear(notify = true) {
    const { ctx } = this;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, SIZE, SIZE);
    this.inked = false;
    this.photo = false;
    if (notify) this.onChange('clear');
  }

  get isEmpty() {
    return !this.inked;
  }

  /** The pointer's position in canvas pixels, whatever size CSS gives the canvas. */
  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * SIZE, y: ((e.clientY - r.top) / r.height) * SIZE };
  }

  down(e) {
    if (e.button !== undefined && e.button > 0) return; // primary button, touch or pen only
    e.preventDefault();
    if (this.photo) this.clear(false); // drawing replaces a shown photo
    this.canvas.setPointerCapture?.(e.pointerId);
    this.last = this.point(e);
    this.stroke(this.last, this.last);
  }

  move(e) {
    if (!this.last) return;
    e.preventDefault();
    // coalesced events keep fast strokes smooth where the browser batches them
    const events = e.getCoalescedEvents?.() ?? [];
    for (const ev of events.length ? events : [e]) {
      const p = this.point(ev);
      this.stroke(this.last, p);
      this.last = p;
    }
  }

  up() {
    this.last = null;
  }

  stroke(a, b) {
    const { ctx } = this;
    ctx.strokeStyle = '#000';
    ctx.lineWidth = BRUSH;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
    this.inked = true;
    this.onChange('draw');
  }

  /** Shows an image (an uploaded photo) fitted onto the paper. */
  async showImage(blob) {
    const bitmap = await createImageBitmap(blob);
    const scale = Math.min(SIZE / bitmap.width, SIZE / bitmap.height);
    const w = bitmap.width * scale, h = bitmap.height * scale;
    this.clear(false);
    this.ctx.drawImage(bitmap, (SIZE - w) / 2, (SIZE - h) / 2, w, h);
    bitmap.close?.();
    this.photo = true;
    this.inked = true;
  }

  /** The drawing as a PNG, the body POST /predict takes. */
  toPng() {
    return new Promise((resolve, reject) =>
      this.canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas could not be encoded'))), 'image/png'),
    );
  }
}
