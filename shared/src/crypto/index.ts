// Keys, signatures, thresholds and trust documents (docs/architecture.md section 4).
export * from './keys.js';
export * from './sign.js';
export * from './threshold.js';
export * from './trust.js';
export * from './sealed.js';
export * from './sealed-files.js';
export * from './capture.js';
