// The shadow runner's Prometheus series (read when /metrics is scraped; docs/agent.md "Shadow
// evaluation"): totals since start of what it sampled, dropped, ran and found in agreement, the samples
// waiting, and the candidates loaded. The windows carry the same numbers per window and candidate.
import type { ShadowRunner, ShadowStats } from './runner.js';

const COUNTERS: Array<[keyof ShadowStats, string]> = [
  ['sampled', 'Answered requests queued for a shadow run.'],
  ['dropped', 'Samples dropped because the shadow queue was full (the shadow fell behind).'],
  ['runs', 'Shadow runs that finished.'],
  ['agree', 'Shadow runs whose outputs agreed with the answer given.'],
  ['errors', 'Shadow runs that failed.'],
];

export function shadowMetrics(s: ShadowRunner): string {
  const l: string[] = [];
  for (const [key, help] of COUNTERS) {
    const metric = `edgefleet_agent_shadow_${key}_total`;
    l.push(`# HELP ${metric} ${help}`, `# TYPE ${metric} counter`, `${metric} ${s.stats[key]}`);
  }
  l.push('# HELP edgefleet_agent_shadow_queued Samples waiting for a shadow run.', '# TYPE edgefleet_agent_shadow_queued gauge', `edgefleet_agent_shadow_queued ${s.queued}`);
  l.push('# HELP edgefleet_agent_shadow_candidate A candidate loaded in shadow (1 per model and version).', '# TYPE edgefleet_agent_shadow_candidate gauge');
  for (const name of s.names()) l.push(`edgefleet_agent_shadow_candidate{model=${JSON.stringify(name)},version=${JSON.stringify(s.current(name)?.version ?? '')}} 1`);
  return `${l.join('\n')}\n`;
}
