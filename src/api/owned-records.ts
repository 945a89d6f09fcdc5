// What the jobs and sweeps routes share about their records: each belongs to the key that submitted
// it (`owner`); a `train` key sees only its own (another key's is a 404 to it, as if absent) and
// `admin` sees every one; and the records live in Redis, so Redis down is the service's state, not
// a bug: 503, so clients and balancers retry.
import type { FastifyRequest } from 'fastify';
import { hasScope, principalOf } from '../auth/scopes.ts';
import { notFound, serviceUnavailable } from '../errors.ts';
import { isRedisUnavailable } from '../queue/index.ts';

/** admin sees every record; anyone else only the records their key submitted. */
export const seesAll = (req: FastifyRequest): boolean => hasScope(principalOf(req), 'admin');

export const visibleTo = <R extends { owner?: string }>(req: FastifyRequest, rec: R | null): rec is R =>
  rec !== null && (seesAll(req) || rec.owner === principalOf(req).name);

/**
 * The record (`kind` `id`, as read from the store), if the caller may see it; otherwise 404
 * `not_found`, as if it did not exist: a `train` key learns nothing of another key's records.
 */
export function ownedOr404<R extends { owner?: string }>(req: FastifyRequest, kind: 'job' | 'sweep', id: string, rec: R | null): R {
  if (!visibleTo(req, rec)) throw notFound(`${kind} ${id} not found`);
  return rec;
}

/** The rule as the routes' descriptions state it, in one wording for jobs and sweeps. */
export const OWNERSHIP_NOTE = {
  list: (kind: 'job' | 'sweep') => `A \`train\` key lists only its own ${kind}s; \`admin\` lists every ${kind}.`,
  one: (kind: 'job' | 'sweep') => `Another key's ${kind} is 404 to a \`train\` key; \`admin\` sees every ${kind}.`,
};

/** A list's owner filter: none for admin, the caller's own records for anyone else. */
export const ownerFilter = (req: FastifyRequest): { owner?: string } => (seesAll(req) ? {} : { owner: principalOf(req).name });

/** `p`, with Redis unreachable turned into 503 `unavailable`. */
export const available = <T>(p: Promise<T>): Promise<T> =>
  p.catch((err: unknown) => {
    if (isRedisUnavailable(err)) throw serviceUnavailable('the job queue is unavailable (Redis); try again shortly');
    throw err;
  });
