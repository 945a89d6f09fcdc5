// fast-check arbitraries from the service's own OpenAPI document: for a JSON Schema, values that
// conform (within its bounds), values at and just past its bounds, and mutated ones (wrong types,
// missing or unknown fields, prototype keys, deep nesting, odd strings).
import fc from 'fast-check';

type Schema = Record<string, unknown> & {
  $ref?: string; type?: string | string[]; enum?: unknown[]; const?: unknown;
  properties?: Record<string, Schema>; required?: string[]; additionalProperties?: boolean | Schema;
  items?: Schema; minItems?: number; maxItems?: number; minLength?: number; maxLength?: number;
  minimum?: number; maximum?: number; exclusiveMinimum?: number; exclusiveMaximum?: number;
  anyOf?: Schema[]; oneOf?: Schema[]; allOf?: Schema[]; default?: unknown;
};

export type OpenApiDoc = { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, Schema> } };
export type Operation = {
  parameters?: { name: string; in: 'path' | 'query' | 'header'; required?: boolean; schema?: Schema }[];
  requestBody?: { content: Record<string, { schema?: Schema }> };
};

// Header-safe text: what Node's HTTP client accepts in a header value (tab, printable, latin1).
const headerChar = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  fc.constantFrom('\t', 'é', 'ÿ', '\u0080'),
);
export const headerText = (maxLength = 40) => fc.string({ unit: headerChar, maxLength });

/** Strings that tend to break parsers: empty, huge, unicode, control characters, injections. */
export const oddString = fc.oneof(
  fc.constantFrom('', ' ', '0', '-1', 'null', 'true', '[]', '{}', '__proto__', 'constructor', '%00', '\u0000', '../../etc/passwd',
    '💥'.repeat(50), 'a'.repeat(10_000), '\ud800', '$(rm -rf /)', "'; DROP TABLE jobs; --", '1e309', 'NaN', 'Infinity'),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);

export const anyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null), fc.boolean(), fc.integer(), fc.double(), oddString,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(oddString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** Deeply nested arrays or objects (parsers and validators that recurse). */
export const deepJson = fc.integer({ min: 50, max: 3000 }).map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown);

export function resolve(doc: OpenApiDoc, s: Schema | undefined): Schema {
  let cur = s ?? {};
  for (let i = 0; i < 10 && cur.$ref; i++) cur = doc.components?.schemas?.[cur.$ref.split('/').at(-1)!] ?? {};
  return cur;
}

/** Values valid for the schema, with its bounds hit often (arrays kept short unless the schema needs long ones). */
export function valid(doc: OpenApiDoc, raw: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(doc, raw);
  if (depth > 6) return fc.constant(null);
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alts = s.anyOf ?? s.oneOf;
  if (alts?.length) return fc.oneof(...alts.map((a) => valid(doc, a, depth + 1)));
  if (s.allOf?.length) return valid(doc, s.allOf[0], depth + 1);
  const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') ?? 'null' : s.type;
  switch (type) {
    case 'integer':
    case 'number': {
      const min = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + (type === 'integer' ? 1 : 1e-9) : -1e6);
      const max = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - (type === 'integer' ? 1 : 1e-9) : 1e6);
      const inner = type === 'integer'
        ? fc.integer({ min: Math.ceil(Math.max(min, -(2 ** 31))), max: Math.floor(Math.min(max, 2 ** 31)) })
        : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
      return fc.oneof(inner, fc.constantFrom(min, max).filter((v) => Number.isFinite(v)));
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'string': {
      const minLength = s.minLength ?? 0;
      const maxLength = Math.min(s.maxLength ?? 40, 200);
      return fc.string({ minLength, maxLength: Math.max(minLength, maxLength) });
    }
    case 'array': {
      const minItems = s.minItems ?? 0;
      if (minItems > 16) {
        // e.g. 784 pixels: a fixed-length array of in-range numbers
        const item = valid(doc, s.items, depth + 1);
        return fc.array(item, { minLength: minItems, maxLength: minItems });
      }
      return fc.array(valid(doc, s.items, depth + 1), { minLength: minItems, maxLength: Math.min(s.maxItems ?? 3, Math.max(minItems, 3)) });
    }
    case 'object':
    default: {
      const props = s.properties ?? {};
      const required = new Set(s.required ?? []);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) record[k] = valid(doc, v, depth + 1);
      if (Object.keys(record).length === 0) return fc.dictionary(fc.string({ maxLength: 10 }), anyJson, { maxKeys: 3 });
      return fc.record(record, { requiredKeys: [...required].filter((k) => k in record) });
    }
  }
}

/** Values at or just past the schema's bounds, and of the wrong type. */
export function boundary(doc: OpenApiDoc, raw: Schema | undefined): fc.Arbitrary<unknown> {
  const s = resolve(doc, raw);
  const out: unknown[] = [null, '', 0, -1, true, [], {}];
  if (typeof s.minimum === 'number') out.push(s.minimum - 1, s.minimum - 1e-9, s.minimum);
  if (typeof s.maximum === 'number') out.push(s.maximum + 1, s.maximum + 1e-9, s.maximum, Number.MAX_SAFE_INTEGER, 1e308);
  if (typeof s.minLength === 'number' && s.minLength > 0) out.push('x'.repeat(s.minLength - 1));
  if (typeof s.maxLength === 'number') out.push('x'.repeat(s.maxLength), 'x'.repeat(s.maxLength + 1));
  if (typeof s.minItems === 'number' && s.minItems > 0) out.push(new Array(s.minItems - 1).fill(0));
  if (typeof s.maxItems === 'number') out.push(new Array(Math.min(s.maxItems + 1, 5000)).fill(0));
  return fc.oneof(fc.constantFrom(...out), anyJson, deepJson);
}

/** A valid object with one change: a field dropped, replaced by a boundary/wrong value, or added. */
export function mutated(doc: OpenApiDoc, raw: Schema | undefined): fc.Arbitrary<unknown> {
  const s = resolve(doc, raw);
  const props = Object.keys(s.properties ?? {});
  if (props.length === 0) return fc.oneof(boundary(doc, s), anyJson);
  return fc.tuple(valid(doc, s), fc.constantFrom(...props), fc.nat(3), boundary(doc, s.properties![props[0]!]), anyJson).map(
    ([v, key, how, bad, any]) => {
      const obj = { ...(v as Record<string, unknown>) };
      if (how === 0) delete obj[key];
      else if (how === 1) obj[key] = bad;
      else if (how === 2) obj[key] = any;
      else Object.assign(obj, JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}, "extra": 1}'));
      return obj;
    },
  );
}

/** Any body for a JSON schema: valid, boundary or mutated. */
export function jsonBody(doc: OpenApiDoc, schema: Schema | undefined): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: valid(doc, schema), weight: 3 }, { arbitrary: mutated(doc, schema), weight: 3 }, { arbitrary: boundary(doc, schema), weight: 2 });
}
