// OIP v2 REST (https://kserve.github.io/website/latest/modelserving/data_plane/v2_protocol/)
// as a plain node:http request listener with a tiny hand-written router: the
// local API must stay within 10% of a bare node:http server on throughput.
// A factory: it never binds a port (ApiServer does). The API is for local
// apps, not web pages: the Host must be a loopback or configured name, POSTs
// must be application/json, and no CORS header is sent (docs/security.md).
// Bodies are refused before they are read when they cannot be served.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, toAppError } from '@edgefleet/shared/core';
import { AGENT_VERSION } from '../version.js';
import { attachBinary, binaryInput, binaryOutputs, HEADER_LENGTH, headerLength, leadingJson, refuseUnframedBinary } from './binary.js';
import { InferCore, modelMetadata, type InferStarted } from './core.js';
import { RequestBudget } from './budget.js';
import { allowedHostNames, bearerCheck, bodyTooLarge, CONTAINER_CHECK_MIN, decodeSegment, hostName, hostRefused, isJson, isLoopback, jsonText, methodNotAllowed, noRoute, notJson, POST_ONLY, refuseContentEncoding, refuseManyContainers, refuseMediaType } from './guards.js';
import { viaUnixSocket } from './unix-socket.js';
import { refuseUnknownInferFields } from './validate.js';
import { BurstGc, DEFAULT_BURST_GC } from './burst-gc.js';
import { FEEDBACK_PATH, serveFeedback } from '../feedback/http.js';
import { REPOSITORY_INDEX_PATH, serveRepositoryIndex } from './repository.js';
import type { ApiDeps } from './handler-deps.js';
import { send, sendError, sendMetrics, wantGet } from './reply.js';
import { sendBinaryOutputs, sendJsonOutputs } from './infer-reply.js';

export type { ApiDeps } from './handler-deps.js';

/** Bodies declared at least this large are read into one buffer of their size (infer()). */
const WHOLE_BODY_MIN = DEFAULT_BURST_GC.minBodyBytes;

/** OIP server metadata (REST and gRPC ServerMetadata). */
export const SERVER_METADATA = { name: 'edgefleet-agent', version: AGENT_VERSION, extensions: ['binary_tensor_data'] };

export function createApiHandler(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const hosts = allowedHostNames(deps.allowedHosts);
  const bearer = bearerCheck(deps.token);
  // The last Host header accepted: a client sends the same one on every request.
  let lastHost = '\n'; // never a header value
  /** Request bytes held: bodies being read (reserved from Content-Length, or counted as they come) and parsed tensors; shared with gRPC. */
  const budget = deps.inflight ?? new RequestBudget(deps.maxInflightBodyBytes);
  const core = new InferCore({ runtime: deps.runtime, metrics: deps.metrics, allowNonFinite: deps.allowNonFinite, budget, feedback: deps.feedback?.memory, waiting: deps.waiting });
  const burstGc = deps.burstGc ?? new BurstGc(budget);

  /** A refusal before validation, counted for a served model like an invalid request (core.refused). */
  function counted(err: unknown, name: string, version: string | undefined, t0: number): unknown {
    core.refused(name, version, err, t0);
    return err;
  }

  // Callbacks rather than promises: a body of one chunk goes from 'end' to
  // session.run without a microtask hop (issue 3 benchmarks, docs/performance.md).
  function infer(req: IncomingMessage, res: ServerResponse, name: string, version: string | undefined): void {
    const t0 = performance.now();
    // Everything that can refuse the request without its body does so before reading a byte of it.
    const binaryHeader = req.headers[HEADER_LENGTH];
    // A body over the request budget could never be read, whatever else is held: 413, not 503 forever.
    const limit = Math.min(deps.maxBodyBytes, budget.limit);
    const setting = limit === deps.maxBodyBytes ? 'api.maxBodyBytes' : 'api.maxInflightBodyBytes';
    const declared = Number(req.headers['content-length']);
    try {
      refuseMediaType(req.headers['content-type'], binaryHeader !== undefined);
      refuseContentEncoding(req.headers['content-encoding']);
      if (declared > limit) throw bodyTooLarge(limit, setting, declared);
    } catch (err) {
      throw counted(err, name, version, t0);
    }
    core.admit(name, t0);
    // Reserve the declared size up front; a body without one is counted as it arrives.
    let held = declared > 0 ? declared : 0;
    if (budget.bytes + held > budget.limit) throw counted(budget.overloaded(), name, version, t0);
    budget.bodies += held;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      budget.bodies -= held;
      burstGc.released(held);
    };
    let first: Buffer | undefined;
    let chunks: Buffer[] | undefined;
    // A large declared body is copied into one buffer of its size as it arrives: allocated outside the
    // malloc heap (the unit's MALLOC_MMAP_THRESHOLD_) and returned to the system when collected, instead
    // of a list of 64 KiB socket chunks interleaved with everything else in the heap, then a concat copy
    // (docs/performance.md "Memory after a burst").
    let whole = declared >= WHOLE_BODY_MIN ? Buffer.allocUnsafeSlow(declared) : undefined;
    let size = 0;
    let failed = false;
    const refuse = (err: AppError) => {
      failed = true;
      first = chunks = whole = undefined;
      release();
      fail(res, counted(err, name, version, t0));
    };
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        refuse(bodyTooLarge(limit, setting));
        return;
      }
      if (size > held) {
        if (budget.bytes + size - held > budget.limit) {
          refuse(budget.overloaded());
          return;
        }
        budget.bodies += size - held;
        held = size;
      }
      if (whole && size <= whole.length) c.copy(whole, size - c.length);
      else if (first === undefined) first = c;
      else (chunks ??= [first]).push(c);
    });
    req.on('end', () => {
      release();
      if (failed) return;
      try {
        // (node:http ends a body at its Content-Length, so `whole` is exactly filled.)
        const body = whole ? whole.subarray(0, size) : chunks ? Buffer.concat(chunks) : first ?? Buffer.alloc(0);
        first = chunks = whole = undefined;
        run(res, name, version, body, t0, binaryHeader === undefined ? undefined : String(binaryHeader));
      } catch (err) {
        fail(res, err);
      }
    });
    // A client gone or timed out mid-body ('error' ECONNRESET "aborted"): nothing to answer, nothing to log.
    req.on('error', (err) => {
      release();
      first = chunks = whole = undefined;
      if (failed) return;
      failed = true;
      if (res.destroyed || req.socket.destroyed) return;
      fail(res, err);
    });
  }

  function run(res: ServerResponse, name: string, version: string | undefined, body: Buffer, t0: number, binaryHeader: string | undefined): void {
    const jsonBytes = binaryHeader === undefined ? body.length : headerLength(binaryHeader, body.length);
    if (jsonBytes >= CONTAINER_CHECK_MIN) {
      try {
        refuseManyContainers(body, jsonBytes, deps.maxBodyBytes);
      } catch (err) {
        throw counted(err, name, version, t0);
      }
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(jsonText(body, jsonBytes, binaryHeader === undefined ? 'request body' : 'request header'));
    } catch (err) {
      // JSON then binary data, sent without Inference-Header-Content-Length: refused naming the header (refuseUnframedBinary).
      const head = binaryHeader === undefined ? leadingJson(body) : undefined;
      if (binaryInput(head) === undefined) throw counted(err instanceof AppError ? err : notJson(body, err, binaryHeader !== undefined), name, version, t0);
      parsed = head;
    }
    // Read inside validation (core.start's prepare), so a bad binary flag is counted like any invalid input.
    let binary: ((name: string) => boolean) | undefined;
    const started = core.start(name, version, parsed, t0, (b) => {
      refuseUnknownInferFields(b);
      binary = binaryOutputs(b);
      if (binaryHeader === undefined) refuseUnframedBinary(b);
      else attachBinary(b, body.subarray(jsonBytes));
    });
    // The body and the parsed JSON are garbage from here: the answer's callbacks (answer()) hold neither,
    // so a request waiting for its run holds only its tensors, which the request budget counts (budget.ts).
    answer(res, started, binary, t0);
  }

  function answer(res: ServerResponse, started: InferStarted, binary: ((name: string) => boolean) | undefined, t0: number): void {
    const { hot: h, id } = started;
    // Waiting for a run slot: a client that hangs up meanwhile takes the request out of the queue (core.ts).
    if (started.queued !== undefined) {
      if (res.destroyed) core.abandon(started);
      else {
        res.once('close', () => {
          if (!res.writableFinished) core.abandon(started);
        });
        // Shed at the end of the stop's grace: answered, then the connection closes (waiting.ts).
        core.whileWaiting(started, (err) => {
          res.setHeader('connection', 'close');
          fail(res, err);
        });
      }
    }
    started.result.then((r) => {
      core.settled(started);
      if (binary !== undefined) sendBinaryOutputs(res, h, id, r.outputs, binary);
      else sendJsonOutputs(res, h, id, r.outputs);
      h.series.ok((performance.now() - t0) / 1000);
    }).catch((err: unknown) => {
      core.settled(started);
      h.series.error(toAppError(err).code, (performance.now() - t0) / 1000);
      fail(res, err);
    });
  }

  function modelGet(res: ServerResponse, name: string, version: string | undefined, ready: boolean): void {
    const v = core.version(name, version);
    if (ready) send(res, 200, { name, version: v.version, ready: true });
    else send(res, 200, modelMetadata(v));
  }

  // Infer URLs seen before, to their model name and version: the same few URLs
  // come on every request, so they skip the split and decoding below.
  const inferRoutes = new Map<string, { name: string; version: string | undefined }>();

  function route(req: IncomingMessage, res: ServerResponse): Promise<void> | void {
    const url = req.url ?? '/';
    if (req.method === 'POST') {
      const known = inferRoutes.get(url);
      if (known !== undefined) return infer(req, res, known.name, known.version);
    }
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = req.method ?? 'GET';
    if (path === '/metrics') {
      wantGet(method, path);
      return sendMetrics(res, deps);
    }
    if (path === FEEDBACK_PATH) return serveFeedback(req, res, deps.feedback, isJson);
    if (path === REPOSITORY_INDEX_PATH) return serveRepositoryIndex(req, res, deps.runtime);
    const parts = path.split('/');
    // parts[0] is '' (leading slash)
    if (parts[1] === 'edgefleet' && deps.edgefleet) return deps.edgefleet(req, res, method, path);
    if (parts[1] !== 'v2') throw noRoute(method, path, '/v2/... or /metrics');
    if (parts.length === 2) {
      wantGet(method, path);
      return send(res, 200, SERVER_METADATA);
    }
    if (parts[2] === 'health' && parts.length === 4 && (parts[3] === 'live' || parts[3] === 'ready')) {
      wantGet(method, path);
      const full = deps.diskFull?.();
      const disk = full ? { diskFull: full } : {};
      if (parts[3] === 'live') return send(res, 200, { live: true, ...disk });
      if (parts[3] === 'ready') {
        if (!deps.isReady()) throw new AppError('NOT_READY', 'agent is not ready: models are still loading');
        return send(res, 200, { ready: true, ...disk });
      }
    }
    if (parts[2] === 'models' && parts.length >= 4) {
      const name = decodeSegment(parts[3]!, 'model name');
      let i = 4;
      let version: string | undefined;
      if (parts[4] === 'versions') {
        if (parts.length < 6 || parts[5] === '') throw noRoute(method, path, '/v2/models/{name}/versions/{version}');
        version = decodeSegment(parts[5]!, 'model version');
        i = 6;
      }
      const action = parts[i];
      if (parts.length === i) {
        wantGet(method, path);
        return modelGet(res, name, version, false);
      }
      if (parts.length === i + 1 && action === 'ready') {
        wantGet(method, path);
        return modelGet(res, name, version, true);
      }
      if (parts.length === i + 1 && action === 'infer') {
        if (method !== 'POST') throw methodNotAllowed(method, path, POST_ONLY);
        if (inferRoutes.size >= 256) inferRoutes.clear(); // bounded: URLs come from clients
        inferRoutes.set(url, { name, version });
        return infer(req, res, name, version);
      }
    }
    throw noRoute(method, path, `an OIP v2 path such as /v2/models/{name}/infer (the models served: ${REPOSITORY_INDEX_PATH})`);
  }

  function fail(res: ServerResponse, err: unknown): void {
    const e = toAppError(err);
    if (e.httpStatus >= 500 && e.code !== 'OVERLOADED' && e.code !== 'NOT_READY') deps.onError?.(err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, e);
  }

  return (req, res) => {
    try {
      // On the Unix socket, file permissions decide who may call (docs/security.md): no browser reaches it.
      if (viaUnixSocket(req.socket)) {
        const p = route(req, res);
        if (p) p.catch((err: unknown) => fail(res, err));
        return;
      }
      const tokenOk = bearer !== undefined && bearer(req.headers.authorization);
      if (deps.token !== undefined && !tokenOk && !isLoopback(req.socket.remoteAddress)) {
        throw new AppError('UNAUTHENTICATED', 'missing or wrong bearer token: expected "Authorization: Bearer <token>" from a non-loopback client');
      }
      // DNS rebinding: a web page's request names the page's host; a client holding the token is not a page.
      const host = req.headers.host;
      if (!tokenOk && host !== lastHost) {
        if (host === undefined || !hosts.has(hostName(host))) throw hostRefused(host, hosts);
        lastHost = host;
      }
      const p = route(req, res);
      if (p) p.catch((err: unknown) => fail(res, err));
    } catch (err) {
      fail(res, err);
    }
  };
}
