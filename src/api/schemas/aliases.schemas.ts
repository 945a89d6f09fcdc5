// Alias routes: names such as `default` pointing at model ids.
import { z } from 'zod';

export const AliasListResponse = z
  .record(z.string(), z.string())
  .describe('alias name -> model id');

export const AliasPutBody = z.strictObject({
  modelId: z.string().min(1).max(200).describe('id of an existing model'),
});

export const AliasResponse = z.object({ name: z.string(), modelId: z.string() });
