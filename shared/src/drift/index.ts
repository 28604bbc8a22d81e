export * from './distance.js';
export * from './gamma.js';
