// `npm start`: the whole service on one machine — the API (src/server.ts) and one training
// worker (workers/train.worker.ts), each its own process so training never shares an event
// loop with requests. A worker that dies (killed, out of memory) is started again after a
// backoff while the API keeps answering; only the API dying stops everything. Signals are
// forwarded once; the children watch their IPC channel, so they go even if we are SIGKILLed.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decideAuth } from './auth/auth-mode.ts';
import { KeyStore } from './auth/key-store.ts';
import { loadConfigOrExit } from './config/env.ts';
import { createLogger } from './observability/logger.ts';
import { assertRedisReachable } from './queue/index.ts';
import type { Logger } from 'pino';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Worker restarts wait 1 s, 2 s, 4 s … up to this; a worker that ran a minute resets the wait. */
const RESTART_MAX_DELAY_MS = 30_000;
const RESTART_FIRST_DELAY_MS = 1000;
const STABLE_AFTER_MS = 60_000;

function start(name: string, script: string, log: Logger): ChildProcess {
  // Own process group (detached): a terminal's Ctrl-C reaches only us, and we forward it once —
  // a second SIGINT would make the children skip their graceful shutdown. The IPC channel lets
  // a child notice that we died without forwarding anything (src/process/parent-watch.ts).
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    env: process.env,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    detached: true,
  });
  child.on('error', (err) => log.error({ child: name, err: err.message }, `${name} could not start: ${err.message}`));
  return child;
}

const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  // the supervisor logs as its children do (pino JSON lines, service 'supervisor')
  const log = createLogger('supervisor', config);
  try {
    // the API would refuse these too; saying it here starts no worker for nothing
    decideAuth(config, await KeyStore.load(config));
    await assertRedisReachable(config.REDIS_URL);
  } catch (err) {
    log.fatal((err as Error).message);
    process.exit(1);
  }

  let stopping = false;
  let exitCode = 0;
  let api: ChildProcess | null = null;
  let worker: ChildProcess | null = null;
  let restartTimer: NodeJS.Timeout | null = null;
  let restartDelay = RESTART_FIRST_DELAY_MS;
  let workerRestarts = 0;

  const finishIfDone = () => {
    if (stopping && !api && !worker) process.exit(exitCode);
  };

  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    if (restartTimer) clearTimeout(restartTimer);
    for (const child of [api, worker]) if (child && alive(child)) child.kill(signal);
    // the children have SHUTDOWN_GRACE_MS each to finish; we give them a little more, then kill
    setTimeout(() => {
      for (const child of [api, worker]) if (child && alive(child)) child.kill('SIGKILL');
    }, config.SHUTDOWN_GRACE_MS + 5000).unref();
    finishIfDone();
  };

  const startWorker = () => {
    restartTimer = null;
    const startedAt = Date.now();
    const child = start('worker', 'workers/train.worker.ts', log);
    worker = child;
    child.on('exit', (code, signal) => {
      worker = null;
      if (stopping) return finishIfDone();
      // A job that keeps killing its worker is failed by the worker that picks it up after
      // JOB_MAX_WORKER_DEATHS deaths, so restarting cannot loop forever on one job.
      if (Date.now() - startedAt >= STABLE_AFTER_MS) restartDelay = RESTART_FIRST_DELAY_MS;
      workerRestarts++;
      log.warn({ child: 'worker', code, signal, restart: workerRestarts, restartInMs: restartDelay },
        `worker exited (${signal ?? `code ${code}`}); starting another in ${restartDelay / 1000} s (restart ${workerRestarts}); the API keeps running`);
      restartTimer = setTimeout(startWorker, restartDelay);
      restartDelay = Math.min(restartDelay * 2, RESTART_MAX_DELAY_MS);
    });
  };

  api = start('api', 'src/server.ts', log);
  api.on('exit', (code, signal) => {
    api = null;
    if (!stopping) {
      log.error({ child: 'api', code, signal }, `api exited (${signal ?? `code ${code}`}); stopping the worker`);
      exitCode = code || 1;
      stopAll('SIGTERM');
    }
    finishIfDone();
  });
  startWorker();

  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => stopAll(sig));
  log.info({ url: `http://${config.HOST}:${config.PORT}` }, `api on http://${config.HOST}:${config.PORT}, one worker (restarted if it dies); Ctrl-C stops both`);
}

// before the logger exists (or if it failed): plain text on stderr
main().catch((err: Error) => {
  console.error(`nndl: ${err.stack ?? err.message}`);
  process.exit(1);
});
