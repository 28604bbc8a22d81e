// The runtime's Prometheus series (read when /metrics is scraped): the execution backend in use
// and, per model, dynamic batching's runs (docs/agent.md "Runtime").
import type { ModelRuntime } from './runtime.js';

export function runtimeMetrics(rt: ModelRuntime): string {
  const l = [
    '# HELP edgefleet_agent_runtime_backend The onnxruntime backend running the models (1 for the one in use).',
    '# TYPE edgefleet_agent_runtime_backend gauge',
  ];
  const used = rt.backendInUse;
  for (const b of ['native', 'wasm'] as const) l.push(`edgefleet_agent_runtime_backend{backend="${b}"} ${used === b ? 1 : 0}`);
  const names = rt.names();
  const series: Array<[string, string, 'runs' | 'requests' | 'retried']> = [
    ['edgefleet_agent_batch_runs_total', 'Session runs that carried two or more requests (dynamic batching).', 'runs'],
    ['edgefleet_agent_batched_requests_total', 'Requests that ran in a batch of two or more.', 'requests'],
    ['edgefleet_agent_batch_retried_requests_total', 'Requests run alone again after their batch failed.', 'retried'],
  ];
  for (const [metric, help, key] of series) {
    l.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} counter`);
    for (const n of names) l.push(`${metric}{model=${JSON.stringify(n)}} ${rt.batchStats(n)?.[key] ?? 0}`);
  }
  return `${l.join('\n')}\n`;
}
