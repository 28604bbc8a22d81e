export * from './schema.js';
export * from './histogram.js';
export * from './moments.js';
export * from './categorical.js';
export * from './latency.js';
export * from './window.js';
