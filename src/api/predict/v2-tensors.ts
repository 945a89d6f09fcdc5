// Open Inference Protocol tensors <-> nndl's model inputs and predictions. The model has one
// input, `input` FP32 [-1, 784] (MNIST pixels, 0 background … 1 ink, row-major), and two
// outputs, `probabilities` FP32 [-1, 10] and `digit` INT64 [-1]. Tensor data comes as JSON
// (flat or nested, row-major) or, with Triton's binary tensor data extension, as little-endian
// bytes after the JSON header. Every check happens before anything the size of the batch is
// allocated; bad requests are 400 with a message naming the tensor.
import { ApiError, badRequest } from '../../errors.ts';
import type { InferRequest } from '../schemas/inference-v2.schemas.ts';
import type { Prediction } from './predict-service.ts';

export const INPUT_NAME = 'input';
export const PIXELS = 784;
export const OUTPUTS = {
  probabilities: { datatype: 'FP32', shape: [-1, 10] },
  digit: { datatype: 'INT64', shape: [-1] },
} as const;
export type OutputName = keyof typeof OUTPUTS;
const OUTPUT_NAMES = Object.keys(OUTPUTS) as OutputName[];

export const MODEL_INPUTS = [{ name: INPUT_NAME, datatype: 'FP32', shape: [-1, PIXELS] }];
export const MODEL_OUTPUTS = OUTPUT_NAMES.map((name) => ({ name, ...OUTPUTS[name], shape: [...OUTPUTS[name].shape] }));

/** The binary tensor data extension's request parameters we act on. */
const BINARY_SIZE = 'binary_data_size';

export type ParsedInfer = {
  /** n images of 784 floats. */
  images: Float32Array[];
  /** The outputs to return, in order, and whether each goes back as binary data. */
  outputs: { name: OutputName; binary: boolean }[];
};

const bad = (message: string) => badRequest(message);

/** Trailing dimensions that hold one image: 784, 28×28, 28×28×1, 1×28×28. */
function imageDims(shape: number[]): boolean {
  const rest = shape.slice(1);
  const key = rest.join('x');
  return key === '784' || key === '28x28' || key === '28x28x1' || key === '1x28x28';
}

/**
 * The request's images and requested outputs, or a 400 naming what is wrong. `binary` is the
 * body after the JSON header (binary extension), null for a plain JSON request.
 */
export function parseInferRequest(req: InferRequest, binary: Buffer | null, limits: { maxInstances: number }): ParsedInfer {
  if (req.inputs.length !== 1) {
    throw bad(`expected 1 input tensor ("${INPUT_NAME}"), got ${req.inputs.length}`);
  }
  const input = req.inputs[0]!;
  if (input.name !== INPUT_NAME) throw bad(`unexpected inference input '${input.name.slice(0, 64)}': this model takes '${INPUT_NAME}'`);
  if (input.datatype !== 'FP32') {
    throw bad(`unexpected datatype ${input.datatype.slice(0, 32)} for input '${INPUT_NAME}', expecting FP32`);
  }
  const shape = input.shape;
  if (shape.length < 2 || !imageDims(shape)) {
    throw bad(`unexpected shape [${shape.join(', ')}] for input '${INPUT_NAME}', expecting [n, 784] (or [n, 28, 28])`);
  }
  const n = shape[0]!;
  if (n < 1) throw bad(`input '${INPUT_NAME}': the batch is empty (shape [${shape.join(', ')}])`);
  if (n > limits.maxInstances) {
    throw bad(`input '${INPUT_NAME}': batch of ${n} images, at most ${limits.maxInstances} per request (MAX_INSTANCES)`);
  }
  const count = n * PIXELS;
  const binarySize = input.parameters?.[BINARY_SIZE];
  const flat = binarySize !== undefined
    ? fromBinary(binarySize, binary, count)
    : fromJson(input.data, count, shape.length);
  if (binarySize === undefined && binary && binary.length > 0) throw bad('binary data follows the JSON header but no input declares binary_data_size');
  for (let i = 0; i < count; i++) {
    const v = flat[i]!;
    if (!(v >= 0 && v <= 1)) {
      throw bad(`input '${INPUT_NAME}': element ${i} is ${Number.isNaN(v) ? 'not a number' : v}; pixel values must be in [0, 1] (0 background … 1 ink)`);
    }
  }
  const images = Array.from({ length: n }, (_, k) => flat.subarray(k * PIXELS, (k + 1) * PIXELS));
  return { images, outputs: requestedOutputs(req) };
}

/** JSON tensor data, flat or nested (at most one level per dimension), row-major. */
function fromJson(data: unknown, count: number, depth: number): Float32Array {
  if (!Array.isArray(data)) throw bad(`input '${INPUT_NAME}': data must be an array of numbers (row-major, flat or nested)`);
  const out = new Float32Array(count);
  let at = 0;
  const walk = (arr: unknown[], level: number): void => {
    for (const x of arr) {
      if (typeof x === 'number') {
        if (at >= count) throw tooMany(count);
        out[at++] = x;
      } else if (Array.isArray(x) && level < depth) {
        walk(x, level + 1);
      } else {
        throw bad(`input '${INPUT_NAME}': data holds ${Array.isArray(x) ? 'arrays nested deeper than the shape' : `a ${x === null ? 'null' : typeof x}`}; expected numbers`);
      }
    }
  };
  walk(data, 1);
  if (at !== count) throw bad(`input '${INPUT_NAME}': the shape needs ${count} elements, data has ${at}`);
  return out;
}

const tooMany = (count: number) => bad(`input '${INPUT_NAME}': data has more elements than the shape's ${count}`);

/** Binary extension: `count` little-endian float32 values, exactly binary_data_size bytes. */
function fromBinary(size: unknown, binary: Buffer | null, count: number): Float32Array {
  if (!binary) throw bad(`input '${INPUT_NAME}' declares ${BINARY_SIZE} but the request has no binary data (send Inference-Header-Content-Length)`);
  if (size !== count * 4) throw bad(`input '${INPUT_NAME}': ${BINARY_SIZE} is ${String(size).slice(0, 32)}, the shape needs ${count * 4} bytes of FP32`);
  if (binary.length !== count * 4) throw bad(`input '${INPUT_NAME}': ${binary.length} bytes of binary data follow the JSON header, ${count * 4} expected`);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = binary.readFloatLE(i * 4);
  return out;
}

function requestedOutputs(req: InferRequest): ParsedInfer['outputs'] {
  const allBinary = req.parameters?.binary_data_output === true;
  if (!req.outputs || req.outputs.length === 0) return OUTPUT_NAMES.map((name) => ({ name, binary: allBinary }));
  const seen = new Set<string>();
  return req.outputs.map((o) => {
    if (!(OUTPUT_NAMES as string[]).includes(o.name)) {
      throw bad(`unexpected inference output '${o.name.slice(0, 64)}': this model has ${OUTPUT_NAMES.map((x) => `'${x}'`).join(' and ')}`);
    }
    if (seen.has(o.name)) throw bad(`output '${o.name}' is requested twice`);
    seen.add(o.name);
    const b = o.parameters?.binary_data;
    return { name: o.name as OutputName, binary: b === undefined ? allBinary : b === true };
  });
}

export type ResponseTensor = { name: string; shape: number[]; datatype: string; data?: number[]; parameters?: { binary_data_size: number } };

/** The requested outputs of n predictions; binary ones also give their bytes, in order. */
export function outputTensors(predictions: Prediction[], outputs: ParsedInfer['outputs']): { tensors: ResponseTensor[]; binary: Buffer[] } {
  const n = predictions.length;
  const tensors: ResponseTensor[] = [];
  const binary: Buffer[] = [];
  for (const { name, binary: asBinary } of outputs) {
    const shape = name === 'probabilities' ? [n, 10] : [n];
    const { datatype } = OUTPUTS[name];
    if (!asBinary) {
      const data = name === 'probabilities' ? predictions.flatMap((p) => p.probabilities) : predictions.map((p) => p.digit);
      tensors.push({ name, shape, datatype, data });
      continue;
    }
    let bytes: Buffer;
    if (name === 'probabilities') {
      bytes = Buffer.alloc(n * 40);
      predictions.forEach((p, i) => p.probabilities.forEach((v, j) => bytes.writeFloatLE(v, (i * 10 + j) * 4)));
    } else {
      bytes = Buffer.alloc(n * 8);
      predictions.forEach((p, i) => bytes.writeBigInt64LE(BigInt(p.digit), i * 8));
    }
    tensors.push({ name, shape, datatype, parameters: { binary_data_size: bytes.length } });
    binary.push(bytes);
  }
  return { tensors, binary };
}

/** The JSON header of a binary-extension body (Inference-Header-Content-Length bytes) and the rest. */
export function splitBinaryBody(body: Buffer, headerLength: string | string[] | undefined): { header: Buffer; binary: Buffer | null } {
  if (headerLength === undefined) return { header: body, binary: null };
  const text = Array.isArray(headerLength) ? headerLength[0]! : headerLength;
  const len = /^\d{1,12}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isInteger(len) || len < 1 || len > body.length) {
    throw new ApiError(400, 'bad_request', `Inference-Header-Content-Length ${JSON.stringify(text.slice(0, 32))} does not fit the body of ${body.length} bytes`);
  }
  return { header: body.subarray(0, len), binary: body.subarray(len) };
}
