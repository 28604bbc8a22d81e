// @edgefleet/shared/browser-infer: the sample request reader (the agent's own validator), session runner and output
// comparison, for "Try it" (the console's models view runs a bundle's samples in the browser with onnxruntime-web;
// docs/console.md). Apart from @edgefleet/shared/browser: a bundle splits by module, and the console loads these
// 13.5 KiB only with Try it, not at start (docs/decisions/0190-views-load-in-chunks.md).
export { parseSampleJson, parseSampleRequest } from './infer/sample-request.js';
export { sessionRunner } from './infer/tensor.js';
export { compareOutputs } from './infer/preflight.js';
