// Which engine backend runs a job that names none (ENGINE_BACKEND): 'native' (the addon), 'tfjs'
// (TensorFlow.js in a worker thread), or 'auto' = tfjs when @tensorflow/tfjs-node-gpu is
// installed and sees a GPU, else native. Only 'auto' with tfjs-node-gpu installed starts the
// tfjs worker to ask (a few seconds, once); otherwise nothing tfjs is loaded.
import { createRequire } from 'node:module';
import type { EngineBackend } from './spec.ts';
import { tfjsInfo } from './tfjs/tfjs-handle.ts';
import type { TfjsInfo } from './tfjs/tfjs-protocol.ts';

export type EngineBackendSetting = EngineBackend | 'auto';

function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}

export async function resolveEngineBackend(setting: EngineBackendSetting): Promise<EngineBackend> {
  if (setting !== 'auto') return setting;
  if (!installed('@tensorflow/tfjs-node-gpu')) return 'native';
  try {
    return (await tfjsInfo()).gpu ? 'tfjs' : 'native';
  } catch {
    return 'native';
  }
}

/** What /readyz and /metrics report: the setting, what it resolves to, and tfjs's backend once loaded. */
export type EngineBackendReport = { setting: EngineBackendSetting; default: EngineBackend; tfjs: TfjsInfo | null };

export async function engineBackendReport(setting: EngineBackendSetting): Promise<EngineBackendReport> {
  const resolved = await resolveEngineBackend(setting);
  // Only ask tfjs (starting its worker) where tfjs is the default: an API process stays lean.
  const tfjs = resolved === 'tfjs' ? await tfjsInfo().catch(() => null) : null;
  return { setting, default: resolved, tfjs };
}
