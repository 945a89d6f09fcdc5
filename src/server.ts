// Runs the API: validates the environment and the API keys, checks Redis is there, listens on
// HOST:PORT, and on SIGTERM/SIGINT stops accepting, lets requests in flight finish, closes Redis.
// Refuses to start on a non-loopback HOST without API keys (src/auth/auth-mode.ts).
import { loadSharp } from './api/predict/decode-image.ts';
import { buildApp } from './app.ts';
import { ApiKeyError } from './auth/api-keys.ts';
import { AuthConfigError } from './auth/auth-mode.ts';
import { loadConfigOrExit } from './config/env.ts';
import { onParentGone } from './process/parent-watch.ts';
import { assertRedisReachable } from './queue/index.ts';
import { installBundledAtStart } from './store/bundled-model.ts';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  // the Redis check and building the app overlap: start-up is what /healthz waits for
  const [reachable, built] = await Promise.all([
    assertRedisReachable(config.REDIS_URL).then(() => null, (err: unknown) => err),
    buildApp({ config }).then((app) => ({ app }), (err: unknown) => ({ err })),
  ]);
  if ('err' in built) {
    const { err } = built;
    // a refused configuration is the operator's to fix: the message, not a stack
    if (err instanceof AuthConfigError || err instanceof ApiKeyError) console.error(`nndl api: ${err.message}`);
    else console.error(`nndl api: cannot start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  }
  const { app } = built;
  if (reachable !== null) {
    console.error(`nndl api: ${reachable instanceof Error ? reachable.message : String(reachable)}`);
    process.exit(1);
  }
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    app.log.info({ signal }, 'shutting down: draining requests');
    setTimeout(() => {
      app.log.error({ graceMs: config.SHUTDOWN_GRACE_MS }, 'shutdown took longer than SHUTDOWN_GRACE_MS: exiting');
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS).unref();
    app.close().then(
      () => process.exit(0),
      (err) => {
        app.log.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Started by src/main.ts: when it goes (even SIGKILLed), so do we.
  onParentGone(() => shutdown('parent exited'));
  // a fresh store gets the bundled model as `default` before the first request (once per store)
  await installBundledAtStart(config, app.log);
  try {
    await app.listen({ host: config.HOST, port: config.PORT });
  } catch (err) {
    console.error(`nndl api: cannot listen on ${config.HOST}:${config.PORT}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  void loadSharp(); // the image library, loaded once we already answer

}

await main();
