// Whether the box's trust document is current enough for what depends on it (docs/operations.md
// "Clocks that are wrong"). Expiry never stops serving what is installed; it stops installs and the
// acceptance of desired documents until fresh trust arrives (a rotation on ef/v1/trust or
// `edgefleet-agent trust set`). Clocks drift, so the same allowance as desired documents applies.
import { AppError } from '@edgefleet/shared/core';
import type { TrustBody } from '@edgefleet/shared';

/** Allowed clock skew between hub and device: 5 minutes (desired documents and trust expiry alike). */
export const SKEW_MS = 5 * 60_000;

export function trustExpired(trust: TrustBody, now: Date, skewMs = SKEW_MS): boolean {
  return Date.parse(trust.expires) + skewMs < now.getTime();
}

/** TRUST_EXPIRED naming what was refused, when the trust expired more than `skewMs` ago. */
export function assertTrustCurrent(trust: TrustBody, now: Date, what: string, skewMs = SKEW_MS): void {
  if (!trustExpired(trust, now, skewMs)) return;
  throw new AppError(
    'TRUST_EXPIRED',
    `${what} refused: trust document version ${trust.version} expired at ${trust.expires} (now ${now.toISOString()}, skew allowance ${skewMs / 1000}s); the box keeps serving what it runs. Deliver fresh trust: a rotation from the hub, or "edgefleet-agent trust set trust.json"; or, if this box's clock is ahead, set it (NTP)`,
  );
}
