// The console's only way to the hub's REST API: same origin, bearer token, JSON in and out. A 401
// (token revoked or wrong) ends the session and returns to the login form; other errors carry the
// hub's {error: {code, message}} so views can show them.
import { AppError } from '@edgefleet/shared/browser';
import { noteHubDate } from './hub-clock.js';

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

/** What the console does after a failure it cannot fix itself, by what failed: a view's read, a write, a sign-in. */
export const AGAIN = {
  read: 'the console retries when it is back',
  write: 'this was not sent again: send it once the header says live',
  signIn: 'sign in again once it is back',
} as const;
export type After = keyof typeof AGAIN;

/** Said when the request got no answer at all (the hub is down, restarting or unreachable): the browser's own words are "Failed to fetch". */
export const NO_ANSWER = `the hub did not answer (it may be restarting or unreachable); ${AGAIN.read}`;
/** The same for a write: the console refetches its views when the hub is back, but never sends a write again by itself. */
export const NO_ANSWER_TO_WRITE = `the hub did not answer (it may be restarting or unreachable); ${AGAIN.write}`;

/**
 * How long the console waits for the hub to start answering a request before it gives up: a hub that took
 * the connection and never answers (stopped, overloaded, behind a stalled proxy) otherwise left an action
 * "waiting for the hub…" with its button disabled for ever. The body, once the answer started, is not
 * timed (a page of device windows is up to 8 MiB). A write given up on may still have been applied: sent
 * again, the hub refuses it (CONFLICT) or says so (a rollout's create links the one it made).
 */
export const ANSWER_DEADLINE_MS = 30_000;

const NOT_IN_TIME = `the hub did not answer within ${ANSWER_DEADLINE_MS / 1000} s (it may be overloaded or stopped)`;
/** Said when the hub took a write and did not answer within ANSWER_DEADLINE_MS. */
export const NO_ANSWER_IN_TIME = `${NOT_IN_TIME}; what was sent may still be applied: the view shows the hub's state once it answers`;
/** The same for a read: nothing was changed, and the view is fetched again by Retry or once the stream is back. */
const NO_READ_IN_TIME = `${NOT_IN_TIME}; Retry, or the view is fetched again once the header says live`;

/**
 * A refusal as the console shows it: the hub's stable code, message and details from its
 * `{error: {code, message}}`; an answer without one is not the hub's but something's in front of it (the
 * TLS proxy docs/operations.md puts there answers 502 or 504 while the hub restarts), named as such with
 * what to do: HTTP_STATUS, then the proxy's status line.
 */
export async function refusalOf(res: Response, after: After): Promise<{ code: string; message: string; details?: unknown }> {
  try {
    const b = (await res.json()) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
    if (typeof b.error?.code === 'string' && typeof b.error.message === 'string') return { code: b.error.code, message: b.error.message, details: b.error.details };
  } catch {
    /* not JSON */
  }
  const gateway = res.status === 502 || res.status === 503 || res.status === 504;
  const todo = gateway ? `a proxy in front of the hub answered for it: the hub is restarting, stopped or out of the proxy's reach; ${AGAIN[after]}`
    : 'something in front of the hub answered (a proxy?): check the hub\'s address and the proxy\'s configuration';
  return { code: `HTTP_${res.status}`, message: `${`${res.status} ${res.statusText}`.trim()}, not the hub's answer (no edgefleet error code in it): ${todo}` };
}

/**
 * fetch, with a request that got no answer at all thrown as ApiError UNREACHABLE, and one whose answer did not
 * start within ANSWER_DEADLINE_MS as ApiError TIMEOUT (the caller's own abort stays an AbortError).
 */
async function request(url: string, init: RequestInit): Promise<Response> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), ANSWER_DEADLINE_MS);
  const sent = Date.now();
  try {
    const res = await fetch(url, { ...init, signal: init.signal ? AbortSignal.any([init.signal, deadline.signal]) : deadline.signal });
    noteHubDate(res.headers.get('date'), sent, Date.now());
    return res;
  } catch (err) {
    if (deadline.signal.aborted && !init.signal?.aborted) throw new ApiError(0, 'TIMEOUT', init.method ? NO_ANSWER_IN_TIME : NO_READ_IN_TIME);
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'UNREACHABLE', NO_ANSWER);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `notNow`: while the console knows the hub is down (hub-health.ts), why a request is not sent: a read fails at
 * once with the error the hub's stream last got, a write is NOT_SENT (neither waits on a hub that cannot answer).
 */
export function makeApi(token: string, onUnauthorized: () => void, notNow: (after: After) => { code: string; message: string } | null = () => null): Api {
  // Empty in the desktop app: its main process adds the profile's token to requests to the hub.
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  async function check(res: Response, after: After = 'read'): Promise<Response> {
    if (res.ok) return res;
    if (res.status === 401) onUnauthorized();
    const r = await refusalOf(res, after);
    throw new ApiError(res.status, r.code, r.message, r.details);
  }
  function unless(after: After): void {
    const r = notNow(after);
    if (r) throw new ApiError(0, r.code, r.message);
  }
  return {
    async get<T>(path: string) {
      unless('read');
      return (await (await check(await request(`/api/v1${path}`, { headers }))).json()) as T;
    },
    async send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown) {
      unless('write');
      const res = await request(`/api/v1${path}`, body === undefined ? { method, headers } : { method, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) })
        .catch((err: unknown) => { throw err instanceof ApiError && err.code === 'UNREACHABLE' ? new ApiError(0, 'UNREACHABLE', NO_ANSWER_TO_WRITE) : err; });
      return (await (await check(res, 'write')).json()) as T;
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
  // The hub's stable code and its words (RATE_LIMITED says when to retry); what answered when it was not the hub.
  const r = await refusalOf(res, 'signIn');
  return `${r.code}: ${r.message}`;
}
