// Webhook delivery for alert actions (docs/drift.md "Webhooks"): a JSON POST signed with
// `X-Edgefleet-Signature: t=UNIX_SECONDS,v1=HEX`, HEX = HMAC-SHA256(secret, t + "." + body), retried
// with exponential backoff; every attempt is logged (AlertsRepo.attempt). The URL is the operator's,
// so every attempt is bounded: a timeout, redirects not followed, at most MAX_RESPONSE_BYTES of the
// answer read, a few deliveries at once, and stop() aborts what is in flight within its deadline.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readAtMost, settleWithin, type AlertAction } from '@edgefleet/shared';
import type { Clock } from '../clock.js';
import type { LoggerPort, MetricsPort } from '../mqtt/ports.js';
import type { AlertsRepo } from './repo.js';
import type { DueDelivery } from './deliveries.js';

export const SIGNATURE_HEADER = 'x-edgefleet-signature';
export const MAX_RESPONSE_BYTES = 64 * 1024;

export interface WebhookOptions {
  timeoutMs: number;
  /** Attempts in all before a delivery is given up (failed). */
  attempts: number;
  /** Wait before the 2nd attempt; doubles each time, at most maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  /** Deliveries in flight at once. */
  concurrency: number;
}

export const DEFAULT_WEBHOOK_OPTIONS: WebhookOptions = { timeoutMs: 5000, attempts: 6, backoffMs: 2000, maxBackoffMs: 300_000, concurrency: 4 };

/** The header value for `body` signed with `secret` at `t` (UNIX seconds). */
export function signWebhook(secret: string, body: string, t: number): string {
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/** Checks a header as a receiver would (constant-time compare); `toleranceSec` bounds replays. */
export function verifyWebhook(secret: string, body: string, header: string, nowSec: number, toleranceSec = 300): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(nowSec - t) > toleranceSec) return false;
  const want = Buffer.from(signWebhook(secret, body, t).slice(-64), 'hex');
  return timingSafeEqual(want, Buffer.from(m[2] as string, 'hex'));
}

/**
 * Why `url` cannot be a webhook URL, or null. A user name or password in it (`user:password@`) is
 * refused: fetch will not send such a URL (every attempt would fail), its error would write the
 * password into the delivery log and the hub's log, and URLs are shown to viewers. Receivers
 * authenticate the hub by the signature instead.
 */
export function urlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a URL: expected an http:// or https:// URL';
  }
  if (u.username || u.password) return 'carries a user name or password (user:password@): expected a URL without them (the hub signs each request with the action\'s secret)';
  return null;
}

/** `url` as it may be shown or logged: a user name or password in it replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '***';
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//***@');
  }
}

export interface AttemptResult {
  status: number | null;
  error: string | null;
  ms: number;
}

/**
 * The delivery log's error for a non-2xx answer. A redirect is not followed (the URL is the operator's
 * to change), so it says where to: the Location, cut to 200 characters and escaped, as the receiver sent it.
 */
function httpError(res: Response): string {
  const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
  if (location === null) return `HTTP ${res.status}`;
  return `HTTP ${res.status}: redirect to ${JSON.stringify(location.slice(0, 200))} not followed (the rule's URL must be the receiver's own)`;
}

/** One POST, bounded in time and in the bytes of the answer read. 2xx is success. */
export async function postWebhook(url: string, body: string, secret: string, o: { timeoutMs: number; signal: AbortSignal; nowSec: number }): Promise<AttemptResult> {
  const t0 = performance.now();
  // One controller aborts the request: at the timeout, at the hub's stop (o.signal), and once the answer
  // is read (awaiting reader.cancel() on a body that never ends can hang in undici); an attempt must never
  // outlive its timeout. The timer holds the controller strongly: AbortSignal.timeout inside
  // AbortSignal.any is referenced weakly and a GC while the attempt waits collected it with its timer,
  // so the attempt hung until undici's own limits (minutes), holding the send loop.
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new DOMException(`no answer within ${o.timeoutMs} ms`, 'TimeoutError')), o.timeoutMs);
  const onStop = () => ac.abort(o.signal.reason);
  if (o.signal.aborted) onStop();
  else o.signal.addEventListener('abort', onStop, { once: true });
  const signal = ac.signal;
  // The answer's status, once its headers arrived: a 2xx delivers the event even when its body then
  // never ends (the body is not used), so the event is not sent again.
  let status: number | null = null;
  try {
    const res = await fetch(url, {
      method: 'POST', body, redirect: 'manual', signal,
      headers: { 'content-type': 'application/json', 'user-agent': 'edgefleet-hub', [SIGNATURE_HEADER]: signWebhook(secret, body, o.nowSec) },
    });
    status = res.status;
    // Read at most MAX_RESPONSE_BYTES of the answer (receivers' answers are not used), then let go.
    await readAtMost(res.body, MAX_RESPONSE_BYTES);
    ac.abort(); // let go of the connection
    const ok = res.status >= 200 && res.status < 300;
    return { status: res.status, error: ok ? null : httpError(res), ms: performance.now() - t0 };
  } catch (err) {
    if (status !== null) return { status, error: status >= 200 && status < 300 ? null : `HTTP ${status}`, ms: performance.now() - t0 };
    const e = err as Error;
    const why = e.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : e.name === 'AbortError' ? 'aborted (hub stopping)' : `${e.message}${(e.cause as Error | undefined)?.message ? `: ${(e.cause as Error).message}` : ''}`;
    return { status: null, error: why, ms: performance.now() - t0 };
  } finally {
    clearTimeout(timer);
    o.signal.removeEventListener('abort', onStop);
  }
}

export interface SenderDeps {
  repo: AlertsRepo;
  clock: Clock;
  logger: LoggerPort;
  metrics?: MetricsPort | undefined;
  /** The action (with its secret) of a delivery's rule; null when the rule or action is gone. */
  actionOf(ruleId: number, index: number): AlertAction | null;
}

/** Sends due deliveries; one pass per tick(). */
export class WebhookSender {
  private abort = new AbortController();
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = false;

  constructor(private readonly deps: SenderDeps, private readonly opts: WebhookOptions) {}

  /**
   * Starts the due deliveries that fit in the concurrency bound; resolves when those are done. Ticks may
   * overlap: each fills the slots free now (synchronously, before its first await), so a receiver that
   * hangs holds only its own slot, not the deliveries that fall due meanwhile.
   */
  async tick(): Promise<void> {
    if (this.stopped) return;
    const room = this.opts.concurrency - this.inFlight.size;
    if (room <= 0) return;
    // Deliveries in flight are still pending and due: ask past them.
    const batch = this.deps.repo.due(this.deps.clock.now(), room + this.inFlightIds.size).filter((d) => !this.inFlightIds.has(d.id)).slice(0, room);
    await Promise.all(batch.map((d) => this.track(d)));
  }

  private readonly inFlightIds = new Set<number>();

  private track(d: DueDelivery): Promise<void> {
    this.inFlightIds.add(d.id);
    const p = this.send(d).finally(() => {
      this.inFlight.delete(p);
      this.inFlightIds.delete(d.id);
    });
    this.inFlight.add(p);
    return p;
  }

  private async send(d: DueDelivery): Promise<void> {
    const { repo, clock, logger, metrics } = this.deps;
    const action = this.deps.actionOf(d.ruleId, d.actionIndex);
    const now = clock.now();
    if (!action) {
      repo.attempt(d.id, { at: now, status: null, error: 'the rule or its action was removed', ms: 0, state: 'failed', nextAt: null });
      this.ended(d, 'failed', 'the rule or its action was removed');
      return;
    }
    const problem = urlProblem(d.url); // a rule stored before addRule refused such URLs: no attempt can succeed
    if (problem) {
      repo.attempt(d.id, { at: now, status: null, error: `the URL ${problem}`, ms: 0, state: 'failed', nextAt: null });
      metrics?.inc('edgefleet_alert_webhook_attempts_total', { result: 'failed' });
      logger.warn({ delivery: d.id, url: redactUrl(d.url), error: `the URL ${problem}` }, 'alert webhook not sent');
      this.ended(d, 'failed', `the URL ${problem}`);
      return;
    }
    const r = await postWebhook(d.url, d.body, action.secret, { timeoutMs: this.opts.timeoutMs, signal: this.abort.signal, nowSec: Math.floor(now.getTime() / 1000) });
    if (this.stopped && r.status === null) return; // aborted by stop(): stays pending, retried after restart
    const attempt = d.attempts + 1;
    const ok = r.error === null;
    const last = attempt >= this.opts.attempts;
    const wait = Math.min(this.opts.maxBackoffMs, this.opts.backoffMs * 2 ** (attempt - 1));
    const state = ok ? 'delivered' : last ? 'failed' : 'pending';
    repo.attempt(d.id, { at: clock.now(), status: r.status, error: r.error, ms: r.ms, state, nextAt: state === 'pending' ? new Date(clock.now().getTime() + wait) : null });
    metrics?.inc('edgefleet_alert_webhook_attempts_total', { result: ok ? 'delivered' : 'failed' });
    if (!ok) logger.warn({ delivery: d.id, url: redactUrl(d.url), attempt, error: r.error, retryInMs: state === 'pending' ? wait : null }, 'alert webhook attempt failed');
    if (state !== 'pending') this.ended(d, state, r.error);
  }

  /**
   * A delivery that ended: counted by result, and one given up logged as an error naming the alert and
   * the event the receiver did not get (docs/drift.md "Webhooks"): before, only its attempts were
   * counted, and a lost page showed only in that alert's delivery log.
   */
  private ended(d: DueDelivery, result: 'delivered' | 'failed', error: string | null): void {
    this.deps.metrics?.inc('edgefleet_alert_webhook_deliveries_total', { result });
    if (result === 'failed') {
      this.deps.logger.error({ delivery: d.id, alert: d.alertId, event: d.event, url: redactUrl(d.url), attempts: d.attempts + 1, error },
        `alert webhook given up: alert ${d.alertId}'s ${d.event} was not delivered (GET /api/v1/alerts/${d.alertId}/deliveries)`);
    }
  }

  /** Aborts deliveries in flight and waits for them at most `ms`. */
  /** Sends again after a stop() (a hub that took the lease back, docs/hub.md "Several hubs"). */
  resume(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.abort = new AbortController();
  }

  async stop(ms: number): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await settleWithin(Promise.allSettled([...this.inFlight]), ms, 'alert webhook deliveries', (err) => this.deps.logger.warn({ err: String(err) }, 'stopping: webhook deliveries'));
  }
}
