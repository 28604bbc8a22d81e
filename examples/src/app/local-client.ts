// An app on the box calling the agent's local API over its Unix socket (docs/agent.md "Local API (OIP
// v2)"), with node:http only: it lists the models served (/v2/repository/index), reads a model's metadata
// and asks for predictions, and gets through what a box does under an app: a new version switched in
// (answers name the version that served them), the agent stopping or restarting (a refused connection,
// ENOENT while the socket file is gone: the request never reached it), and load (503 OVERLOADED or
// NOT_READY with Retry-After: it did not run). Those are sent again; any other error is the app's to read
// (`code`, `error`). A connection cut mid-request (ECONNRESET, EPIPE) may have run: a prediction is safe to
// send again, and it is, but counted apart (`resent`), as an app that writes something per answer must.
import { Agent, request } from 'node:http';

export interface IndexEntry { name: string; version: string; state: string; reason: string }
export interface Tensor { name: string; datatype: string; shape: number[]; data: unknown[] }
export interface InferAnswer { model_name: string; model_version: string; id?: string; outputs: Tensor[] }

/** An error answer of the agent: its HTTP status, stable `code` and message. */
export class LocalApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(`${status} ${code}: ${message}`);
  }
}

export interface LocalClientOptions {
  /** Give up on a request after this long of the agent being away or overloaded (default 30 s). */
  patienceMs?: number;
  /** Wait between tries while the agent is away (default 100 ms). */
  retryMs?: number;
}

const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOENT']);
const CUT = new Set(['ECONNRESET', 'EPIPE']);

export class LocalApiClient {
  /** Keep-alive: one connection serves many requests, as an app in a loop does. */
  private readonly agent = new Agent({ keepAlive: true });
  /** Tries sent again because the agent was away (never sent) or busy (did not run). */
  retried = 0;
  /** Tries sent again after a connection was cut mid-request: they may have run. */
  resent = 0;

  constructor(readonly socketPath: string, private readonly opts: LocalClientOptions = {}) {}

  /** The models served, each with its active version. */
  index(): Promise<IndexEntry[]> {
    return this.call('GET', '/v2/repository/index') as Promise<IndexEntry[]>;
  }

  metadata(model: string): Promise<{ name: string; versions: string[]; inputs: Omit<Tensor, 'data'>[]; outputs: Omit<Tensor, 'data'>[] }> {
    return this.call('GET', `/v2/models/${encodeURIComponent(model)}`) as Promise<never>;
  }

  infer(model: string, inputs: Tensor[], id?: string): Promise<InferAnswer> {
    return this.call('POST', `/v2/models/${encodeURIComponent(model)}/infer`, { ...(id ? { id } : {}), inputs }) as Promise<InferAnswer>;
  }

  close(): void {
    this.agent.destroy();
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const until = Date.now() + (this.opts.patienceMs ?? 30_000);
    for (;;) {
      const r = await this.once(method, path, text);
      if ('json' in r) {
        if (r.status < 400) return r.json;
        const e = r.json as { code?: string; error?: string };
        const err = new LocalApiError(r.status, e.code ?? 'UNKNOWN', e.error ?? '');
        if (r.status !== 503 || Date.now() > until) throw err;
        this.retried++;
        await sleep(1000 * Number(r.retryAfter ?? 1));
        continue;
      }
      if ((!NEVER_SENT.has(r.error) && !CUT.has(r.error)) || Date.now() > until) throw new Error(`${method} ${path} on ${this.socketPath}: ${r.error}`);
      if (CUT.has(r.error)) this.resent++;
      else this.retried++;
      await sleep(this.opts.retryMs ?? 100);
    }
  }

  private once(method: string, path: string, text: string | undefined): Promise<{ status: number; json: unknown; retryAfter: string | undefined } | { error: string }> {
    return new Promise((resolve) => {
      const headers = text === undefined ? {} : { 'content-type': 'application/json' };
      const req = request({ socketPath: this.socketPath, agent: this.agent, method, path, headers }, (res) => {
        let data = '';
        res.setEncoding('utf8').on('data', (d: string) => { data += d; });
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(data) as unknown, retryAfter: res.headers['retry-after'] });
          } catch {
            resolve({ error: `answer ${res.statusCode ?? 0} is not JSON: ${data.slice(0, 200)}` });
          }
        });
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      });
      req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      req.end(text);
    });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
