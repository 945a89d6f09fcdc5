// Model registry responses.
import { z } from 'zod';
import { EpochMetricsSchema, ExperimentSchema, num, Pagination } from './common.schemas.ts';

export const ModelSummarySchema = z.object({
  id: z.string(),
  name: z.string().optional(),
  jobId: z.string().optional(),
  owner: z.string().optional().describe('name of the API key whose job trained it'),
  createdAt: z.string().describe('ISO 8601'),
  preset: z.string().optional(),
  testAccuracy: num().describe('fraction of the 10,000 MNIST test images classified right by the weights kept ' +
    '(training.keep: the best validation epoch\'s or the last epoch\'s), combined as ensemble.combine says'),
  testCost: num(),
  keptEpochs: z.array(z.number().int()).optional()
    .describe('per member, the 1-based epoch whose weights the model holds (its best validation epoch under keep "best-validation")'),
  finalTestAccuracy: num().optional().describe('test accuracy of the last epoch\'s weights (= testAccuracy when those are kept)'),
  finalTestCost: num().optional(),
  backend: z.string(),
  members: z.number().int().describe('networks in the model (> 1 for an ensemble)'),
  trainingSeconds: num(),
  bytes: z.number().int().describe('weights in memory (float32)'),
  aliases: z.array(z.string()).describe('alias names pointing at this model'),
  hasFilters: z.boolean().describe('true for a conv net: GET /v1/models/{id}/filters shows its first conv layer\'s filters'),
});

export const ModelCardSchema = z.object({
  source: z.literal('bundled').describe('where the model came from: bundled with nndl (models/bundled/), installed as `default` at first start'),
  name: z.string(),
  description: z.string().describe('the network'),
  trainedOn: z.string().describe('the data it was trained on, augmentation included'),
  seed: z.number().int(),
  epochs: z.number().int(),
  trainingSeconds: num(),
  mnistTestAccuracy: num().describe('accuracy on the 10,000 MNIST test images'),
  realWorld: z.object({
    set: z.string(),
    accuracy: num().describe('accuracy on the real-world set (npm run eval:realworld)'),
    perCategory: z.record(z.string(), num()),
    command: z.string(),
    preprocessing: z.string().describe('the predict preprocessing the figure was measured with'),
  }).optional(),
  reproduce: z.string().describe('the command that trains it again'),
  sha256: z.string().optional().describe('SHA-256 of its weights.bin, verified before it was installed'),
}).describe('what a model that did not come from a training job says about itself');

export const EnsembleInfoSchema = z.object({
  combine: z.enum(['vote', 'mean']).describe("mean: the members' mean probabilities; vote: one vote per member, ties to the smallest digit"),
  members: z.array(z.object({
    modelId: z.string().describe('the model it was copied from (which may since have been deleted)'),
    name: z.string().optional(),
    testAccuracy: num(),
    members: z.number().int().describe('networks in this member'),
    experiment: ExperimentSchema,
  })),
}).describe('an ensemble made from trained models (POST /v1/ensembles)');

export const ModelDetailSchema = ModelSummarySchema.extend({
  card: ModelCardSchema.optional(),
  experiment: ExperimentSchema.optional().describe('the complete, resolved experiment the model was trained with (absent for an ensemble of models: see `ensemble`)'),
  ensemble: EnsembleInfoSchema.optional(),
  confusion: z.array(z.array(z.number().int())).describe('10×10 test confusion matrix, [actual][predicted]'),
  history: z.array(EpochMetricsSchema).describe('per-epoch training metrics of every member'),
});

export const ModelListQuery = Pagination;
export const ModelListResponse = z.object({
  items: z.array(ModelSummarySchema),
  total: z.number().int(),
  limit: z.number().int(),
  offset: z.number().int(),
});

export const ModelDeleteResponse = z.object({
  id: z.string(),
  deleted: z.literal(true),
  aliasesRemoved: z.array(z.string()),
});
