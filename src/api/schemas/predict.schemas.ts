// Predict input and output. JSON bodies are validated here; image bodies (raw or
// multipart) are checked by the decoder. The forms of the request body, with their
// documentation, are listed once in ../predict/input-formats.ts.
import { z } from 'zod';
import { IMAGE_FORMAT_NAMES } from '../predict/image-formats.ts';

export const PIXELS = 784;

const pixel = z.number().min(0, { error: 'pixel values must be in [0, 1]' }).max(1, { error: 'pixel values must be in [0, 1]' });

export const PixelsSchema = z
  .array(pixel)
  .length(PIXELS, { error: `exactly ${PIXELS} pixel values are needed (28 rows of 28, row-major)` })
  .describe('28×28 pixels, row-major, MNIST scale: 0 background … 1 full ink; used as given');

export const B64ImageSchema = z.strictObject({
  b64: z.string().min(1).describe(`a ${IMAGE_FORMAT_NAMES} image, base64-encoded, or a data: URL (normalised like MNIST)`),
});

export const PixelsBody = z.strictObject({ pixels: PixelsSchema });

export const InstanceSchema = z.union([PixelsSchema, B64ImageSchema]);

export function instancesBody(maxInstances: number) {
  return z.strictObject({
    instances: z
      .array(z.unknown())
      .min(1, { error: 'instances must not be empty' })
      .max(maxInstances, { error: `at most ${maxInstances} instances per request` }),
  });
}

export const PredictQuery = z.object({
  debug: z
    .enum(['0', '1', 'true', 'false'])
    .optional()
    .transform((v) => v === '1' || v === 'true')
    .describe('1: include the 28×28 input the model saw in each prediction and, for images, a picture of each preprocessing stage'),
});

export const PredictionSchema = z.object({
  digit: z.number().int().min(0).max(9),
  confidence: z.number().describe('probability of the predicted digit'),
  probabilities: z.array(z.number()).length(10).describe('probability of each digit 0…9'),
  input: z.array(z.number()).optional().describe('with ?debug=1: the 784 pixels the model saw'),
  stages: z
    .array(z.object({
      stage: z.string().describe('the stage: decoded, ink, digit component, outline fill, stroke width, mnist 28×28'),
      width: z.number().int(),
      height: z.number().int(),
      png: z.string().describe('the picture after this stage, a data:image/png;base64 URL (ink bright from the ink stage on)'),
      note: z.string().optional().describe('what the stage measured or did, e.g. the slant it removed'),
    }))
    .optional()
    .describe('with ?debug=1, for image instances: the preprocessing, stage by stage'),
});

export const PredictResponse = z.object({
  modelId: z.string(),
  predictions: z.array(PredictionSchema).describe('one per instance, in order'),
});
