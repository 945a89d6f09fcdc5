// The OpenAPI 3.1 document, generated from the route schemas by @fastify/swagger with
// the zod transform. Predict's request body (JSON or image bytes or multipart) cannot be
// one zod schema, so those routes carry `requestBodyContent` for the document only.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { createJsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { registerPublic } from '../auth/auth.plugin.ts';
import { PUBLIC, securitySchemes } from '../auth/route-security.ts';

type TransformInput = Parameters<ReturnType<typeof createJsonSchemaTransform>>[0];

const zodTransform = createJsonSchemaTransform({});

/**
 * A $ref to a zod schema registered in z.globalRegistry under `id`: fastify-type-provider-zod
 * writes each registered schema twice, as read in requests (`<id>Input`) and as answered (`<id>`).
 */
export function componentRef(id: string, io: 'input' | 'output'): { $ref: string } {
  return { $ref: `#/components/schemas/${io === 'input' ? `${id}Input` : id}` };
}

type OpenApiObject = { components?: { schemas?: Record<string, unknown> } } & Record<string, unknown>;

/** Drops the component schemas nothing refers to (the unused half of each input/output pair). */
export function pruneComponents(doc: OpenApiObject): OpenApiObject {
  const schemas = doc.components?.schemas ?? {};
  const used = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const m = k === '$ref' && typeof x === 'string' ? /^#\/components\/schemas\/(.+)$/.exec(x) : null;
        if (m && !used.has(m[1]!)) {
          used.add(m[1]!);
          walk(schemas[m[1]!]);
        } else walk(x);
      }
    }
  };
  walk({ ...doc, components: { ...doc.components, schemas: {} } });
  return { ...doc, components: { ...doc.components, schemas: Object.fromEntries(Object.entries(schemas).filter(([id]) => used.has(id))) } };
}

/**
 * A stable operationId from the method and path, for clients generated from the document:
 * `GET /v1/models/{id}/predict` -> `getModelsByIdPredict` (a route may set its own).
 */
export function operationIdOf(method: string, url: string): string {
  const words = url.split('/').filter((s) => s !== '' && !/^v\d+$/.test(s)).map((s) => {
    const param = /^[{:](\w+)}?$/.exec(s);
    const word = (param ? `by-${param[1]}` : s).replace(/[^A-Za-z0-9]+(.)/g, (_, c: string) => c.toUpperCase());
    return word.charAt(0).toUpperCase() + word.slice(1);
  });
  return method.toLowerCase() + words.join('');
}

function transform(doc: TransformInput) {
  const { requestBodyContent, ...schema } = (doc.schema ?? {}) as Record<string, unknown> & {
    requestBodyContent?: Record<string, Record<string, unknown>>;
  };
  const method = Array.isArray(doc.route.method) ? doc.route.method[0]! : doc.route.method;
  schema.operationId ??= operationIdOf(String(method), doc.url);
  const out = zodTransform({ ...doc, schema } as TransformInput) as { schema: Record<string, unknown>; url: string };
  if (requestBodyContent && !out.schema.hide) {
    const content = Object.fromEntries(
      Object.entries(requestBodyContent).map(([type, { $schema: _drop, ...s }]) => [type, { schema: s }]),
    );
    out.schema = { ...out.schema, body: { content } };
  }
  return out;
}

export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'nndl',
        description:
          "Train the networks of Michael Nielsen's *Neural Networks and Deep Learning* on MNIST and serve their predictions. " +
          'Errors always have the shape `{ "error": { "code", "message", "details"? } }`. ' +
          'Access: `Authorization: Bearer <key>` with the scope each operation lists (see the `bearer` security scheme); ' +
          'without keys configured (the default, on a loopback address only) the API is open.',
        version,
      },
      // relative: the document describes whichever host serves it
      servers: [{ url: '/', description: 'this server' }],
      tags: [
        { name: 'jobs', description: 'Training jobs' },
        { name: 'models', description: 'Trained models' },
        { name: 'aliases', description: 'Names for models (`default` serves POST /v1/predict)' },
        { name: 'predict', description: 'Digit predictions' },
        { name: 'presets', description: "The book's experiments" },
        { name: 'sweeps', description: 'Hyper-parameter sweeps (their trials are training jobs)' },
        { name: 'ops', description: 'Health, readiness, metrics' },
        { name: 'inference (v2)', description: 'The Open Inference Protocol (KServe v2, Triton HTTP): errors are `{ "error": "<message>" }`' },
      ],
      components: { securitySchemes },
    },
    transform,
    transformObject: (doc) => pruneComponents(jsonSchemaTransformObject(doc) as OpenApiObject) as ReturnType<typeof jsonSchemaTransformObject>,
  });
  await registerPublic(app, swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true, security: PUBLIC } }, async () => app.swagger());
}
