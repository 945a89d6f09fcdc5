// Per-route access rules, declared once in each route's schema in OpenAPI's own words:
//   schema: { security: requireScope('train'), ... }   // a key with `train` (or admin)
//   schema: { security: PUBLIC, ... }                   // no key needed
// The OpenAPI document shows them as they are (components.securitySchemes.bearer plus each
// operation's `security`), and the auth plugin enforces exactly what the document says.
// A rule is a list of alternatives; each alternative lists scopes that are all needed.
import { hasScope, isScope, type Principal, type Scope } from './scopes.ts';

export const SECURITY_SCHEME = 'bearer';

export type SecurityRequirement = Record<string, string[]>;
export type SecurityRule = SecurityRequirement[];

/** No key needed. */
export const PUBLIC: SecurityRule = [];

/** A key with this scope (admin implies every scope). */
export const requireScope = (scope: Scope): SecurityRule => [{ [SECURITY_SCHEME]: [scope] }];

/** A key with any one of these scopes. */
export const requireAnyScope = (...scopes: Scope[]): SecurityRule => scopes.map((s) => ({ [SECURITY_SCHEME]: [s] }));

/** The OpenAPI security scheme the rules refer to. */
export const securitySchemes = {
  [SECURITY_SCHEME]: {
    type: 'http',
    scheme: 'bearer',
    description:
      'An API key: `Authorization: Bearer <key>`. Each operation lists the scope it needs (`predict`, `train` or ' +
      '`admin`; admin implies the others). 401 without a valid key, 403 when the key lacks the scope. When the API ' +
      'runs without keys (on a loopback address, the default), every operation is open.',
  },
} as const;

/** A route's rule in checked form: null = public; else alternatives of required scopes. */
export type CompiledRule = null | Scope[][];

/** Validates a route's `schema.security`; throws a message naming what is wrong or missing. */
export function compileRule(security: unknown, route: string): CompiledRule {
  if (security === undefined) {
    throw new Error(
      `route ${route} declares no access rule: add schema.security (PUBLIC, requireScope(...) or requireAnyScope(...) from src/auth/route-security.ts)`,
    );
  }
  if (!Array.isArray(security)) throw new Error(`route ${route}: schema.security must be an array`);
  if (security.length === 0) return null;
  return security.map((req: unknown) => {
    const entries = typeof req === 'object' && req !== null ? Object.entries(req) : [];
    if (entries.length !== 1 || entries[0]![0] !== SECURITY_SCHEME || !Array.isArray(entries[0]![1])) {
      throw new Error(`route ${route}: each schema.security entry must be { ${SECURITY_SCHEME}: [scopes] }`);
    }
    const scopes = entries[0]![1] as unknown[];
    const bad = scopes.filter((s) => typeof s !== 'string' || !isScope(s));
    if (scopes.length === 0 || bad.length > 0) throw new Error(`route ${route}: unknown or missing scopes in schema.security`);
    return scopes as Scope[];
  });
}

export function allows(rule: CompiledRule, principal: Principal): boolean {
  if (rule === null) return true;
  return rule.some((alternative) => alternative.every((s) => hasScope(principal, s)));
}

/** The scopes a rule accepts, for messages: "train", "predict or train". */
export const describeRule = (rule: Scope[][]): string => rule.map((a) => a.join(' and ')).join(' or ');
