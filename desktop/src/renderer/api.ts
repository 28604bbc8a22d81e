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

/** fetch, with a request that got no answer at all thrown as ApiError UNREACHABLE (an abort stays an AbortError). */
async function request(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'UNREACHABLE', NO_ANSWER);
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
      const res = await request(`/api/v1${path}`, body === undefined ? { method, headers } : { method, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
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
  const res = await fetch('/api/v1/models', { headers: { authorization: `Bearer ${token}` } }).catch(() => null);
  if (!res) return 'UNREACHABLE: the hub did not answer (it may be restarting or unreachable): sign in again once it is back';
  if (res.ok) return null;
  // The hub's stable code and its words (RATE_LIMITED says when to retry); plain words when it sent none.
  const body = (await res.json().catch(() => null)) as { error?: { code?: unknown; message?: unknown } } | null;
  const code = typeof body?.error?.code === 'string' ? body.error.code : `HTTP_${res.status}`;
  const said = typeof body?.error?.message === 'string' ? body.error.message : `the hub answered ${res.status} ${res.statusText}`.trim();
  return `${code}: ${said}`;
}
