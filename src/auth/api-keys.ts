// API keys: the `API_KEYS` format, hashing, generation and constant-time verification.
// A key is a random secret a client sends as `Authorization: Bearer <secret>`; the service
// keeps only its SHA-256 (a 256-bit random secret needs no slow hash) and its name and scopes.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ANONYMOUS, parseScopes, type Principal, type Scope } from './scopes.ts';

export type ApiKey = {
  name: string;
  scopes: readonly Scope[];
  /** SHA-256 of the secret (32 bytes). */
  hash: Buffer;
  /** Where it was defined, for messages: `API_KEYS` or the keys file. */
  source: 'env' | 'file';
};

/** Key names become job/model owners and Redis key parts: kept to a safe alphabet. */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const MIN_SECRET_LENGTH = 32;
/** Longest bearer token even looked at (a longer header is no key of ours). */
export const MAX_SECRET_LENGTH = 512;
/** Visible ASCII without `,` (it separates API_KEYS entries): safe in a header and in .env. */
const SECRET_PATTERN = /^[\x21-\x2b\x2d-\x7e]+$/;
/** Prefix of generated keys, so secret scanners and people recognise them. */
export const KEY_PREFIX = 'nndl_';

export class ApiKeyError extends Error {
  constructor(readonly problems: string[], where: string) {
    super(`${where}:\n` + problems.map((p) => `  ${p}`).join('\n'));
    this.name = 'ApiKeyError';
  }
}

export function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** A new random key: `nndl_` + 43 base64url characters (256 bits). */
export function generateSecret(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** Why a key name is unusable, or null. */
export function checkKeyName(name: string): string | null {
  if (!KEY_NAME_PATTERN.test(name)) return `name ${JSON.stringify(name)}: 1–64 letters, digits, _ . - (starting with a letter or digit)`;
  if (name === ANONYMOUS) return `name "${ANONYMOUS}" is reserved (it is the caller when the API runs without keys)`;
  return null;
}

/** Why a secret is unusable, or null. The message never contains the secret. */
export function checkSecret(secret: string): string | null {
  if (secret.length < MIN_SECRET_LENGTH) return `the secret has ${secret.length} characters; at least ${MIN_SECRET_LENGTH} are needed (make one with \`npm run keys -- create\`)`;
  if (secret.length > MAX_SECRET_LENGTH) return `the secret is longer than ${MAX_SECRET_LENGTH} characters`;
  if (!SECRET_PATTERN.test(secret)) return 'the secret may hold only visible ASCII characters, no spaces or commas';
  return null;
}

/**
 * Parses `API_KEYS`: comma-separated `name:scope+scope:secret` entries (the secret is
 * everything after the second colon). Every problem is reported at once, by entry number
 * and name; secrets never appear in messages.
 */
export function parseApiKeysEnv(text: string | undefined): ApiKey[] {
  if (!text || text.trim() === '') return [];
  const keys: ApiKey[] = [];
  const problems: string[] = [];
  text.split(',').forEach((raw, i) => {
    const entry = raw.trim();
    const at = `entry ${i + 1}`;
    if (entry === '') {
      problems.push(`${at} is empty (a stray comma?)`);
      return;
    }
    const first = entry.indexOf(':');
    const second = first < 0 ? -1 : entry.indexOf(':', first + 1);
    if (second < 0) {
      problems.push(`${at}: expected name:scope+scope:secret`);
      return;
    }
    const name = entry.slice(0, first);
    const label = `${at} (${KEY_NAME_PATTERN.test(name) ? name : 'bad name'})`;
    const nameProblem = checkKeyName(name);
    if (nameProblem) problems.push(`${at}: ${nameProblem}`);
    let scopes: Scope[] = [];
    try {
      scopes = parseScopes(entry.slice(first + 1, second));
    } catch (err) {
      problems.push(`${label}: ${(err as Error).message}`);
    }
    const secret = entry.slice(second + 1);
    const secretProblem = checkSecret(secret);
    if (secretProblem) problems.push(`${label}: ${secretProblem}`);
    if (!nameProblem && !secretProblem && scopes.length > 0) keys.push({ name, scopes, hash: hashSecret(secret), source: 'env' });
  });
  if (problems.length > 0) throw new ApiKeyError(problems, 'API_KEYS is invalid');
  return keys;
}

/** Names must be unique and no two keys may share a secret; throws listing every clash. */
export function assertDistinct(keys: readonly ApiKey[]): void {
  const problems: string[] = [];
  const names = new Map<string, ApiKey>();
  const hashes = new Map<string, ApiKey>();
  for (const k of keys) {
    const byName = names.get(k.name);
    if (byName) problems.push(`key "${k.name}" is defined twice (${byName.source} and ${k.source})`);
    names.set(k.name, k);
    const hex = k.hash.toString('hex');
    const byHash = hashes.get(hex);
    if (byHash) problems.push(`keys "${byHash.name}" and "${k.name}" have the same secret`);
    hashes.set(hex, k);
  }
  if (problems.length > 0) throw new ApiKeyError(problems, 'API keys clash');
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  if (!header || header.length > MAX_SECRET_LENGTH + 16) return null;
  const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  return m ? m[1]! : null;
}

/** A fixed set of keys, checked in constant time. */
export class KeyRing {
  private readonly keys: readonly ApiKey[];
  private readonly principals: readonly Principal[];

  constructor(keys: readonly ApiKey[]) {
    assertDistinct(keys);
    this.keys = keys;
    this.principals = keys.map((k) => Object.freeze({ name: k.name, scopes: new Set(k.scopes), open: false }));
  }

  get size(): number {
    return this.keys.length;
  }

  names(): string[] {
    return this.keys.map((k) => k.name);
  }

  /**
   * The key whose secret this is, or null. The presented secret is hashed and compared with
   * every key's hash by timingSafeEqual, without stopping at a match, so the time taken says
   * nothing about which key (or how much of one) matched.
   */
  verify(secret: string): Principal | null {
    if (secret.length === 0 || secret.length > MAX_SECRET_LENGTH) return null;
    const presented = hashSecret(secret);
    let found = -1;
    for (let i = 0; i < this.keys.length; i++) {
      if (timingSafeEqual(presented, this.keys[i]!.hash)) found = i;
    }
    return found < 0 ? null : this.principals[found]!;
  }
}
