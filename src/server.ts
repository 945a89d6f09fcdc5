// Runs the API: validates the environment, checks Redis is there, listens on HOST:PORT,
// and on SIGTERM/SIGINT stops accepting, lets requests in flight finish, closes Redis.
import { buildApp } from './app.ts';
import { loadConfigOrExit } from './config/env.ts';
import { assertRedisReachable } from './queue/index.ts';

const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  try {
    await assertRedisReachable(config.REDIS_URL);
  } catch (err) {
    console.error(`nndl api: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  const app = await buildApp({ config });
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    closing = true;
    app.log.info({ signal }, 'shutting down: draining requests');
    setTimeout(() => {
      app.log.error('shutdown took too long: exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
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
  try {
    await app.listen({ host: config.HOST, port: config.PORT });
  } catch (err) {
    console.error(`nndl api: cannot listen on ${config.HOST}:${config.PORT}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}

await main();
