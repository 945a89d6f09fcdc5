// The auth plugin: who the caller is (request.principal) and whether the route lets them in.
// - Every request gets `request.principal` from its `Authorization: Bearer <key>` header (or the
//   open principal when the API runs without keys).
// - Every route must declare its rule in schema.security (route-security.ts); a route without
//   one stops the boot, the routes of plugins we do not own included (registerPublic marks
//   theirs public). The rule is checked in an onRequest hook, before the body is even read:
//   401 + WWW-Authenticate without a valid key, 403 when the key lacks the scope.
// Register it before any route.
import type { FastifyInstance, FastifyPluginAsync, FastifyPluginCallback, FastifyReply, FastifyRequest, onRequestHookHandler, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { forbidden, unauthorized } from '../errors.ts';
import { bearerToken } from './api-keys.ts';
import type { AuthMode } from './auth-mode.ts';
import type { KeyStore } from './key-store.ts';
import { allows, compileRule, describeRule, type CompiledRule } from './route-security.ts';
import { NO_KEY_PRINCIPAL, OPEN_PRINCIPAL, type Principal } from './scopes.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller: their key's name and scopes (see src/auth/scopes.ts). */
    principal: Principal;
  }
}

export type AuthPluginOptions = {
  mode: AuthMode;
  /** The keys (required in mode `keys`). */
  keys: Pick<KeyStore, 'verify'> | null;
  /** Response schema added as 401/403 to the documented responses of every non-public route. */
  errorSchema?: unknown;
};

const kAuthState = Symbol.for('nndl.auth.state');
type AuthState = { publicDepth: number };

const REALM = 'nndl';

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const authPlugin: FastifyPluginAsync<AuthPluginOptions> = async (app, opts) => {
  if (opts.mode === 'keys' && !opts.keys) throw new Error('auth: mode "keys" needs a key store');
  const state: AuthState = { publicDepth: 0 };
  app.decorate(kAuthState, state);
  app.decorateRequest('principal', null as unknown as Principal);

  const keys = opts.keys;
  const identify = (req: FastifyRequest): Principal => {
    if (opts.mode === 'open' || !keys) return OPEN_PRINCIPAL;
    const token = bearerToken(req.headers.authorization);
    return (token && keys.verify(token)) || NO_KEY_PRINCIPAL;
  };
  app.addHook('onRequest', (req, _reply, done) => {
    req.principal = identify(req);
    done();
  });

  app.addHook('onRoute', (route: RouteOptions) => {
    if (state.publicDepth > 0 && route.schema?.security === undefined) route.schema = { ...route.schema, security: [] };
    const where = `${asArray(route.method).join(',')} ${route.url}`;
    const rule = compileRule(route.schema?.security, where); // throws: the boot stops here
    if (rule !== null && opts.errorSchema && route.schema?.response) {
      const response = route.schema.response as Record<string, unknown>;
      route.schema = { ...route.schema, response: { 401: opts.errorSchema, 403: opts.errorSchema, ...response } };
    }
    // a new array: HEAD routes are built from the same options and must not share it
    route.onRequest = [...asArray(route.onRequest), enforcer(rule)];
  });
};

function enforcer(rule: CompiledRule): onRequestHookHandler {
  if (rule === null) return (_req, _reply, done) => done();
  const accepted = describeRule(rule);
  return (req: FastifyRequest, reply: FastifyReply, done) => {
    const principal = req.principal;
    if (allows(rule, principal)) return done();
    if (principal === NO_KEY_PRINCIPAL) {
      reply.header('www-authenticate', `Bearer realm="${REALM}"`);
      const sent = req.headers.authorization !== undefined;
      return done(
        unauthorized(
          sent
            ? 'the API key is not valid (send Authorization: Bearer <key>)'
            : 'this route needs an API key: send Authorization: Bearer <key>',
        ),
      );
    }
    reply.header('www-authenticate', `Bearer realm="${REALM}", error="insufficient_scope", scope="${rule.flat().join(' ')}"`);
    return done(forbidden(`the key "${principal.name}" lacks the scope this route needs (${accepted})`, { needs: accepted }));
  };
}

export default fp(authPlugin, { name: 'nndl-auth', fastify: '5.x' });

/**
 * Registers a plugin we do not own (static files, Swagger UI, CORS) whose routes carry no rule:
 * every route it adds without one is public. Anything of ours declares its rule itself.
 */
export async function registerPublic<O extends object>(
  app: FastifyInstance,
  plugin: FastifyPluginAsync<O> | FastifyPluginCallback<O>,
  opts: O,
): Promise<void> {
  const state = (app as unknown as Record<symbol, AuthState | undefined>)[kAuthState];
  if (!state) throw new Error('registerPublic: register the auth plugin first');
  state.publicDepth++;
  try {
    await app.register(plugin as FastifyPluginAsync<O>, opts);
  } finally {
    state.publicDepth--;
  }
}
