// @edgefleet/shared/browser: the part of @edgefleet/shared a browser bundle (the console renderer)
// may import at run time: no Node modules, no zod. Types come from '@edgefleet/shared' with `import type`.
export * from './canonical-json.js';
export * from './sse.js';
export * from './errors.js';
export * from './console-csp.js';
