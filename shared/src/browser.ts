// @edgefleet/shared/browser: the part of @edgefleet/shared a browser bundle (the console renderer)
// may import at run time: no Node modules, no zod. Types come from '@edgefleet/shared' with `import type`.
export * from './canonical-json.js';
export * from './sse.js';
export * from './errors.js';
export * from './console-csp.js';
// Try it's checks are @edgefleet/shared/browser-infer: a module the console loads only with Try it.
// Latency sketches (pure), for the device view's p95 over time.
export { LATENCY_BUCKETS, emptyLatency, mergeLatency, latencyCount, latencyQuantile } from './sketch/latency.js';
// The labels an observed accuracy needs (the accuracy panel and the `accuracy` alert agree).
export { MIN_ACCURACY_LABELS } from './accuracy-floor.js';
// A device's clock against the hub's, in words (the device page), as the agent and the hub say it.
export { describeClockOffset } from './clock-offset.js';
// Disk space as the fleet table and device page say it.
export * from './disk-text.js';
// Counts with thousands separators (the fleet, drift and device panels).
export * from './count-text.js';
// Reading the hub's paged lists to their end (the device view's windows and events).
export * from './pages.js';
// An alert rule's condition and an alert's value with their unit (the alerts view).
export * from './alert-text.js';
// A rollout gate's condition as the CLI says it.
export * from './gate-text.js';
// A device's versions grouped per model, active apart from the others, as `edgefleet devices ls` says them (the fleet table).
export { modelVersions } from './model-versions.js';
// What a manual rollout waits for (promote), as `rollout show` says it.
export { promoteWait, promoteWaitText } from './rollout-wait.js';
// The console holds a device search the hub would refuse (desktop/src/renderer/fleet-list.ts).
export { SEARCH_COUNT_MAX, SHORT_SEARCH_MAX_DEVICES, shortSearch, totalText } from './device-search-term.js';
// The actions the audit log records (the audit view's suggestions for its Action filter).
export { AUDIT_ACTIONS } from './wire/audit-actions.js';
