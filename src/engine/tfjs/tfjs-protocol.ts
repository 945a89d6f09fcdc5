// Messages between the main thread (tfjs-handle.ts) and the tfjs worker (tfjs.worker.ts).
import type { NativeNetworkDesc } from '../network-plan.ts';
import type { TrainEpochJob, TrainEpochResult } from '../backend.ts';
import type { TfBackendName } from './tfjs-loader.ts';

type Base = { id: number; sync?: boolean };
export type TrainJobMessage = Omit<TrainEpochJob, 'images' | 'labels'>;

export type TfjsRequest = Base & (
  | { op: 'info' }
  | { op: 'data'; key: number; bytes: Uint8Array }
  | { op: 'drop'; key: number }
  | { op: 'open'; net: number; desc: NativeNetworkDesc; params: Float32Array; velocity: Float32Array | null }
  | { op: 'dispose'; net: number }
  | { op: 'train'; net: number; images: number; labels: number; job: TrainJobMessage; withVelocity: boolean }
  | { op: 'evaluate'; net: number; images: number; labels: number }
  | { op: 'forward'; net: number; input: Float32Array }
  | { op: 'gradient'; net: number; input: Float32Array; labels: Uint8Array; opts?: { l2?: number; l1?: number; dropoutSeed?: number } }
);

export type TfjsReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { name: string; message: string } };

export type TfjsTrainReply = TrainEpochResult & { params: Float32Array; velocity: Float32Array | null };
export type TfjsInfo = { backend: TfBackendName; gpu: boolean; version: string };
