// Checkpoint <-> Buffer. Format (version 1, all integers little-endian):
//   0   8 bytes  magic "NNDLCKPT"
//   8   u32      format version (1)
//   12  u32      H = byte length of the JSON header
//   16  H bytes  UTF-8 JSON: every Checkpoint field except the Float32Arrays, plus their lengths
//                (paramsLength, velocityLength|null, completed[i].paramsLength)
//   ..  0–3 zero bytes of padding to a multiple of 4
//   ..  float32 LE arrays, in order: params, velocity (if any), completed[i].params
// Floats are stored bit-exactly, so a resumed run continues from the very same weights.
import { SpecError } from './spec.ts';
import { validateExperiment } from './presets.ts';
import type { Checkpoint } from './training-types.ts';

const MAGIC = Buffer.from('NNDLCKPT', 'ascii');
const VERSION = 1;

export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

const floatsToBuffer = (a: Float32Array) => {
  const copy = new Float32Array(a); // little-endian hosts only (x86, arm64): typed arrays are LE there
  return Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength);
};

export function encodeCheckpoint(c: Checkpoint): Buffer {
  const { params, velocity, completed, ...rest } = c;
  const header = Buffer.from(JSON.stringify({
    ...rest,
    paramsLength: params.length,
    velocityLength: velocity ? velocity.length : null,
    completed: completed.map((m) => ({ history: m.history, paramsLength: m.params.length })),
  }), 'utf8');
  const fixed = Buffer.alloc(16);
  MAGIC.copy(fixed, 0);
  fixed.writeUInt32LE(VERSION, 8);
  fixed.writeUInt32LE(header.length, 12);
  const pad = Buffer.alloc((4 - ((16 + header.length) % 4)) % 4);
  const arrays = [params, ...(velocity ? [velocity] : []), ...completed.map((m) => m.params)].map(floatsToBuffer);
  return Buffer.concat([fixed, header, pad, ...arrays]);
}

export function decodeCheckpoint(b: Buffer): Checkpoint {
  if (b.length < 16 || !b.subarray(0, 8).equals(MAGIC)) throw new CheckpointError('not an nndl checkpoint (bad magic)');
  const version = b.readUInt32LE(8);
  if (version !== VERSION) throw new CheckpointError(`unsupported checkpoint version ${version}`);
  const h = b.readUInt32LE(12);
  if (16 + h > b.length) throw new CheckpointError('truncated checkpoint header');
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- validated field by field below
  let header: Record<string, any>;
  try {
    header = JSON.parse(b.subarray(16, 16 + h).toString('utf8'));
  } catch {
    throw new CheckpointError('corrupt checkpoint header (not JSON)');
  }
  let at = 16 + h + ((4 - ((16 + h) % 4)) % 4);
  const take = (n: unknown): Float32Array => {
    if (!Number.isInteger(n) || (n as number) < 0) throw new CheckpointError('corrupt checkpoint: bad array length');
    const bytes = (n as number) * 4;
    if (at + bytes > b.length) throw new CheckpointError('truncated checkpoint data');
    const out = new Float32Array(n as number);
    new Uint8Array(out.buffer).set(b.subarray(at, at + bytes));
    at += bytes;
    return out;
  };
  const { paramsLength, velocityLength, completed, ...rest } = header;
  if (rest.format !== 'nndl-checkpoint') throw new CheckpointError('corrupt checkpoint: wrong format field');
  const params = take(paramsLength);
  const velocity = velocityLength === null ? null : take(velocityLength);
  const members = (completed as { history: unknown; paramsLength: number }[]).map((m) => ({
    history: m.history as Checkpoint['history'],
    params: take(m.paramsLength),
  }));
  if (at !== b.length) throw new CheckpointError(`corrupt checkpoint: ${b.length - at} trailing bytes`);
  try {
    validateExperiment(rest.experiment);
  } catch (err) {
    if (err instanceof SpecError) throw new CheckpointError(`checkpoint holds an invalid experiment: ${err.message}`);
    throw err;
  }
  return { ...(rest as Omit<Checkpoint, 'params' | 'velocity' | 'completed'>), params, velocity, completed: members };
}
