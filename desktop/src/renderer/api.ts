// The console's only way to the hub's REST API: same origin, bearer token, JSON in and out. A 401
// (token revoked or wrong) ends the session and returns to the login form; other errors carry the
// hub's {error: {code, message}} so views can show them.
import { AppError } from '@edgefleet/shared/browser';

export class ApiError extends Error {
  /** The hub's `details` (for SCHEMA_INVALID: the failing fields as zod issues with their paths). */
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: unknown) {
    super(message);
  }
}

/** An error as the console shows it: the hub's (or the page's own, AppError) stable code and its message (`NOT_READY: …`); else what failed (the network). */
export function errorText(err: unknown): string {
  if (err instanceof ApiError || err instanceof AppError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

export interface Api {
  get<T>(path: string): Promise<T>;
  send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T>;
  /** A raw response (bundles); the caller reads the body. */
  raw(path: string, signal?: AbortSignal): Promise<Response>;
}

/** Said when the request got no answer at all (the hub is down, restarting or unreachable): the browser's own words are "Failed to fetch". */
export const NO_ANSWER = 'the hub did not answer (it may be restarting or unreachable); the console retries when it is back';
/** The same for a write: the console refetches its views when the hub is back, but never sends a write again by itself. */
export const NO_ANSWER_TO_WRITE = 'the hub did not answer (it may be restarting or unreachable); this was not sent again: send it once the header says live';

/**
 * How long the console waits for the hub to start answering a request before it gives up: a hub that took
 * the connection and never answers (stopped, overloaded, behind a stalled proxy) otherwise left an action
 * "waiting for the hub…" with its button disabled for ever. The body, once the answer started, is not
 * timed (a page of device windows is up to 8 MiB). A write given up on may still have been applied: sent
 * again, the hub refuses it (CONFLICT) or says so (a rollout's create links the one it made).
 */
export const ANSWER_DEADLINE_MS = 30_000;

const NOT_IN_TIME = `the hub did not answer within ${ANSWER_DEADLINE_MS / 1000} s (it may be overloaded or stopped)`;
/** Said when the hub took a request and did not answer within ANSWER_DEADLINE_MS. */
export const NO_ANSWER_IN_TIME = `${NOT_IN_TIME}; what was sent may still be applied: the view shows the hub's state once it answers`;

/**
 * fetch, with a request that got no answer at all thrown as ApiError UNREACHABLE, and one whose answer did not
 * start within ANSWER_DEADLINE_MS as ApiError TIMEOUT (the caller's own abort stays an AbortError).
 */
async function request(url: string, init: RequestInit): Promise<Response> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), ANSWER_DEADLINE_MS);
  try {
    return await fetch(url, { ...init, signal: init.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal });
  } catch (err) {
    if (deadline.signal.aborted && !init.signal?.aborted) throw new ApiError(0, 'TIMEOUT', NO_ANSWER_IN_TIME);
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'UNREACHABLE', NO_ANSWER);
  } finally {
    clearTimeout(timer);
  }
}

export function makeApi(token: string, onUnauthorized: () => void): Api {
  // Empty in the desktop app: its main process adds the profile's token to requests to the hub.
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  async function check(res: Response): Promise<Response> {
    if (res.ok) return res;
    if (res.status === 401) onUnauthorized();
    let code = 'HTTP_' + res.status;
    let message = `${res.status} ${res.statusText}`;
    let details: unknown;
    try {
      const b = (await res.json()) as { error?: { code?: string; message?: string; details?: unknown } };
      code = b.error?.code ?? code;
      message = b.error?.message ?? message;
      details = b.error?.details;
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, code, message, details);
  }
  return {
    async get<T>(path: string) {
      return (await (await check(await request(`/api/v1${path}`, { headers }))).json()) as T;
    },
    async send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) {
      const res = await request(`/api/v1${path}`, body === undefined ? { method, headers } : { method, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) })
        .catch((err: unknown) => { throw err instanceof ApiError && err.code === 'UNREACHABLE' ? new ApiError(0, 'UNREACHABLE', NO_ANSWER_TO_WRITE) : err; });
      return (await (await check(res)).json()) as T;
    },
    async raw(path: string, signal?: AbortSignal) {
      return check(await request(`/api/v1${path}`, { headers, ...(signal ? { signal } : {}) }));
    },
  };
}

/** Checks a token before the session starts: null when it is accepted, else why not. */
export async function probeToken(token: string): Promise<string | null> {
  // A header carries printable ASCII only: the browser refuses anything else before sending a byte.
  if (/[^\x21-\x7e]/.test(token)) return 'a token is printable ASCII without spaces (efa_… as the hub printed it): this one has other characters';
  const res = await request('/api/v1/models', { headers: { authorization: `Bearer ${token}` } }).catch((e: unknown) => e as ApiError);
  if (res instanceof ApiError && res.code === 'TIMEOUT') return `TIMEOUT: ${NOT_IN_TIME}: sign in again once it answers`;
  if (!(res instanceof Response)) return 'UNREACHABLE: the hub did not answer (it may be restarting or unreachable): sign in again once it is back';
  if (res.ok) return null;
  // The hub's stable code and its words (RATE_LIMITED says when to retry); plain words when it sent none.
  const body = (await res.json().catch(() => null)) as { error?: { code?: unknown; message?: unknown } } | null;
  const code = typeof body?.error?.code === 'string' ? body.error.code : `HTTP_${res.status}`;
  const said = typeof body?.error?.message === 'string' ? body.error.message : `the hub answered ${res.status} ${res.statusText}`.trim();
  return `${code}: ${said}`;
}
