// Decides whether the agent accepts a desired-state document (docs/architecture.md section 4): it must verify
// against the trusted hub keys, name this device, have a seq above the last applied one (replay and
// rollback attacks), and not be expired. Clocks on edge boxes drift, so `issued` may be up to
// SKEW_MS in the future and `expires` is honoured with the same allowance.
import { AppError, DesiredBody, toAppError, verifyEnvelope, type TrustBody } from '@edgefleet/shared';

/** Allowed clock skew between hub and device: 5 minutes. */
export const SKEW_MS = 5 * 60_000;

export type DesiredVerdict = { ok: true; body: DesiredBody } | { ok: false; seq: number; code: string; message: string };

export function checkDesired(doc: unknown, ctx: { trust: TrustBody; deviceId: string; lastSeq: number; now: Date; skewMs?: number }): DesiredVerdict {
  const skew = ctx.skewMs ?? SKEW_MS;
  const rawSeq = (doc as { signed?: { seq?: unknown } } | null)?.signed?.seq;
  const seq = typeof rawSeq === 'number' ? rawSeq : 0;
  try {
    const body = verifyEnvelope(doc, ctx.trust, 'hub', DesiredBody, 'desired-state document');
    if (body.deviceId !== ctx.deviceId) {
      throw new AppError('DOCUMENT_WRONG_DEVICE', `desired-state document seq ${body.seq} is for device "${body.deviceId}", not this device "${ctx.deviceId}"`);
    }
    if (body.seq <= ctx.lastSeq) {
      throw new AppError('DOCUMENT_REPLAYED', `desired-state document seq ${body.seq} is not above the last applied seq ${ctx.lastSeq} (replayed or older document)`);
    }
    const now = ctx.now.getTime();
    if (Date.parse(body.expires) + skew < now) {
      throw new AppError('DOCUMENT_EXPIRED', `desired-state document seq ${body.seq} expired at ${body.expires} (now ${ctx.now.toISOString()}, skew allowance ${skew / 1000}s)`);
    }
    if (Date.parse(body.issued) - skew > now) {
      throw new AppError('DOCUMENT_EXPIRED', `desired-state document seq ${body.seq} is issued in the future (${body.issued}; now ${ctx.now.toISOString()})`);
    }
    return { ok: true, body };
  } catch (err) {
    const e = toAppError(err);
    return { ok: false, seq, code: e.code, message: e.message };
  }
}
