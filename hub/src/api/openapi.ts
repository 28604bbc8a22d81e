// The OpenAPI 3.1 document, generated from the route table and the shared zod
// schemas (z.toJSONSchema), so it cannot drift from what the handlers validate.
import { z } from 'zod';
import { ApiErrorBody } from '@edgefleet/shared';
import type { RouteDef } from './http.js';

function schema(s: z.ZodType, io: 'input' | 'output'): unknown {
  return z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' });
}

export function openApiDocument(routes: readonly RouteDef[], version = '0.1.0'): object {
  const paths: Record<string, Record<string, unknown>> = {};
  const errorResponse = { description: 'error', content: { 'application/json': { schema: schema(ApiErrorBody, 'output') } } };
  for (const r of routes) {
    const path = `/api/v1${r.path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
    const params = [...r.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    if (r.query) {
      const q = schema(r.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(q.properties ?? {})) {
        params.push({ name, in: 'query', required: (q.required ?? []).includes(name), schema: s as { type: string } });
      }
    }
    const op: Record<string, unknown> = {
      summary: r.summary,
      'x-required-role': r.access,
      parameters: params,
      responses: {
        [String(r.status ?? 200)]: {
          description: 'success',
          content: r.rawResponse
            ? {
                [r.rawResponse]: {
                  schema: { type: 'string', format: r.events ? 'event-stream' : 'binary' },
                  ...(r.events ? { 'x-events': Object.fromEntries(Object.entries(r.events).map(([k, v]) => [k, schema(v, 'output')])) } : {}),
                },
              }
            : r.response ? { 'application/json': { schema: schema(r.response, 'output') } } : undefined,
        },
        '4XX': errorResponse,
        '5XX': errorResponse,
      },
    };
    if (r.access !== 'public') op['security'] = [{ bearer: [] }];
    if (r.body) op['requestBody'] = { required: true, content: { 'application/json': { schema: schema(r.body, 'input') } } };
    if (r.rawBody) op['requestBody'] = { required: true, content: { [r.rawBody]: { schema: { type: 'string', format: 'binary' } } } };
    (paths[path] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'edgefleet hub API', version },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API token; roles viewer < operator < admin' } } },
    paths,
  };
}
