// Whether the API requires keys, decided once at boot from HOST, AUTH and the keys found:
//   keys configured                  → keys are required (AUTH=keys, the default)
//   no keys, HOST is a loopback one  → open (only this machine can reach it), said in one log line
//   no keys, any other HOST          → refuse to start, saying how to make a key
//   AUTH=none                        → open on any HOST, with a loud warning
import { isIP } from 'node:net';
import type { KeyStore } from './key-store.ts';

export type AuthMode = 'keys' | 'open';

export type AuthDecision = {
  mode: AuthMode;
  /** The one start-up line that says how the API is protected. */
  message: string;
  /** true when that line is a warning (AUTH=none). */
  warn: boolean;
};

export class AuthConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthConfigError';
  }
}

/** True for addresses only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    if (h === '::1' || /^0{0,4}(:0{0,4}){6}:0{0,3}1$/.test(h)) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
    return mapped ? mapped[1]!.startsWith('127.') : false;
  }
  return false;
}

export const HOW_TO_MAKE_A_KEY =
  'Create a key with `npm run keys -- create admin --scopes admin` (it prints the key once and stores its hash ' +
  'in DATA_DIR/api-keys.json, or API_KEYS_FILE), or set API_KEYS=name:scope+scope:secret (secrets of 32+ characters). ' +
  'To run without keys anyway, set AUTH=none.';

export function decideAuth(config: { HOST: string; PORT: number; AUTH: 'keys' | 'none' }, keys: Pick<KeyStore, 'size' | 'names'>): AuthDecision {
  const where = `${config.HOST}:${config.PORT}`;
  if (config.AUTH === 'none') {
    const ignored = keys.size > 0 ? ` (${keys.size} configured key(s) ignored)` : '';
    return {
      mode: 'open',
      warn: true,
      message: `AUTH=none: the API is OPEN to anyone who can reach ${where} — anyone can delete models and run jobs${ignored}`,
    };
  }
  if (keys.size > 0) {
    return { mode: 'keys', warn: false, message: `API keys required: ${keys.size} key(s) (${keys.names().join(', ')})` };
  }
  if (isLoopbackHost(config.HOST)) {
    return {
      mode: 'open',
      warn: false,
      message: `no API keys: the API is open, reachable only from this machine (${where}); create a key and restart to require keys`,
    };
  }
  throw new AuthConfigError(`refusing to listen on ${where} without API keys: anyone who reaches it could delete models and run jobs. ${HOW_TO_MAKE_A_KEY}`);
}
