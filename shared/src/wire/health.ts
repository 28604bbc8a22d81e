// The hub's health answers (docs/hub.md "Health and readiness"): GET /api/v1/health (liveness: always
// 200 while the process serves HTTP, with the hub clock and what it knows of its dependencies) and
// GET /api/v1/ready (readiness: 200 while the database and the broker link are up, else 503).
import { z } from 'zod';

/** One dependency as the hub last saw it: `since` when it went up or down, `error` why it is down. */
export const DependencyState = z.object({
  ok: z.boolean(),
  since: z.string().optional(),
  error: z.string().optional(),
});
export type DependencyState = z.infer<typeof DependencyState>;

/** The hub lease as of the hub's last renewal (docs/hub.md "Several hubs"). */
export const LeaseInfo = z.object({
  holder: z.string(), term: z.number(), expiresAt: z.string(), acquiredAt: z.string(), renewedAt: z.string(), sole: z.boolean(),
});

export const HubDependencies = z.object({
  /** The database answered the hub's last lease renewal (a write every renewEveryMs). */
  database: DependencyState,
  /** Embedded broker: listening; external broker: the hub's client connected. */
  broker: DependencyState,
});
export type HubDependencies = z.infer<typeof HubDependencies>;

export const HubHealth = HubDependencies.extend({
  ok: z.literal(true),
  /** The hub's clock: `edgefleet-agent enroll` compares the box's with it. */
  time: z.string(),
  cluster: z.object({ hubId: z.string(), leader: z.boolean(), lease: LeaseInfo.nullable() }).optional(),
  lease: LeaseInfo.nullable().optional(),
});

export const HubReady = HubDependencies.extend({ ready: z.literal(true), time: z.string() });
