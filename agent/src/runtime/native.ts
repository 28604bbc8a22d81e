// The native backend: onnxruntime-node, loaded with require rather than import: importing a
// CommonJS package from ESM runs Node's CommonJS export lexer and translator, ~2.5 MB of the idle
// agent's RSS for this package (docs/performance.md). Loaded when the backend is opened, so a box
// without its binaries can fall back to wasm (backend.ts).
import '@edgefleet/shared/ort-env'; // before onnxruntime-node: no telemetry, nothing written to HOME
import { createRequire } from 'node:module';
import type Ort from 'onnxruntime-node';
import type { Backend, BackendSession, SessionSettings } from './backend.js';

/**
 * Spinning thread pools halved throughput on a 2-core box (docs/architecture.md section 6),
 * so the defaults are 1 intra-op thread, 1 inter-op thread, spinning off.
 */
export function nativeOptions(s: SessionSettings): Ort.InferenceSession.SessionOptions {
  const flag = s.spinning ? '1' : '0';
  return {
    intraOpNumThreads: s.intraOpThreads,
    interOpNumThreads: s.interOpThreads,
    graphOptimizationLevel: s.graphOptimization,
    executionProviders: ['cpu'],
    // onnxruntime's own log (a coloured line on stderr for every run that fails, warnings at load) would
    // break the agent's JSON log lines (docs/agent.md "Configuration", log.level), one line per bad request
    // a client sends: only fatal ones. Its errors still reach the agent as exceptions, answered and logged.
    logSeverityLevel: 4,
    extra: { session: { intra_op: { allow_spinning: flag }, inter_op: { allow_spinning: flag } } },
  };
}

export function nativeBackend(): Backend {
  // Throws here (the binding loads with the package) on a box without its binaries: `auto` falls back.
  const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
  return {
    name: 'native',
    version: ort.env.versions.node ?? ort.env.versions.common,
    async create(model, settings) {
      const session = typeof model === 'string'
        ? await ort.InferenceSession.create(model, nativeOptions(settings))
        : await ort.InferenceSession.create(model, nativeOptions(settings));
      return session as unknown as BackendSession;
    },
    tensor: (type, data, dims) => new ort.Tensor(type as Ort.Tensor.Type, data as never, dims as number[]),
  };
}
