// OIP tensors, request validation, samples, warm-up and preflight (docs/decisions/0009-model-samples.md).
export * from './tensor.js';
export * from './half.js';
export * from './request.js';
export * from './request-fields.js';
export * from './raw.js';
export * from './shape-text.js';
export * from './samples.js';
export * from './preflight.js';
