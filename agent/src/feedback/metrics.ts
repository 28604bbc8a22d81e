// The feedback endpoint's Prometheus series (read when /metrics is scraped; docs/agent.md "Feedback"):
// labels answered by status since start, so an app whose labels come back `unknown` (ids not sent with
// the predictions, too late, evicted, made just before a kill -9) shows on a dashboard and not only in each
// answer; and what the memory of predictions holds against its bounds.
import type { LabelOutcomes, PredictionMemory } from './memory.js';

const STATUSES: Array<keyof LabelOutcomes> = ['counted', 'unknown', 'already_labelled', 'no_prediction'];

export function feedbackMetrics(m: PredictionMemory): string {
  const l = ['# HELP edgefleet_agent_feedback_labels_total Labels posted to /edgefleet/v1/feedback in accepted requests, by how each was answered.', '# TYPE edgefleet_agent_feedback_labels_total counter'];
  for (const s of STATUSES) l.push(`edgefleet_agent_feedback_labels_total{status="${s}"} ${m.outcomes[s]}`);
  l.push(
    '# HELP edgefleet_agent_feedback_remembered_rows Predicted rows remembered for labels (bounded by maxRows).', '# TYPE edgefleet_agent_feedback_remembered_rows gauge', `edgefleet_agent_feedback_remembered_rows ${m.rows}`,
    '# HELP edgefleet_agent_feedback_remembered_bytes Bytes the remembered predictions count for (bounded by maxBytes).', '# TYPE edgefleet_agent_feedback_remembered_bytes gauge', `edgefleet_agent_feedback_remembered_bytes ${m.bytes}`,
  );
  return `${l.join('\n')}\n`;
}
