// Bounds on agent settings beyond types and signs: a duration past Node's longest timer (it would fire
// after 1 ms: sync.reconnectMs would reconnect every millisecond), a send rate whose token-bucket wait
// does not fit a timer, a summary window longer than a day, a stop grace longer than the agent's stop
// gives it, an onnxruntime thread pool larger than any box's cores, a summaries budget under 64 KiB.
// Each is defined once, zod-free, in shared/src/agent-settings.ts, and carried by the shared schema
// (shared/src/wire/agent-config.ts), so the agent (config.ts: a local file, the daemon's start,
// a remote configuration in sync/config-apply.ts) and the hub (at `config set`) refuse the same values,
// naming the field; the quick check (config-fast.ts) declines them and leaves the message to the schema.
export { MAX_ORT_THREADS, MAX_STOP_GRACE_MS, MAX_TIMER_MS, MAX_WINDOW_SEC, MIN_RATE_PER_SEC, MIN_SUMMARY_BUDGET_BYTES } from '@edgefleet/shared/core';

