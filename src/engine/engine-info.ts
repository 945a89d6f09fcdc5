// engineInfo(): which arithmetic backs the engine here (for /readyz, metrics and benchmarks).
import { nativeInfo } from './backend.ts';
import { defaultThreads } from './trainer.ts';

export type EngineInfo = { backend: 'native'; gemm: 'openblas' | 'portable'; simd: string; threads: number };

export function engineInfo(): EngineInfo {
  const info = nativeInfo();
  return { backend: 'native', gemm: info.gemm, simd: info.simd, threads: defaultThreads() };
}
