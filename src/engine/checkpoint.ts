// Checkpoint <-> Buffer. Format (version 1, all integers little-endian):
//   0   8 bytes  magic "NNDLCKPT"
//   8   u32      format version (1)
//   12  u32      H = byte length of the JSON header
//   16  H bytes  UTF-8 JSON: every Checkpoint field except the Float32Arrays, plus their lengths
//                (paramsLength, velocityLength|null, completed[i].paramsLength, and since keep:
//                best: {epoch, validationAccuracy, paramsLength}|null, completed[i].keptEpoch,
//                completed[i].finalParamsLength|null; absent in older checkpoints = none)
//   ..  0–3 zero bytes of padding to a multiple of 4
//                and since training.average: average: {epochs, paramsLength}|null)
//   ..  float32 LE arrays, in order: params, velocity (if any), completed[i].params, then best.params
//       (if any), completed[i].finalParams (those that have one) and average.params (if any)
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
  const { params, velocity, completed, best, average, ...rest } = c;
  const header = Buffer.from(JSON.stringify({
    ...rest,
    paramsLength: params.length,
    velocityLength: velocity ? velocity.length : null,
    completed: completed.map((m) => ({
      history: m.history, paramsLength: m.params.length,
      ...(m.keptEpoch !== undefined ? { keptEpoch: m.keptEpoch } : {}),
      finalParamsLength: m.finalParams ? m.finalParams.length : null,
    })),
    best: best ? { epoch: best.epoch, validationAccuracy: best.validationAccuracy, paramsLength: best.params.length } : null,
    average: average ? { epochs: average.epochs, paramsLength: average.params.length } : null,
  }), 'utf8');
  const fixed = Buffer.alloc(16);
  MAGIC.copy(fixed, 0);
  fixed.writeUInt32LE(VERSION, 8);
  fixed.writeUInt32LE(header.length, 12);
  const pad = Buffer.alloc((4 - ((16 + header.length) % 4)) % 4);
  const arrays = [
    params, ...(velocity ? [velocity] : []), ...completed.map((m) => m.params),
    ...(best ? [best.params] : []), ...completed.flatMap((m) => (m.finalParams ? [m.finalParams] : [])),
    ...(average ? [average.params] : []),
  ].map(floatsToBuffer);
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
  const { paramsLength, velocityLength, completed, best, average, ...rest } = header;
  if (rest.format !== 'nndl-checkpoint') throw new CheckpointError('corrupt checkpoint: wrong format field');
  if (!Array.isArray(completed)) throw new CheckpointError('corrupt checkpoint: completed is not a list');
  const params = take(paramsLength);
  const velocity = velocityLength === null ? null : take(velocityLength);
  type MemberHeader = { history: unknown; paramsLength: number; keptEpoch?: number; finalParamsLength?: number | null };
  const members: Checkpoint['completed'] = (completed as MemberHeader[]).map((m) => ({
    history: m.history as Checkpoint['history'],
    params: take(m.paramsLength),
    ...(Number.isInteger(m.keptEpoch) ? { keptEpoch: m.keptEpoch } : {}),
  }));
  const bestEpoch: Checkpoint['best'] = best
    ? { epoch: Number(best.epoch), validationAccuracy: Number(best.validationAccuracy), params: take(best.paramsLength) }
    : null;
  (completed as MemberHeader[]).forEach((m, i) => {
    if (m.finalParamsLength !== undefined && m.finalParamsLength !== null) members[i]!.finalParams = take(m.finalParamsLength);
  });
  const averaged: Checkpoint['average'] = average
    ? { epochs: Number(average.epochs), params: take(average.paramsLength) }
    : null;
  if (averaged && !(Number.isInteger(averaged.epochs) && averaged.epochs >= 1)) throw new CheckpointError('corrupt checkpoint: bad average');
  if (at !== b.length) throw new CheckpointError(`corrupt checkpoint: ${b.length - at} trailing bytes`);
  try {
    validateExperiment(rest.experiment);
  } catch (err) {
    if (err instanceof SpecError) throw new CheckpointError(`checkpoint holds an invalid experiment: ${err.message}`);
    throw err;
  }
  return {
    ...(rest as Omit<Checkpoint, 'params' | 'velocity' | 'completed' | 'best' | 'average'>),
    params, velocity, best: bestEpoch, ...(averaged ? { average: averaged } : {}), completed: members,
  };
}
