// The environment variables the engine reads itself (it also runs outside the service: npm run
// train, reproduce, benchmarks, tests). Part of the one env schema (src/config/env.ts spreads
// engineEnvShape into it, so the service validates them at boot like the rest); the engine reads
// them only through engineEnv(), never process.env.
import { z } from 'zod';

export const engineEnvShape = {
  DATA_DIR: z.string().min(1).default('./data'),
  // Directory holding the four MNIST IDX files; unset: DATA_DIR/mnist (where downloads go).
  MNIST_DIR: z.string().min(1).optional(),
  MNIST_MIRROR: z.string().url().optional(),
  // A download from MNIST_MIRROR: tries per file, time per try (headers and body), largest file
  // accepted (compressed, and again uncompressed). A file is verified before it is kept.
  MNIST_DOWNLOAD_ATTEMPTS: z.coerce.number().int().min(1).default(3),
  MNIST_DOWNLOAD_TIMEOUT_S: z.coerce.number().int().min(1).default(120),
  MNIST_DOWNLOAD_MAX_BYTES: z.coerce.number().int().min(1024).default(64 * 1024 * 1024),
  // Another build of the native addon (e.g. a portable-ISA build under test); path relative to src/engine/.
  NNDL_ADDON_PATH: z.string().min(1).optional(),
  // Forces a pure-JS TensorFlow.js backend (tests, benchmarks) instead of tfjs-node(-gpu).
  NNDL_TFJS_BACKEND: z.enum(['wasm', 'cpu']).optional(),
};

const EngineEnvSchema = z.object(engineEnvShape);
export type EngineEnv = z.infer<typeof EngineEnvSchema>;

/** The engine's variables from process.env, validated (a bad value throws, naming the variable). */
export function engineEnv(env: NodeJS.ProcessEnv = process.env): EngineEnv {
  const r = EngineEnvSchema.safeParse(env);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new RangeError(`${issue.path.join('.')}: ${issue.message}`);
}
