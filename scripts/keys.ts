// API keys from the command line (`npm run keys -- ...`): create one (printed once, its SHA-256
// appended to the keys file), list them, revoke one. The keys file is API_KEYS_FILE, else
// DATA_DIR/api-keys.json (created with mode 0600); a running API picks changes up within seconds.
// stdout carries only the result (the key, or JSON), so `KEY=$(npm run -s keys -- create ...)` works;
// explanations go to stderr.
import { parseArgs } from 'node:util';
import { ApiKeyError, checkKeyName, generateSecret, hashSecret, parseApiKeysEnv } from '../src/auth/api-keys.ts';
import { emptyKeyFile, keyFilePath, readKeyFile, writeKeyFile } from '../src/auth/key-file.ts';
import { parseScopes, SCOPES } from '../src/auth/scopes.ts';
import { loadConfig } from '../src/config/env.ts';

const HELP = `usage: npm run keys -- <command> [options]
  create NAME --scopes S[,S...] [--json]   make a key (scopes: ${SCOPES.join(', ')}; admin implies the others);
                                           the key is printed once, only its hash is stored
  list [--json]                            the keys: name, scopes, where defined, when created
  revoke NAME                              remove a key from the keys file
options:
  --file PATH   the keys file (default: API_KEYS_FILE, else DATA_DIR/api-keys.json)
  --json        machine-readable output`;

class UsageError extends Error {}

const say = (line = '') => process.stderr.write(line + '\n');

async function main(argv: string[]): Promise<number> {
  const { values: a, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      scopes: { type: 'string' }, json: { type: 'boolean' }, file: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, name, ...extra] = positionals;
  if (a.help || !command) return console.log(HELP), a.help ? 0 : 2;
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);

  const config = loadConfig(process.env);
  const path = keyFilePath({ API_KEYS_FILE: a.file ?? config.API_KEYS_FILE, DATA_DIR: config.DATA_DIR });
  const envNames = new Set(parseApiKeysEnv(config.API_KEYS).map((k) => k.name));
  const file = (await readKeyFile(path)) ?? emptyKeyFile();

  if (command === 'create') {
    if (!name) throw new UsageError('create needs a NAME');
    const problem = checkKeyName(name);
    if (problem) throw new UsageError(problem);
    if (!a.scopes) throw new UsageError(`create needs --scopes (${SCOPES.join(', ')})`);
    let scopes;
    try {
      scopes = parseScopes(a.scopes);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (file.keys.some((k) => k.name === name)) throw new UsageError(`a key named "${name}" already exists in ${path}; revoke it first or pick another name`);
    if (envNames.has(name)) throw new UsageError(`a key named "${name}" is already defined in API_KEYS`);
    const key = generateSecret();
    const createdAt = new Date().toISOString();
    file.keys.push({ name, scopes, sha256: hashSecret(key).toString('hex'), createdAt });
    await writeKeyFile(path, file);
    if (a.json) {
      console.log(JSON.stringify({ name, scopes, key, file: path, createdAt }));
    } else {
      say(`Created the API key "${name}" (scopes: ${scopes.join(', ')}); its hash is in ${path}.`);
      say('The key is shown only now — store it where its user keeps secrets:');
      console.log(key);
      say(`Use it as:  curl -H "Authorization: Bearer $KEY" http://127.0.0.1:${config.PORT}/v1/models`);
      say('A running API picks it up within seconds (keys mode); an API running open needs a restart.');
    }
    return 0;
  }

  if (command === 'list') {
    if (name) throw new UsageError('list takes no NAME');
    const rows = [
      ...[...envNames].map((n) => {
        const k = parseApiKeysEnv(config.API_KEYS).find((e) => e.name === n)!;
        return { name: n, scopes: [...k.scopes], source: 'API_KEYS', createdAt: null as string | null };
      }),
      ...file.keys.map((k) => ({ name: k.name, scopes: k.scopes, source: path, createdAt: k.createdAt ?? null })),
    ];
    if (a.json) console.log(JSON.stringify({ file: path, keys: rows }));
    else if (rows.length === 0) say(`no keys (API_KEYS is empty, ${path} has none)`);
    else for (const r of rows) console.log(`${r.name.padEnd(24)} ${r.scopes.join('+').padEnd(22)} ${r.createdAt ?? '-'}  ${r.source}`);
    return 0;
  }

  if (command === 'revoke') {
    if (!name) throw new UsageError('revoke needs a NAME');
    const index = file.keys.findIndex((k) => k.name === name);
    if (index < 0) {
      throw new UsageError(envNames.has(name) ? `"${name}" is defined in API_KEYS: remove it there and restart the API` : `no key named "${name}" in ${path}`);
    }
    file.keys.splice(index, 1);
    await writeKeyFile(path, file);
    if (a.json) console.log(JSON.stringify({ name, revoked: true, file: path }));
    else say(`Revoked "${name}" (${path}); a running API stops accepting it within seconds.`);
    return 0;
  }

  throw new UsageError(`unknown command "${command}" (create, list, revoke)`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    const known = err instanceof UsageError || err instanceof ApiKeyError || err.name === 'ConfigError' || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    say(`keys: ${known ? err.message : (err.stack ?? err.message)}`);
    process.exit(1);
  },
);
