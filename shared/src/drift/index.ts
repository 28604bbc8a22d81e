export * from './distance.js';
export * from './gamma.js';
export * from './reference-names.js';
