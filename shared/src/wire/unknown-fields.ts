// Fields a schema would silently drop. A zod object strips keys it does not know, so a misspelt optional
// field ("maxErrRate" for "maxErrorRate") parses and is lost: the default takes its place with no word.
// Readers of a signed document keep stripping (a newer writer may add fields); authoring commands refuse
// what would be dropped, naming each field and the one most likely meant (docs/cli.md "model pack").
import { z } from 'zod';
import { unknownFieldText } from '../cli/suggest.js';
import { describePath } from './path.js';

/** The object schemas a value here is checked against: one, or a union's options that accept it. */
function objectShapes(schema: z.ZodType, value: unknown): z.ZodObject[] {
  if (schema instanceof z.ZodObject) return [schema];
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault || schema instanceof z.ZodNullable) {
    return objectShapes(schema.unwrap() as z.ZodType, value);
  }
  if (schema instanceof z.ZodPipe) return objectShapes(schema.in as z.ZodType, value);
  if (schema instanceof z.ZodUnion) {
    const options = (schema.options as z.ZodType[]).flatMap((o) => objectShapes(o, value));
    const accepting = options.filter((o) => o.safeParse(value).success);
    return accepting.length > 0 ? accepting : options;
  }
  return [];
}

function arrayElement(schema: z.ZodType): z.ZodType | undefined {
  if (schema instanceof z.ZodArray) return schema.element as z.ZodType;
  if (schema instanceof z.ZodOptional || schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault || schema instanceof z.ZodNullable) return arrayElement(schema.unwrap() as z.ZodType);
  if (schema instanceof z.ZodPipe) return arrayElement(schema.in as z.ZodType);
  return undefined;
}

/** The message of a key the object schemas at its place do not know: the one most likely meant, and those expected. */
function unknownMessage(key: string, shapes: z.ZodObject[]): string {
  return unknownFieldText(key, [...new Set(shapes.flatMap((s) => Object.keys(s.shape)))]);
}

/** The object schemas at `path` inside `schema` (through optionals, defaults, unions and arrays), for `value` at the root. */
function shapesAt(schema: z.ZodType, value: unknown, path: readonly PropertyKey[]): z.ZodObject[] {
  let at: z.ZodType | undefined = schema;
  let v = value;
  for (const p of path) {
    const here: unknown = v;
    v = here !== null && typeof here === 'object' ? (here as Record<PropertyKey, unknown>)[p] : undefined;
    at = typeof p === 'number' ? arrayElement(at) : objectShapes(at, here).map((s) => s.shape[String(p)] as z.ZodType | undefined).find((f) => f !== undefined);
    if (!at) return [];
  }
  return objectShapes(at, v);
}

/** What a zod issue carries that is read here (parseWire keeps the issues as an AppError's details). */
export interface IssueLike { code?: unknown; path?: unknown; keys?: unknown; message?: unknown }

/**
 * `issues` with each "unrecognized_keys" issue (a strict object's, for a misspelt config key) split into one
 * issue per key, at the key's path, saying which known key is most likely meant and which are expected.
 */
export function withUnknownKeyHints(schema: z.ZodType, value: unknown, issues: readonly IssueLike[]): Array<{ path: PropertyKey[]; message: string }> {
  return issues.flatMap((i) => {
    const path = Array.isArray(i.path) ? (i.path as PropertyKey[]) : [];
    if (i.code !== 'unrecognized_keys' || !Array.isArray(i.keys)) return [{ path, message: String(i.message) }];
    const shapes = shapesAt(schema, value, path);
    return (i.keys as unknown[]).map((k) => ({ path: [...path, String(k)], message: shapes.length ? unknownMessage(String(k), shapes) : String(i.message) }));
  });
}

/**
 * One message per key of `value` that `schema` does not know at its place (records keep every key and
 * are not looked into): its path, the known key most likely meant, and the keys expected there.
 */
export function unknownFields(schema: z.ZodType, value: unknown, path: PropertyKey[] = []): string[] {
  if (Array.isArray(value)) {
    const element = arrayElement(schema);
    return element ? value.flatMap((v, i) => unknownFields(element, v, [...path, i])) : [];
  }
  if (!value || typeof value !== 'object') return [];
  const shapes = objectShapes(schema, value);
  if (shapes.length === 0) return [];
  const problems: string[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const field = shapes.map((s) => s.shape[key] as z.ZodType | undefined).find((f) => f !== undefined);
    if (field) {
      problems.push(...unknownFields(field, v, [...path, key]));
      continue;
    }
    problems.push(`${describePath([...path, key])}: ${unknownMessage(key, shapes)}`);
  }
  return problems;
}
