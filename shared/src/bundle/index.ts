// Signed model bundles: tar format, pack/sign/read/verify, model helpers (docs/architecture.md section 3).
export * from './tar.js';
export * from './read.js';
export * from './write.js';
export * from './model.js';
export * from './rekey.js';
