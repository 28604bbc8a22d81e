// Decides whether the agent accepts a desired-state document (docs/architecture.md section 4): it
// must verify against the trusted hub keys, name this device, have a seq above the floor of the hub
// key(s) that signed it (replay and rollback attacks), and not be expired. The seq space belongs to
// the signing key (as TUF ties version floors to a role's keys): a key rotated out of the hub role
// cannot sign at all, and a new key starts with floor 0, so a document a stolen key pushed to a huge
// seq does not lock the device out after the rotation (docs/operations.md "A stolen hub key").
// Clocks on edge boxes drift, so `issued` may be up to SKEW_MS in the future and `expires` is
// honoured with the same allowance.
import { AppError, DesiredBody, canonicalBytes, checkThreshold, describeClockOffset, toAppError, verifyEnvelope, type Signature, type TrustBody } from '@edgefleet/shared';
import { SKEW_MS, assertTrustCurrent } from '../trust-current.js';

export { SKEW_MS };

/** What a refusal judged by the box's clock says to do (desired-intake.ts takes the document again). */
const RECHECKED = ': if the clock is wrong, set it (NTP); the document is taken again once the clock agrees (looked at every 30 s)';

/** Refusals that depend on the box's clock: a document refused so is looked at again (desired-intake.ts). */
export const CLOCK_JUDGED: ReadonlySet<string> = new Set(['DOCUMENT_EXPIRED', 'TRUST_EXPIRED']);

export type DesiredVerdict =
  | { ok: true; body: DesiredBody; signers: string[] }
  | { ok: false; seq: number; code: string; message: string };

export interface DesiredContext {
  trust: TrustBody;
  deviceId: string;
  /** The seq floor of the hub keys that signed a document (highest of theirs). */
  floor?: (signers: string[]) => number;
  /** One floor for every key (tests and callers without per-key floors). */
  lastSeq?: number;
  now: Date;
  skewMs?: number;
}

/** The hub-role keys whose signatures over the document verify (each once). */
export function hubSigners(doc: unknown, trust: TrustBody): string[] {
  const env = doc as { signed?: unknown; signatures?: Signature[] };
  return checkThreshold(trust, 'hub', canonicalBytes(env.signed), env.signatures ?? []).valid;
}

export function checkDesired(doc: unknown, ctx: DesiredContext): DesiredVerdict {
  const skew = ctx.skewMs ?? SKEW_MS;
  const rawSeq = (doc as { signed?: { seq?: unknown } } | null)?.signed?.seq;
  const seq = typeof rawSeq === 'number' ? rawSeq : 0;
  try {
    // Signatures only count from keys in the CURRENT hub role: a removed key's documents fail here.
    const body = verifyEnvelope(doc, ctx.trust, 'hub', DesiredBody, 'desired-state document');
    const signers = hubSigners(doc, ctx.trust);
    if (body.deviceId !== ctx.deviceId) {
      throw new AppError('DOCUMENT_WRONG_DEVICE', `desired-state document seq ${body.seq} is for device "${body.deviceId}", not this device "${ctx.deviceId}"`);
    }
    const floor = ctx.floor ? ctx.floor(signers) : (ctx.lastSeq ?? 0);
    if (body.seq <= floor) {
      throw new AppError('DOCUMENT_REPLAYED', `desired-state document seq ${body.seq} is not above the last applied seq ${floor} of hub key ${signers.map((k) => `${k.slice(0, 8)}…`).join(', ')} (replayed or older document)`);
    }
    assertTrustCurrent(ctx.trust, ctx.now, `desired-state document seq ${body.seq}`, skew);
    const now = ctx.now.getTime();
    if (Date.parse(body.expires) + skew < now) {
      throw new AppError('DOCUMENT_EXPIRED', `desired-state document seq ${body.seq} expired at ${body.expires} (this box's clock reads ${ctx.now.toISOString()}, skew allowance ${skew / 1000}s)${RECHECKED}`);
    }
    if (Date.parse(body.issued) - skew > now) {
      const off = describeClockOffset(now - Date.parse(body.issued));
      throw new AppError('DOCUMENT_EXPIRED', `desired-state document seq ${body.seq} is issued in the future (${body.issued}): this box's clock reads ${ctx.now.toISOString()}, ${off} the hub that issued it (skew allowance ${skew / 1000}s)${RECHECKED}`);
    }
    return { ok: true, body, signers };
  } catch (err) {
    const e = toAppError(err);
    return { ok: false, seq, code: e.code, message: e.message };
  }
}
