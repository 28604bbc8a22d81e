export * from './common.js';
export * from './manifest.js';
export * from './trust.js';
export * from './desired.js';
export * from './telemetry.js';
export * from './blob.js';
export * from './topics.js';
