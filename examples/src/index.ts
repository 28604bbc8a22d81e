// @edgefleet/examples: the ONNX model builder, the example vibration model, and
// the test kit (processes, keys, trust, bundles) that tests and benches use.
export * from './rng.js';
export * from './onnx/builder.js';
export * from './onnx/models.js';
export * from './testkit/spawn.js';
export * from './testkit/in-process.js';
export * from './testkit/fixtures.js';
export * from './testkit/hostile.js';
export * from './testkit/wait.js';
export * from './testkit/small-disk.js';
export * from './vibration/data.js';
export * from './vibration/train.js';
export * from './vibration/export.js';
export * from './vibration/metrics.js';
export * from './vibration/reference.js';
export * from './vibration/pipeline.js';
export * from './vibration/make.js';
export * from './testkit/unit.js';
export * from './testkit/scan.js';
export * from './testkit/app-error.js';
export * from './loop/run.js';
export { startReceiver, verifySignature, type Receiver } from './loop/receiver.js';
export { labelCaptured } from './loop/retrain.js';
