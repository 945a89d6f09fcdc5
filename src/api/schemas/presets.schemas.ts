// The book's experiments by name.
import { z } from 'zod';
import { JobCostSchema } from './jobs.schemas.ts';
import { ExperimentSchema } from './common.schemas.ts';

export const PresetSchema = z.object({
  name: z.string(),
  description: z.string(),
  bookAccuracy: z.number().describe('the accuracy the book quotes for this experiment, on the set bookMetric names'),
  bookMetric: z.enum(['test', 'validation']).describe('which data set the book quotes bookAccuracy on: the 10,000 test images, ' +
    'or the 10,000 validation images (chapter 3\'s regularised runs, at their last epoch)'),
  bookRole: z.enum(['reproduce', 'contrast', 'beat']).describe('what bookAccuracy is to this preset: the figure of the book\'s own run it ' +
    'reproduces, the figure of the book run it is a contrast to (chapter 5\'s ReLU variants: the book runs none), or the book\'s best, to beat'),
  experiment: ExperimentSchema,
  cost: JobCostSchema, // the estimated cost of training it as is (see POST /v1/jobs)
});

export const PresetListResponse = z.object({ items: z.array(PresetSchema) });
