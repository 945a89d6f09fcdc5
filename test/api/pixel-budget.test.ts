// The request's pixel budget reads each image's size from its header: the same figure sharp reads,
// for PNG and for baseline and progressive JPEG; and it refuses exactly past the budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { headerPixels, PixelBudget } from '../../src/api/predict/pixel-budget.ts';
import { ApiError } from '../../src/errors.ts';

test('header sizes agree with sharp for PNG and JPEG (baseline, progressive, with EXIF), and a cut header says null', async () => {
  const base = () => sharp({ create: { width: 321, height: 123, channels: 3, background: '#808080' } });
  const files: [string, Buffer, 'png' | 'jpeg'][] = [
    ['png', await base().png().toBuffer(), 'png'],
    ['jpeg', await base().jpeg().toBuffer(), 'jpeg'],
    ['progressive jpeg', await base().jpeg({ progressive: true }).toBuffer(), 'jpeg'],
    ['jpeg with EXIF', await base().withMetadata({ orientation: 6 }).jpeg().toBuffer(), 'jpeg'],
  ];
  for (const [what, bytes, format] of files) {
    const m = await sharp(bytes).metadata();
    assert.equal(headerPixels(bytes, format), m.width! * m.height!, what);
    assert.equal(headerPixels(bytes, format), 321 * 123, what);
  }
  assert.equal(headerPixels(files[1]![1].subarray(0, 20), 'jpeg'), null);
  assert.equal(headerPixels(files[0]![1].subarray(0, 20), 'png'), null);
  const notIhdr = Buffer.from(files[0]![1]);
  notIhdr.write('tEXt', 12, 'latin1'); // a first chunk that is not IHDR says nothing of the size
  assert.equal(headerPixels(notIhdr, 'png'), null);
});

test('the budget refuses the image that would pass it, naming the sum and the limit', () => {
  const b = new PixelBudget(1000);
  b.spend(600);
  b.spend(400); // exactly at the budget
  assert.throws(() => b.spend(1), (e: unknown) => e instanceof ApiError && e.status === 422 && e.code === 'over_budget' && /1,001 pixels/.test(e.message));
});
