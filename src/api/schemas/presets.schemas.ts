// The book's experiments by name.
import { z } from 'zod';
import { jobCost } from './jobs.schemas.ts';
import { ExperimentSchema } from './models.schemas.ts';

export const PresetSchema = z.object({
  name: z.string(),
  description: z.string(),
  bookAccuracy: z.number().describe('test accuracy the book reports for this experiment'),
  experiment: ExperimentSchema,
  cost: jobCost, // the estimated cost of training it as is (see POST /v1/jobs)
});

export const PresetListResponse = z.object({ items: z.array(PresetSchema) });
