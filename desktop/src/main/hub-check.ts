// Before a hub profile is saved (docs/console.md "Desktop app", first run), main asks the hub at the
// address with the token, as the web console's sign-in does (GET /api/v1/models, any role may): a hub
// that does not answer, a program that is not a hub, a plain-HTTP hub given as https:// (or the other
// way round), and a token the hub refuses are said on the form, code and message, and nothing is
// saved. Every check has a deadline, and the app's quit ends the checks under way (stop()).
import { AppError, hubUnreachable, isErrorCode, notAHub, readAtMost } from '@edgefleet/shared';

/** How long a hub has to answer the check, body included. */
export const HUB_CHECK_TIMEOUT_MS = 10_000;
/** Checks under way at once (the first-run page's "Save and open" pressed again while one runs). */
export const HUB_CHECKS_IN_FLIGHT = 2;
/** The most of a refusal's body read (the hub's {error} is far smaller; another program's page may not be). */
const MAX_ERROR_BODY = 64 * 1024;
const WHAT = 'GET /api/v1/models';
const WHERE = 'in the form\'s "Hub address"';

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

function hubError(text: string): { code: string; message: string } | null {
  try {
    const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    return typeof e?.code === 'string' && typeof e.message === 'string' ? { code: e.code, message: e.message } : null;
  } catch {
    return null;
  }
}

/**
 * What to do about a failure of Chromium's network stack (Electron's net.fetch, which main uses: the
 * windows' own stack) where Node's codes, and so hubUnreachable's hints, are absent.
 */
export function chromiumHint(err: unknown): string | undefined {
  const m = /net::(ERR_[A-Z_]+)/.exec(err instanceof Error ? err.message : String(err))?.[1];
  if (m === 'ERR_SSL_PROTOCOL_ERROR' || m === 'ERR_SSL_VERSION_OR_CIPHER_MISMATCH') return 'no TLS handshake: if the hub serves plain HTTP, expected an http:// address';
  if (m?.startsWith('ERR_CERT_')) return 'the hub\'s certificate is not trusted by this system (its CA, name or dates): install its CA in the system\'s certificates (docs/operations.md "TLS")';
  return undefined;
}

/** Resolves when the hub at `address` (an origin) accepts `token`; else an AppError saying why. */
export async function checkHub(address: string, token: string, o: { fetch?: Fetch; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
  const timeoutMs = o.timeoutMs ?? HUB_CHECK_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = o.signal ? AbortSignal.any([deadline, o.signal]) : deadline;
  const ended = (err: unknown): AppError => {
    if (o.signal?.aborted) return new AppError('NOT_READY', `the app is quitting: the hub at ${address} was not checked and nothing was saved`, { cause: err });
    if (deadline.aborted) return new AppError('TIMEOUT', `the hub at ${address} did not answer ${WHAT} within ${timeoutMs / 1000} s: check the address and that the hub is running; nothing was saved`, { cause: err });
    const e = hubUnreachable(address, err);
    const hint = chromiumHint(err);
    return hint ? new AppError(e.code, `${e.message} (${hint})`, { cause: err }) : e;
  };
  try {
    const res = await (o.fetch ?? fetch)(`${address}/api/v1/models`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, redirect: 'manual', signal });
    const type = res.headers.get('content-type');
    if (res.ok && type?.startsWith('application/json')) {
      await res.body?.cancel().catch(() => undefined);
      return;
    }
    if (res.status >= 300 && res.status < 400) {
      const to = res.headers.get('location');
      await res.body?.cancel().catch(() => undefined);
      throw new AppError('BAD_REQUEST', `${address} answered ${WHAT} with a redirect (HTTP ${res.status})${to ? ` to ${to.slice(0, 300)}` : ''}: expected the hub's own address${to ? ', perhaps that one' : ''}`);
    }
    const said = res.ok ? null : hubError(Buffer.from(await readAtMost(res.body, MAX_ERROR_BODY)).toString('utf8'));
    if (res.ok) await res.body?.cancel().catch(() => undefined);
    if (!said) throw notAHub(address, WHAT, res.status, type, WHERE);
    const code = isErrorCode(said.code) ? said.code : 'INTERNAL';
    if (res.status === 401) throw new AppError(code, `the hub at ${address} refused the token (${said.code}: ${said.message}): expected an API token of that hub (edgefleet tokens create NAME --role viewer|operator|admin, or DATA/admin.token)`);
    throw new AppError(code, `the hub at ${address} answered ${WHAT} with ${said.code}: ${said.message}`);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw ended(err);
  }
}

/** The checks of one app: bounded in number, and all ended by stop() (the app's quit). */
export class HubChecker {
  private readonly quitting = new AbortController();
  private running = 0;

  constructor(private readonly o: { fetch?: Fetch; timeoutMs?: number; maxInFlight?: number } = {}) {}

  async check(address: string, token: string): Promise<void> {
    if (this.quitting.signal.aborted) throw new AppError('NOT_READY', 'the app is quitting: nothing was saved');
    const max = this.o.maxInFlight ?? HUB_CHECKS_IN_FLIGHT;
    if (this.running >= max) throw new AppError('RATE_LIMITED', `${max} hub checks are under way: wait for their answer (at most ${(this.o.timeoutMs ?? HUB_CHECK_TIMEOUT_MS) / 1000} s)`);
    this.running++;
    try {
      await checkHub(address, token, { ...this.o, signal: this.quitting.signal });
    } finally {
      this.running--;
    }
  }

  /** Ends every check under way (each rejects with NOT_READY) and refuses new ones. */
  stop(): void {
    this.quitting.abort();
  }
}
