// Loads TensorFlow.js once per thread, best backend first: @tensorflow/tfjs-node-gpu when it loads
// and sees a GPU, else @tensorflow/tfjs-node when installed, else @tensorflow/tfjs on 'wasm', 'cpu'
// as the last resort. The native packages are optional (not in package.json: their install script
// downloads libtensorflow); GPU images `npm install` them (docker/worker-gpu.Dockerfile).
// NNDL_TFJS_BACKEND=wasm|cpu forces a pure-JS backend (tests, benchmarks).
import type * as TfModule from '@tensorflow/tfjs';
import { engineEnv } from '../../config/engine-env.ts';

export type Tf = typeof TfModule;
export type Tensor = TfModule.Tensor;
export type TfBackendName = 'tfjs-node-gpu' | 'tfjs-node' | 'wasm' | 'cpu';
export type LoadedTf = { tf: Tf; backend: TfBackendName; gpu: boolean; version: string };

let loading: Promise<LoadedTf> | null = null;

async function tryImport(name: string): Promise<Tf | null> {
  try {
    return (await import(name)) as Tf;
  } catch {
    return null;
  }
}

function usesGpu(tf: Tf): boolean {
  // tfjs-node's backend says whether TensorFlow placed ops on a GPU device.
  const b = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  return b.isUsingGpuDevice === true;
}

async function load(): Promise<LoadedTf> {
  const forced = engineEnv().NNDL_TFJS_BACKEND; // wasm | cpu, validated
  if (!forced) {
    const gpuTf = await tryImport('@tensorflow/tfjs-node-gpu');
    if (gpuTf && usesGpu(gpuTf)) return { tf: gpuTf, backend: 'tfjs-node-gpu', gpu: true, version: gpuTf.version.tfjs };
    const nodeTf = gpuTf ?? (await tryImport('@tensorflow/tfjs-node'));
    if (nodeTf) return { tf: nodeTf, backend: 'tfjs-node', gpu: false, version: nodeTf.version.tfjs };
  }
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  if (forced !== 'cpu') {
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return { tf, backend: 'wasm', gpu: false, version: tf.version.tfjs };
      }
    } catch {
      // fall through to cpu
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { tf, backend: 'cpu', gpu: false, version: tf.version.tfjs };
}

/** The loaded TensorFlow.js of this thread (loads on the first call). */
export function loadTf(): Promise<LoadedTf> {
  loading ??= load();
  return loading;
}
