// The image file formats predict reads, once: name, media type, signature (magic bytes) and an
// example file. The decoder's sniffing, its messages, the field descriptions and the predict
// input registry (input-formats.ts) are all derived from this list.

export type ImageFormatSpec = {
  /** sharp's name of the format. */
  format: string;
  /** What people call it, in messages: "PNG". */
  name: string;
  mediaType: string;
  /** True when the bytes start with the format's signature. */
  matches(bytes: Buffer): boolean;
  /** An example picture of a digit, served under /static/examples/ (src/web/public/examples/). */
  exampleFile: string;
};

export const IMAGE_FORMATS = [
  {
    format: 'png',
    name: 'PNG',
    mediaType: 'image/png',
    matches: (b: Buffer) => b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a,
    exampleFile: 'seven.png',
  },
  {
    format: 'jpeg',
    name: 'JPEG',
    mediaType: 'image/jpeg',
    matches: (b: Buffer) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
    exampleFile: 'seven.jpg',
  },
] as const satisfies readonly ImageFormatSpec[];

export type ImageFormat = (typeof IMAGE_FORMATS)[number]['format'];

/** "a", "a or b", "a, b or c". */
export function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`;
}

/** "PNG or JPEG". */
export const IMAGE_FORMAT_NAMES = orList(IMAGE_FORMATS.map((f) => f.name));

/** The format by its signature, whatever the request declared; null for anything else. */
export function sniffFormat(bytes: Buffer): ImageFormat | null {
  return IMAGE_FORMATS.find((f) => f.matches(bytes))?.format ?? null;
}
