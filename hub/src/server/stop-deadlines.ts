// The deadlines of Hub.stop() (hub.ts; docs/hub.md "Stopping"): each step's, their sum, and main.ts's exit by force.
/** Deadlines of Hub.stop()'s steps; main.ts exits by force if the process is still up after HUB_STOP_EXIT_MS. */
export const HUB_STOP_STEP_MS = { http: 2000, part: 1000, alerts: 500, broker: 3000, lease: 1500 };
// Parts that wait on something when stopping: the blob server, rollouts (a step in progress) and
// deployments; ingest only unsubscribes (its stop resolves at once), so it adds nothing to the bound. With
// several hubs the lease's step (singleton jobs, then the release) stops rollouts and alerts, whose own steps then end at once.
export const HUB_STOP_MS = HUB_STOP_STEP_MS.http + 3 * HUB_STOP_STEP_MS.part + HUB_STOP_STEP_MS.alerts + HUB_STOP_STEP_MS.broker;
export const HUB_STOP_EXIT_MS = 9000;
/**
 * What the stop's statements may wait on PostgreSQL, all together from the signal's handling: none holds
 * the event loop (and so the exit timer) past it. A server that answers no probe fails them at once anyway.
 */
export const HUB_STOP_DB_MS = HUB_STOP_EXIT_MS - 1000;
