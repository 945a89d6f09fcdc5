// The keys file (API_KEYS_FILE, default DATA_DIR/api-keys.json): JSON holding each key's
// name, scopes and the SHA-256 of its secret — never the secret itself. Written by
// `npm run keys` (scripts/keys.ts), read by the API at boot and again whenever it changes.
//   { "version": 1, "keys": [ { "name": "ci", "scopes": ["train", "predict"],
//                                "sha256": "<64 hex digits>", "createdAt": "<ISO 8601>" } ] }
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { ApiKeyError, checkKeyName, type ApiKey } from './api-keys.ts';
import { SCOPES } from './scopes.ts';

const KeyEntrySchema = z.strictObject({
  name: z.string(),
  scopes: z.array(z.enum(SCOPES)).min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'the SHA-256 of the secret as 64 lowercase hex digits'),
  createdAt: z.string().optional(),
});
const KeyFileSchema = z.strictObject({ version: z.literal(1), keys: z.array(KeyEntrySchema) });

export type KeyFileEntry = z.infer<typeof KeyEntrySchema>;
export type KeyFile = z.infer<typeof KeyFileSchema>;

export const emptyKeyFile = (): KeyFile => ({ version: 1, keys: [] });

/** Where the keys file is: API_KEYS_FILE, else DATA_DIR/api-keys.json. */
export function keyFilePath(config: { API_KEYS_FILE?: string | undefined; DATA_DIR: string }): string {
  return resolve(config.API_KEYS_FILE ?? join(config.DATA_DIR, 'api-keys.json'));
}

/** Reads and validates the file; null when it does not exist. Throws ApiKeyError naming the problems. */
export async function readKeyFile(path: string): Promise<KeyFile | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw new ApiKeyError([(err as Error).message], `cannot read the keys file ${path}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ApiKeyError([`not JSON: ${(err as Error).message}`], `the keys file ${path} is invalid`);
  }
  const parsed = KeyFileSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(file)'}: ${i.message}`);
    throw new ApiKeyError(problems, `the keys file ${path} is invalid`);
  }
  const problems = parsed.data.keys.flatMap((k, i) => {
    const p = checkKeyName(k.name);
    return p ? [`keys.${i}: ${p}`] : [];
  });
  if (problems.length > 0) throw new ApiKeyError(problems, `the keys file ${path} is invalid`);
  return parsed.data;
}

export function keysOfFile(file: KeyFile): ApiKey[] {
  return file.keys.map((k) => ({ name: k.name, scopes: k.scopes, hash: Buffer.from(k.sha256, 'hex'), source: 'file' as const }));
}

/**
 * Replaces the file atomically (temp file + rename): a reader sees the old or the new file,
 * never half of one. A new file is created with mode 0600; an existing one keeps its mode.
 */
export async function writeKeyFile(path: string, file: KeyFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const mode = await stat(path).then((s) => s.mode & 0o777, () => 0o600);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(KeyFileSchema.parse(file), null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    await chmod(tmp, mode);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
