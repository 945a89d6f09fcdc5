// The frame around a checkpoint on disk: a SHA-256 of the payload (the engine's encoded
// checkpoint, whatever fields it holds), so a file damaged on disk or cut short is refused
// instead of resumed. The payload is opaque here: the engine's format can grow fields without
// touching this layer. Format (version 1, integers little-endian):
//   0   8 bytes  magic "NNDLCKSF"
//   8   u32      frame version (1)
//   12  u32      0 (reserved)
//   16  u64      payload byte length
//   24  32 bytes SHA-256 of the payload
//   56  payload
import { createHash } from 'node:crypto';

const MAGIC = Buffer.from('NNDLCKSF', 'ascii');
/** Magic of an unframed checkpoint, as written before the frame existed (no checksum). */
const LEGACY_MAGIC = Buffer.from('NNDLCKPT', 'ascii');
export const CHECKPOINT_FRAME_VERSION = 1;
const HEADER_BYTES = 56;

/** A checkpoint file that must not be resumed: wrong checksum, cut short, unknown frame. */
export class CheckpointCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointCorruptError';
  }
}

export function frameCheckpoint(payload: Uint8Array): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(CHECKPOINT_FRAME_VERSION, 8);
  header.writeBigUInt64LE(BigInt(payload.byteLength), 16);
  createHash('sha256').update(payload).digest().copy(header, 24);
  return Buffer.concat([header, payload]);
}

/**
 * The verified payload of a framed checkpoint. An unframed one from before the frame existed is
 * returned as it is (`checksummed: false`): the engine's decoder still checks its structure.
 */
export function unframeCheckpoint(file: Buffer): { payload: Buffer; checksummed: boolean } {
  if (file.length >= 8 && file.subarray(0, 8).equals(LEGACY_MAGIC)) return { payload: file, checksummed: false };
  if (file.length < HEADER_BYTES || !file.subarray(0, 8).equals(MAGIC)) {
    throw new CheckpointCorruptError(`not a checkpoint file (${file.length} bytes, bad magic)`);
  }
  const version = file.readUInt32LE(8);
  if (version !== CHECKPOINT_FRAME_VERSION) throw new CheckpointCorruptError(`unsupported checkpoint frame version ${version}`);
  const length = file.readBigUInt64LE(16);
  const payload = file.subarray(HEADER_BYTES);
  if (BigInt(payload.length) !== length) {
    throw new CheckpointCorruptError(`checkpoint cut short or padded: ${payload.length} payload bytes, the frame says ${length}`);
  }
  const expected = file.subarray(24, HEADER_BYTES);
  const actual = createHash('sha256').update(payload).digest();
  if (!actual.equals(expected)) {
    throw new CheckpointCorruptError(`checkpoint checksum mismatch (SHA-256 ${actual.toString('hex')}, expected ${expected.toString('hex')})`);
  }
  return { payload, checksummed: true };
}
