// @edgefleet/shared: what both ends of a wire agree on. Imports nothing else of ours.
export * from './errors.js';
export * from './schema-too-new.js';
export * from './error-kinds.js';
export * from './wire/index.js';
export * from './canonical.js';
export * from './json-bounded.js';
export * from './semver.js';
export * from './crypto/index.js';
export * from './bundle/index.js';
export * from './sketch/index.js';
export * from './drift/index.js';
export * from './token-bucket.js';
export * from './infer/index.js';
export * from './deadline.js';
export * from './text.js';
export * from './private-files.js';
export * from './clock-offset.js';
