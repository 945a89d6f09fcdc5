// POST /v1/ensembles: an ensemble made from trained models.
import { z } from 'zod';
import { COMBINE } from '../../engine/index.ts';

/** Members per ensemble at most: bounds one request's work (each member predicts the 10,000 test images). */
export const MAX_ENSEMBLE_MEMBERS = 16;

export const CreateEnsembleBody = z.strictObject({
  models: z.array(z.string().min(1).max(200))
    .min(2, { error: 'an ensemble needs at least 2 models' })
    .max(MAX_ENSEMBLE_MEMBERS, { error: `at most ${MAX_ENSEMBLE_MEMBERS} models per ensemble` })
    .describe('model ids or alias names, each a different model; any architectures'),
  combine: z.enum(COMBINE).default('mean')
    .describe("mean: average the members' probabilities; vote: each member votes for its digit (ties to the smallest digit)"),
  name: z.string().min(1).max(100).optional().describe('a name shown in /v1/models'),
});
