// POST /v1/jobs and POST /v1/sweeps validate only the experiment's outer shape themselves and let the
// engine check the parts (naming the field); the document shows both bodies with the engine's own schema
// of an experiment (component ExperimentRequest). This checks that the document and the validating path
// agree, on the real app and its own /openapi.json: the documented examples are accepted; a body the
// document's schema rejects in an experiment's part is refused with the part named; `base` is the same
// component as the jobs body.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ValidateFunction } from 'ajv/dist/2020.js';
import request from 'supertest';
import { bearer, keysEnv, KEYS } from '../fixtures/api-keys.ts';
import { openApiValidator, type OpenApiValidator } from '../fixtures/openapi-validator.ts';
import { startTestApp, type TestApp } from '../fixtures/test-app.ts';

type Schema = Record<string, unknown> & { example?: unknown; properties?: Record<string, unknown> };
type Doc = {
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref?: string } }> } }>>;
  components: { schemas: Record<string, Schema> };
};

describe('experiment request bodies: the document and the validating path agree', () => {
  let t: TestApp;
  let doc: Doc;
  let validator: OpenApiValidator;
  before(async () => {
    t = await startTestApp('experiment-bodies', keysEnv({ MAX_SWEEP_IMAGE_STEPS: '10000000' }));
    doc = (await request(t.server).get('/openapi.json').expect(200)).body as Doc;
    validator = openApiValidator(doc);
  });
  after(async () => t.close());

  /** The component the route's JSON body is documented as, and its validator. */
  function documentedBody(path: string): { name: string; schema: Schema; validate: ValidateFunction } {
    const ref = doc.paths[path]?.post?.requestBody?.content['application/json']?.schema.$ref;
    assert.ok(ref, `${path}: the JSON body is a component`);
    const name = ref.replace('#/components/schemas/', '');
    return { name, schema: doc.components.schemas[name]!, validate: validator.component(name) };
  }
  const post = (path: string, body: unknown) =>
    request(t.server).post(`${path}?dryRun=true`).set(bearer(KEYS.train)).send(body as object);
  const pathsOf = (res: { body: { error: { details?: { path: string }[] } } }) => (res.body.error.details ?? []).map((d) => d.path);

  test('a sweep\'s base is documented as the jobs body: the same component', () => {
    const jobs = documentedBody('/v1/jobs');
    const sweeps = documentedBody('/v1/sweeps');
    assert.equal(jobs.name, 'ExperimentRequestInput');
    assert.deepEqual(sweeps.schema.properties?.base, { $ref: '#/components/schemas/ExperimentRequestInput' });
    // the experiment's parts are documented field by field, not as opaque objects
    const training = jobs.schema.properties?.training as Schema;
    assert.ok(training.properties && 'eta' in training.properties, 'training is documented with its fields');
  });

  test('the documented examples are valid by the document and accepted by the routes', async () => {
    for (const path of ['/v1/jobs', '/v1/sweeps']) {
      const { schema, validate } = documentedBody(path);
      assert.ok(schema.example, `${path}: the body has an example`);
      assert.ok(validate(schema.example), `${path}: ${validator.ajv.errorsText(validate.errors)}`);
      const res = await post(path, schema.example);
      assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
    }
  });

  test('a part the document\'s schema rejects is refused by the route, the field named', async () => {
    const jobs = documentedBody('/v1/jobs');
    const sweeps = documentedBody('/v1/sweeps');
    const sweep = sweeps.schema.example as Record<string, unknown>;
    const bad: { experiment: Record<string, unknown>; field: string }[] = [
      { experiment: { preset: 'ch1-mlp30', training: { eta: 'fast' } }, field: 'training.eta' },
      { experiment: { preset: 'ch1-mlp30', training: { etaa: 1 } }, field: 'training' },
      { experiment: { preset: 'ch1-mlp30', data: { trainSize: 0 } }, field: 'data.trainSize' },
      { experiment: { preset: 'ch1-mlp30', network: { cost: 'cubic' } }, field: 'network.cost' },
    ];
    for (const { experiment, field } of bad) {
      assert.equal(jobs.validate(experiment), false, `the document rejects ${JSON.stringify(experiment)}`);
      const job = await post('/v1/jobs', experiment).expect(422);
      assert.ok(pathsOf(job).some((p) => p.startsWith(field)), `jobs: ${field} named in ${JSON.stringify(job.body)}`);
      const body = { ...sweep, base: experiment };
      assert.equal(sweeps.validate(body), false, `the document rejects base ${JSON.stringify(experiment)}`);
      const res = await post('/v1/sweeps', body).expect(422);
      assert.ok(pathsOf(res).some((p) => p.startsWith(`base.${field}`)), `sweeps: base.${field} named in ${JSON.stringify(res.body)}`);
    }
    // an unknown top-level field: refused by both, by the outer shape
    assert.equal(jobs.validate({ preset: 'ch1-mlp30', epochs: 3 }), false);
    await post('/v1/jobs', { preset: 'ch1-mlp30', epochs: 3 }).expect(422);
    await post('/v1/sweeps', { ...sweep, base: { preset: 'ch1-mlp30', epochs: 3 } }).expect(422);
  });
});
