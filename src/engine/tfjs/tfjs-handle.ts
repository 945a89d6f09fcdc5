// The tfjs backend's NetworkHandle on the calling thread: a proxy to the one tfjs worker thread of
// the process (started on first use, unref'd while idle so it never keeps a process alive). The
// parameters stay in the caller's Float32Array: every trainEpoch copies the worker's result back
// into it (and into the velocity), so checkpoints and saveModel work unchanged. Image sets are sent
// to the worker once per Uint8Array (by identity) and dropped there when that array is collected.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { NetworkHandle, TrainEpochJob, TrainEpochResult } from '../backend.ts';
import type { NativeNetworkDesc } from '../network-plan.ts';
import type { TfjsInfo, TfjsReply, TfjsRequest, TfjsTrainReply } from './tfjs-protocol.ts';

const SYNC_TIMEOUT_MS = 120_000;

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;
type Request = DistributiveOmit<TfjsRequest, 'id'>;

class TfjsWorker {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private nextKey = 1;
  private readonly keys = new WeakMap<Uint8Array, number>();
  private readonly dropper = new FinalizationRegistry<number>((key) => this.post({ op: 'drop', key }, false));

  constructor() {
    const { port1, port2 } = new MessageChannel();
    // Node 20 loads a worker's entry before --import hooks apply, so a .ts entry is imported
    // through tsx's API from a tiny JS bootstrap.
    const entry = new URL('./tfjs.worker.ts', import.meta.url).href;
    const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(entry)}); })`;
    this.worker = new Worker(boot, { eval: true, workerData: { port: port2, flag: this.flag }, transferList: [port2] });
    this.port = port1;
    this.port.on('message', (m: TfjsReply) => this.settle(m));
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`the tfjs worker exited (code ${code})`)));
    this.idle();
  }

  private fail(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    if (shared === this) shared = null;
  }

  private idle(): void {
    if (this.pending.size === 0) { this.worker.unref(); this.port.unref(); }
  }

  private settle(m: TfjsReply): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(rebuild(m.error));
    this.idle();
  }

  private post(req: Request, sync: boolean, transfer: ArrayBuffer[] = []): number {
    const id = this.nextId++;
    this.port.postMessage({ ...req, id, sync }, transfer);
    return id;
  }

  call<T>(req: Request, transfer: ArrayBuffer[] = []): Promise<T> {
    this.worker.ref();
    this.port.ref();
    const id = this.post(req, false, transfer);
    return new Promise<T>((resolve, reject) => this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject }));
  }

  /** Blocks this thread until the worker answers (tests: gradient/forward). */
  callSync<T>(req: Request): T {
    const seen = Atomics.load(this.flag, 0);
    const id = this.post(req, true);
    // A dead worker cannot answer, and its exit event cannot fire while we block: give up in time.
    const deadline = Date.now() + SYNC_TIMEOUT_MS;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`the tfjs worker did not answer ${req.op} within ${SYNC_TIMEOUT_MS / 1000} s`);
      Atomics.wait(this.flag, 0, seen, 1000);
      for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
        const reply = m.message as TfjsReply;
        if (reply.id !== id) { this.settle(reply); continue; }
        if (reply.ok) return reply.result as T;
        throw rebuild(reply.error);
      }
    }
  }

  /** The worker's key for an image/label array, sending the bytes (copied) the first time. */
  dataKey(bytes: Uint8Array): number {
    let key = this.keys.get(bytes);
    if (key === undefined) {
      key = this.nextKey++;
      this.keys.set(bytes, key);
      this.dropper.register(bytes, key);
      // a view would clone its whole underlying buffer: send just its bytes
      const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
      this.post({ op: 'data', key, bytes: own }, false);
    }
    return key;
  }
}

function rebuild(e: { name: string; message: string }): Error {
  const Ctor = e.name === 'RangeError' ? RangeError : e.name === 'TypeError' ? TypeError : Error;
  return new Ctor(e.message);
}

let shared: TfjsWorker | null = null;
let nextNet = 1;

function worker(): TfjsWorker {
  shared ??= new TfjsWorker();
  return shared;
}

/** Which TensorFlow.js backend the worker loaded (starts the worker: ~3 s the first time). */
export function tfjsInfo(): Promise<TfjsInfo> {
  return worker().call<TfjsInfo>({ op: 'info' });
}

export function openTfjsNetwork(desc: NativeNetworkDesc, params: Float32Array, velocity: Float32Array | null): NetworkHandle {
  const w = worker();
  const net = nextNet++;
  void w.call({ op: 'open', net, desc, params: params.slice(), velocity: velocity ? velocity.slice() : null }).catch(() => {});
  let disposed = false;
  const alive = () => {
    if (disposed) throw new Error('tfjs network was disposed');
  };
  return {
    async trainEpoch(job: TrainEpochJob): Promise<TrainEpochResult> {
      alive();
      const { images, labels, ...rest } = job;
      const r = await w.call<TfjsTrainReply>({
        op: 'train', net, images: w.dataKey(images), labels: w.dataKey(labels), job: rest, withVelocity: velocity !== null,
      });
      params.set(r.params);
      if (velocity && r.velocity) velocity.set(r.velocity);
      return { batchesDone: r.batchesDone, cancelled: r.cancelled, examples: r.examples, costSum: r.costSum, correct: r.correct, gradNormSum: r.gradNormSum };
    },
    evaluate(images, labels) {
      alive();
      return w.call({ op: 'evaluate', net, images: w.dataKey(images), labels: w.dataKey(labels) });
    },
    predict(input) {
      alive();
      return w.call<Float32Array>({ op: 'forward', net, input });
    },
    gradient(input, labels, opts) {
      alive();
      return w.callSync({ op: 'gradient', net, input, labels, opts });
    },
    forward(input) {
      alive();
      return w.callSync<Float32Array>({ op: 'forward', net, input });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      void w.call({ op: 'dispose', net }).catch(() => {});
    },
  };
}
