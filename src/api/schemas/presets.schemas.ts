// The book's experiments by name.
import { z } from 'zod';
import { ExperimentSchema } from './models.schemas.ts';

export const PresetSchema = z.object({
  name: z.string(),
  description: z.string(),
  bookAccuracy: z.number().describe('test accuracy the book reports for this experiment'),
  experiment: ExperimentSchema,
});

export const PresetListResponse = z.object({ items: z.array(PresetSchema) });
