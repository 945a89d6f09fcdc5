// The OpenAPI document as checked in: built from a default-configured app, so it does
// not depend on the environment of whoever generates it.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../app.ts';
import { loadConfig } from '../config/env.ts';

export const OPENAPI_PATH = 'openapi/openapi.json';

export async function generateOpenApiDocument(): Promise<string> {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    REDIS_URL: process.env.REDIS_URL, // only connected to, never written
    DATA_DIR: join(tmpdir(), 'nndl-openapi'),
  });
  const app = await buildApp({ config });
  try {
    await app.ready();
    return JSON.stringify(app.swagger(), null, 2) + '\n';
  } finally {
    await app.close();
  }
}
