// The tfjs worker thread: TensorFlow.js ops are synchronous, so every TfjsNetwork of the process
// lives here and the main event loop (HTTP, BullMQ lock renewal) keeps turning. Requests arrive on
// one MessagePort and run one at a time, in order; a request marked `sync` also bumps a shared flag
// so a caller blocked in Atomics.wait (gradient/forward, for tests) can read its reply at once.
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { loadTf } from './tfjs-loader.ts';
import { TfjsNetwork } from './tfjs-network.ts';
import type { TfjsRequest } from './tfjs-protocol.ts';

const { port, flag } = workerData as { port: MessagePort; flag: Int32Array };
const nets = new Map<number, TfjsNetwork>();
const data = new Map<number, Uint8Array>();
let queue: Promise<void> = Promise.resolve();

function net(id: number): TfjsNetwork {
  const n = nets.get(id);
  if (!n) throw new Error(`tfjs worker: no network ${id} (disposed?)`);
  return n;
}

function bytes(key: number): Uint8Array {
  const d = data.get(key);
  if (!d) throw new Error(`tfjs worker: no data ${key}`);
  return d;
}

async function handle(req: TfjsRequest): Promise<{ result: unknown; transfer: ArrayBuffer[] }> {
  const { tf, backend, gpu, version } = await loadTf();
  switch (req.op) {
    case 'info': return { result: { backend, gpu, version }, transfer: [] };
    case 'data': data.set(req.key, req.bytes); return { result: null, transfer: [] };
    case 'drop': data.delete(req.key); return { result: null, transfer: [] };
    case 'open': nets.set(req.net, new TfjsNetwork(tf, req.desc, req.params, req.velocity)); return { result: null, transfer: [] };
    case 'dispose': nets.get(req.net)?.dispose(); nets.delete(req.net); return { result: null, transfer: [] };
    case 'train': {
      const n = net(req.net);
      const r = n.trainEpoch({ ...req.job, images: bytes(req.images), labels: bytes(req.labels) });
      const params = new Float32Array(n.paramCount);
      const velocity = req.withVelocity ? new Float32Array(n.paramCount) : null;
      n.getParams(params, velocity);
      return { result: { ...r, params, velocity }, transfer: [params.buffer, ...(velocity ? [velocity.buffer] : [])] };
    }
    case 'evaluate': return { result: net(req.net).evaluate(bytes(req.images), bytes(req.labels)), transfer: [] };
    case 'forward': {
      const out = net(req.net).forward(req.input);
      return { result: out, transfer: [out.buffer as ArrayBuffer] };
    }
    case 'gradient': {
      const g = net(req.net).gradient(req.input, req.labels, req.opts);
      return { result: g, transfer: [g.grad.buffer as ArrayBuffer] };
    }
  }
}

port.on('message', (req: TfjsRequest) => {
  queue = queue.then(async () => {
    try {
      const { result, transfer } = await handle(req);
      port.postMessage({ id: req.id, ok: true, result }, transfer);
    } catch (e) {
      const err = e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
      port.postMessage({ id: req.id, ok: false, error: err });
    }
    if (req.sync) {
      Atomics.add(flag, 0, 1);
      Atomics.notify(flag, 0);
    }
  });
});
parentPort?.postMessage('ready');
