// A conv layer's filters drawn as one PNG grid, as chapter 6 shows them: one k×k tile per filter,
// darker = larger weight (the book: "darker blocks mean a larger weight"), one grey scale shared by all
// tiles (the layer's min → white, max → black) so tiles can be compared, each weight a scale×scale block.
import sharp from 'sharp';
import type { ConvFilters } from '../engine/index.ts';

/** Tiles per row (the book's 20 filters: two rows of 10). */
export const GRID_COLUMNS = 10;
/** Largest image served: a bound on what one request allocates. */
export const MAX_GRID_PIXELS = 4_194_304;
const GAP_RGB = [214, 222, 235] as const; // a pale blue gap: neither white nor black, so no weight is mistaken for it

export function gridSize(count: number, kernel: number, scale: number): { width: number; height: number; columns: number; rows: number } {
  const columns = Math.min(GRID_COLUMNS, count);
  const rows = Math.ceil(count / columns);
  const gap = Math.max(1, Math.round(scale / 2));
  const tile = kernel * scale;
  return { width: columns * tile + (columns + 1) * gap, height: rows * tile + (rows + 1) * gap, columns, rows };
}

/** The PNG bytes; the caller has checked gridSize against MAX_GRID_PIXELS. */
export async function filterGridPng(f: ConvFilters, scale: number): Promise<Buffer> {
  const { width, height, columns } = gridSize(f.filters.length, f.kernel, scale);
  const gap = Math.max(1, Math.round(scale / 2));
  const tile = f.kernel * scale;
  const rgb = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.set(GAP_RGB, i * 3);
  const span = f.max - f.min;
  f.filters.forEach((filter, n) => {
    const left = gap + (n % columns) * (tile + gap);
    const top = gap + Math.floor(n / columns) * (tile + gap);
    filter.weights.forEach((row, y) => row.forEach((w, x) => {
      const grey = span > 0 ? Math.round(255 * (1 - (w - f.min) / span)) : 128;
      for (let dy = 0; dy < scale; dy++) {
        const at = ((top + y * scale + dy) * width + left + x * scale) * 3;
        rgb.fill(grey, at, at + scale * 3);
      }
    }));
  });
  return sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
