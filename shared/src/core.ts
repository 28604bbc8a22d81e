// @edgefleet/shared/core: the part of @edgefleet/shared that does not load zod (errors,
// canonical JSON and hashes, semver, sketches, drift, the token bucket, deadlines, text escaping,
// private files, SQLite database files made whole (db-file.ts), bounded JSON, why a server could not be reached (unreachable.ts), sealed-model crypto, and the inference helpers but for reading samples). The standalone
// agent's start-up path imports only this: zod and the wire schemas cost ~20 MB of RSS
// (docs/performance.md). Types from the wire schemas are still imported from
// '@edgefleet/shared' with `import type` (erased at build).
export * from './errors.js';
export * from './listen-error.js';
export * from './schema-too-new.js';
export * from './unreachable.js';
export * from './fetch-ports.js';
export * from './error-kinds.js';
export * from './canonical.js';
export * from './semver.js';
export * from './sketch/histogram.js';
export * from './sketch/moments.js';
export * from './sketch/categorical.js';
export * from './sketch/latency.js';
export * from './sketch/window.js';
export * from './drift/index.js';
export * from './token-bucket.js';
export * from './deadline.js';
export * from './text.js';
export * from './private-files.js';
export * from './json-bounded.js';
export * from './crypto/sealed.js';
export * from './crypto/capture.js';
export * from './atomic-file.js';
export * from './disk-space.js';
export * from './disk-text.js';
export * from './count-text.js';
export * from './infer/tensor.js';
export * from './infer/half.js';
export * from './infer/request.js';
export * from './infer/request-fields.js';
export * from './infer/raw.js';
export * from './infer/feeds.js';
export * from './infer/preflight.js';
export * from './bundle/model-io.js';
export * from './sse.js';
export * from './agent-settings.js';
export * from './cron.js';
export * from './wal-keeper.js';
export * from './db-file.js';
