// Who may do what: the three scopes an API key can carry, and the caller as the routes see it.
//   predict — predict routes; read models, presets and aliases
//   train   — submit jobs; see, follow and cancel its own jobs
//   admin   — everything (delete models, change aliases, any job, /metrics); implies the others

export const SCOPES = ['predict', 'train', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * The caller of a request (`request.principal`): the name of its key and that key's scopes.
 * `open: true` when the API runs without keys (name `anonymous`, every scope).
 */
export type Principal = { name: string; scopes: ReadonlySet<Scope>; open: boolean };

export const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

/** admin implies every scope. */
export function hasScope(principal: Pick<Principal, 'scopes'>, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has('admin');
}

export const ANONYMOUS = 'anonymous';

/** The caller when the API runs open (no keys, loopback, or AUTH=none). */
export const OPEN_PRINCIPAL: Principal = Object.freeze({ name: ANONYMOUS, scopes: new Set<Scope>(SCOPES), open: true });

/**
 * The caller of a request. A Fastify instance without the auth plugin (a route plugin mounted
 * alone, as some tests do) has no access control at all, so its callers are the open principal.
 */
export const principalOf = (req: { principal?: Principal | null }): Principal => req.principal ?? OPEN_PRINCIPAL;

/** A caller without a (valid) key, on a public route of a keyed API. */
export const NO_KEY_PRINCIPAL: Principal = Object.freeze({ name: ANONYMOUS, scopes: new Set<Scope>(), open: false });

/**
 * Parses a scope list ("train+predict", "train,predict"); throws a message naming what is wrong.
 * Duplicates are merged; the result is in SCOPES order.
 */
export function parseScopes(text: string): Scope[] {
  const parts = text.split(/[+,]/).map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new Error(`no scopes given (choose from ${SCOPES.join(', ')})`);
  const bad = parts.filter((s) => !isScope(s));
  if (bad.length > 0) throw new Error(`unknown scope ${bad.map((b) => JSON.stringify(b)).join(', ')} (choose from ${SCOPES.join(', ')})`);
  return SCOPES.filter((s) => parts.includes(s));
}
