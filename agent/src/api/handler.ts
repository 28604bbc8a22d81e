// OIP v2 REST (https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/)
// as a plain node:http request listener with a tiny hand-written router: the
// local API must stay within 10% of a bare node:http server on throughput.
// A factory: it never binds a port (ApiServer does).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, toAppError } from '@edgefleet/shared';
import type { LoadedVersion, ModelRuntime } from '../runtime/runtime.js';
import { AGENT_VERSION } from '../version.js';
import { ApiMetrics } from './metrics.js';
import { outputJson, validateInferRequest } from './validate.js';

export interface ApiDeps {
  runtime: ModelRuntime;
  metrics: ApiMetrics;
  maxBodyBytes: number;
  allowNonFinite: boolean;
  /** When set, clients not on loopback must send `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** False until every active model is loaded and warm. */
  isReady(): boolean;
  onError?(err: unknown): void;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

function send(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS);
  res.end(text);
}

function sendError(res: ServerResponse, err: AppError): void {
  const headers: Record<string, string> = {};
  if (err.code === 'OVERLOADED' || err.code === 'NOT_READY') headers['retry-after'] = '1';
  if (err.code === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer';
  if (err.code === 'PAYLOAD_TOO_LARGE') headers.connection = 'close';
  send(res, err.httpStatus, { error: err.message }, headers);
}

function isLoopback(addr: string | undefined): boolean {
  return addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1' || (addr?.startsWith('127.') ?? false);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      reject(new AppError('PAYLOAD_TOO_LARGE', `request body of ${declared} bytes is too large: expected at most ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new AppError('PAYLOAD_TOO_LARGE', `request body is too large: expected at most ${limit} bytes`));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function modelMetadata(v: LoadedVersion, versions: string[]) {
  const tensor = (t: { name: string; datatype: string; shape: number[] }) => ({ name: t.name, datatype: t.datatype, shape: t.shape });
  return {
    name: v.name,
    versions,
    platform: 'onnx_onnxv1',
    inputs: v.manifest.io.inputs.map(tensor),
    outputs: v.manifest.io.outputs.map(tensor),
  };
}

export function createApiHandler(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { runtime, metrics } = deps;

  async function infer(req: IncomingMessage, res: ServerResponse, name: string, version: string | undefined): Promise<void> {
    const t0 = performance.now();
    const body = await readBody(req, deps.maxBodyBytes);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new AppError('BAD_REQUEST', `request body is not JSON (${(err as Error).message}): expected {"inputs": [{name, shape, datatype, data}]}`);
    }
    const v = runtime.pin(name, version);
    let request;
    try {
      request = validateInferRequest(parsed, v.manifest.io, { allowNonFinite: deps.allowNonFinite });
    } catch (err) {
      const e = toAppError(err);
      runtime.recordError(v, e.code, performance.now() - t0);
      runtime.unpin(v);
      metrics.observe(v.name, v.version, e.code, (performance.now() - t0) / 1000);
      throw e;
    }
    try {
      const result = await runtime.infer(v, request.inputs, request.outputs, t0);
      const out: Record<string, unknown> = { model_name: v.name, model_version: result.version };
      if (request.id !== undefined) out.id = request.id;
      out.outputs = result.outputs.map(outputJson);
      send(res, 200, out);
      metrics.observe(v.name, v.version, 'ok', (performance.now() - t0) / 1000);
    } catch (err) {
      metrics.observe(v.name, v.version, toAppError(err).code, (performance.now() - t0) / 1000);
      throw err;
    }
  }

  function modelGet(res: ServerResponse, name: string, version: string | undefined, ready: boolean): void {
    const v = runtime.active(name);
    if (!v) throw new AppError('NOT_FOUND', `unknown model "${name}": expected one of [${runtime.names().join(', ')}]`);
    if (version !== undefined && v.version !== version) {
      throw new AppError('NOT_FOUND', `model "${name}" has no version "${version}" loaded: expected "${v.version}" (the active version)`);
    }
    if (ready) send(res, 200, { name, version: v.version, ready: true });
    else send(res, 200, modelMetadata(v, [v.version]));
  }

  function route(req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (path === '/metrics' && method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(metrics.render({
        queueDepths: () => runtime.names().map((model) => ({ model, depth: runtime.queueDepth(model) })),
        loadTimes: () => runtime.names().flatMap((model) => {
          const v = runtime.active(model);
          return v ? [{ model, version: v.version, seconds: v.loadSeconds }] : [];
        }),
      }));
      return;
    }
    const parts = path.split('/');
    // parts[0] is '' (leading slash)
    if (parts[1] !== 'v2') throw new AppError('NOT_FOUND', `no route ${method} ${path}: expected /v2/... or /metrics`);
    const wantGet = (): void => {
      if (method !== 'GET') throw new AppError('BAD_REQUEST', `${method} ${path}: expected GET`);
    };
    if (parts.length === 2) {
      wantGet();
      return send(res, 200, { name: 'edgefleet-agent', version: AGENT_VERSION, extensions: [] });
    }
    if (parts[2] === 'health' && parts.length === 4) {
      wantGet();
      if (parts[3] === 'live') return send(res, 200, { live: true });
      if (parts[3] === 'ready') {
        if (!deps.isReady()) throw new AppError('NOT_READY', 'agent is not ready: models are still loading');
        return send(res, 200, { ready: true });
      }
    }
    if (parts[2] === 'models' && parts.length >= 4) {
      const name = decodeURIComponent(parts[3]!);
      let i = 4;
      let version: string | undefined;
      if (parts[4] === 'versions') {
        if (parts.length < 6 || parts[5] === '') throw new AppError('NOT_FOUND', `no route ${method} ${path}: expected /v2/models/{name}/versions/{version}`);
        version = decodeURIComponent(parts[5]!);
        i = 6;
      }
      const action = parts[i];
      if (parts.length === i) {
        wantGet();
        return modelGet(res, name, version, false);
      }
      if (parts.length === i + 1 && action === 'ready') {
        wantGet();
        return modelGet(res, name, version, true);
      }
      if (parts.length === i + 1 && action === 'infer') {
        if (method !== 'POST') throw new AppError('BAD_REQUEST', `${method} ${path}: expected POST`);
        return infer(req, res, name, version);
      }
    }
    throw new AppError('NOT_FOUND', `no route ${method} ${path}: expected an OIP v2 path such as /v2/models/{name}/infer`);
  }

  const fail = (res: ServerResponse, err: unknown): void => {
    const e = toAppError(err);
    if (e.httpStatus >= 500 && e.code !== 'OVERLOADED' && e.code !== 'NOT_READY') deps.onError?.(err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, e);
  };

  return (req, res) => {
    try {
      if (deps.token !== undefined && !isLoopback(req.socket.remoteAddress)) {
        if (req.headers.authorization !== `Bearer ${deps.token}`) {
          throw new AppError('UNAUTHENTICATED', 'missing or wrong bearer token: expected "Authorization: Bearer <token>" from a non-loopback client');
        }
      }
      const p = route(req, res);
      if (p) p.catch((err: unknown) => fail(res, err));
    } catch (err) {
      fail(res, err);
    }
  };
}
