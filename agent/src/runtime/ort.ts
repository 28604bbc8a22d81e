// onnxruntime-node, loaded with require rather than import: importing a CommonJS package
// from ESM runs Node's CommonJS export lexer and translator, ~2.5 MB of the idle agent's
// RSS for this package (docs/performance.md). The same module object either way.
import '@edgefleet/shared/ort-env'; // before onnxruntime-node: no telemetry, nothing written to HOME
import { createRequire } from 'node:module';
import type Ort from 'onnxruntime-node';

export const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
