// npm run openapi        writes openapi/openapi.json from the route schemas
// npm run openapi:check  fails (exit 1) when the checked-in document is stale
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateOpenApiDocument, OPENAPI_PATH } from '../src/api/openapi-document.ts';

const mode = process.argv[2];
if (mode !== '--write' && mode !== '--check') {
  console.error('usage: openapi.ts --write | --check');
  process.exit(2);
}
const doc = await generateOpenApiDocument();
if (mode === '--write') {
  await mkdir(dirname(OPENAPI_PATH), { recursive: true });
  await writeFile(OPENAPI_PATH, doc);
  console.log(`wrote ${OPENAPI_PATH} (${Object.keys(JSON.parse(doc).paths).length} paths)`);
} else {
  const current = await readFile(OPENAPI_PATH, 'utf8').catch(() => null);
  if (current !== doc) {
    console.error(`${OPENAPI_PATH} is stale: run \`npm run openapi\` and commit the result`);
    process.exit(1);
  }
  console.log(`${OPENAPI_PATH} is up to date`);
}
process.exit(0);
