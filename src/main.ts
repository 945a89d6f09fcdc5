// `npm start`: the whole service on one machine — the API (src/server.ts) and one training
// worker (workers/train.worker.ts), each its own process so training never shares an event
// loop with requests. Signals are forwarded; when either process dies the other is stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decideAuth } from './auth/auth-mode.ts';
import { KeyStore } from './auth/key-store.ts';
import { loadConfigOrExit } from './config/env.ts';
import { assertRedisReachable } from './queue/index.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const SHUTDOWN_GRACE_MS = 35_000;

function start(name: string, script: string): ChildProcess {
  // Own process group (detached): a terminal's Ctrl-C reaches only us, and we forward it once —
  // a second SIGINT would make the children skip their graceful shutdown. The IPC channel lets
  // the worker notice if we die without forwarding anything.
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    env: process.env,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    detached: true,
  });
  child.on('error', (err) => console.error(`${name}: could not start: ${err.message}`));
  return child;
}

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  try {
    // the API would refuse these too; saying it here starts no worker for nothing
    decideAuth(config, await KeyStore.load(config));
    await assertRedisReachable(config.REDIS_URL);
  } catch (err) {
    console.error(`nndl: ${(err as Error).message}`);
    process.exit(1);
  }

  const children = new Map<string, ChildProcess>([
    ['api', start('api', 'src/server.ts')],
    ['worker', start('worker', 'workers/train.worker.ts')],
  ]);
  let stopping = false;
  let exitCode = 0;

  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    setTimeout(() => {
      for (const child of children.values()) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, SHUTDOWN_GRACE_MS).unref();
  };

  for (const [name, child] of children) {
    child.on('exit', (code, signal) => {
      children.delete(name);
      if (!stopping) {
        console.error(`nndl: ${name} exited (${signal ?? `code ${code}`}); stopping the rest`);
        exitCode = code || 1;
        stopAll('SIGTERM');
      }
      if (children.size === 0) process.exit(exitCode);
    });
  }
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => stopAll(sig));
  console.log(`nndl: api on http://${config.HOST}:${config.PORT}, one worker; Ctrl-C stops both`);
}

main().catch((err: Error) => {
  console.error(`nndl: ${err.stack ?? err.message}`);
  process.exit(1);
});
