// The tight-crop evaluation (npm run eval:tight): its pictures are what it says (the size, the
// polarity, the ink on all four edges), and the bundled model reads them, both polarities alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { createModelPredictor, loadMnist, loadStoredModel } from '../../src/engine/index.ts';
import { evaluateTightCrops, tightCropPng, TIGHT_CROP_VARIANTS } from '../../src/eval/tight-crops.ts';

test('tight crops: the given size, ink on all four edges, white on black or black on white', async () => {
  const { test: digits } = await loadMnist();
  for (const v of TIGHT_CROP_VARIANTS) {
    const { data, info } = await sharp(await tightCropPng(digits, 0, v)).greyscale().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [v.side, v.side]);
    const inky = (x: number, y: number) => (v.whiteOnBlack ? data[y * v.side + x]! > 128 : data[y * v.side + x]! < 128);
    const edges = [0, 1, 2, 3].map((e) => Array.from({ length: v.side }, (_, i) => (e === 0 ? inky(0, i) : e === 1 ? inky(v.side - 1, i) : e === 2 ? inky(i, 0) : inky(i, v.side - 1))).some(Boolean));
    assert.deepEqual(edges, [true, true, true, true], `${v.name}: ink on the left, right, top and bottom edges`);
    let ink = 0;
    for (let y = 0; y < v.side; y++) for (let x = 0; x < v.side; x++) if (inky(x, y)) ink++;
    assert.ok(ink < data.length * 0.6, `${v.name}: ink is the lesser part (${ink} of ${data.length})`);
  }
});

test('the bundled model reads 40 tight crops of each kind, white on black as well as black on white', async () => {
  const predictor = createModelPredictor(await loadStoredModel('models/bundled'), { threads: 1 });
  const results = await evaluateTightCrops(predictor, (await loadMnist()).test, 40);
  predictor.dispose();
  for (const side of [16, 48, 100]) {
    const [dark, light] = [`tight-${side}-black-on-white`, `tight-${side}-white-on-black`].map((n) => results.find((r) => r.variant === n)!);
    assert.ok(dark!.correct >= 36, `${dark!.variant}: ${dark!.correct} of 40`);
    // white on black was read as dark ink on paper and came out blank ("no digit") for most of them
    assert.ok(light!.correct >= 32 && light!.noDigit <= 4, `${light!.variant}: ${light!.correct} of 40, ${light!.noDigit} without a digit`);
  }
});
