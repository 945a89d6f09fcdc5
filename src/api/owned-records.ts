// What the jobs and sweeps routes share about their records: each belongs to the key that submitted
// it (`owner`); a `train` key sees only its own (another key's is a 404 to it, as if absent) and
// `admin` sees every one; and the records live in Redis, so Redis down is the service's state, not
// a bug: 503, so clients and balancers retry.
import type { FastifyRequest } from 'fastify';
import { hasScope, principalOf } from '../auth/scopes.ts';
import { serviceUnavailable } from '../errors.ts';
import { isRedisUnavailable } from '../queue/index.ts';

/** admin sees every record; anyone else only the records their key submitted. */
export const seesAll = (req: FastifyRequest): boolean => hasScope(principalOf(req), 'admin');

export const visibleTo = <R extends { owner?: string }>(req: FastifyRequest, rec: R | null): rec is R =>
  rec !== null && (seesAll(req) || rec.owner === principalOf(req).name);

/** A list's owner filter: none for admin, the caller's own records for anyone else. */
export const ownerFilter = (req: FastifyRequest): { owner?: string } => (seesAll(req) ? {} : { owner: principalOf(req).name });

/** `p`, with Redis unreachable turned into 503 `unavailable`. */
export const available = <T>(p: Promise<T>): Promise<T> =>
  p.catch((err: unknown) => {
    if (isRedisUnavailable(err)) throw serviceUnavailable('the job queue is unavailable (Redis); try again shortly');
    throw err;
  });
