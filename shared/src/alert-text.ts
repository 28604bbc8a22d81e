// An alert rule's condition and an alert's value as the console says them (docs/drift.md "Alerts"): which
// way the value is breached and in what unit. Pure, no zod: the console bundle imports it.
import type { AlertMetric } from './wire/alerts.js';

/** Metrics where lower is worse: breached while value < threshold (a performance drop). */
export const LOWER_IS_WORSE: readonly AlertMetric[] = ['accuracy', 'disk_free'];
/** Metrics whose value is a share from 0 to 1. */
const SHARES: readonly AlertMetric[] = ['model_error_rate', 'invalid_input_rate', 'accuracy', 'disk_free'];

/** At most 3 decimals (1 from 10 up), trailing zeros dropped: 0.05, 0.312, 12.5. */
const num = (v: number): string => String(Number(v.toFixed(Math.abs(v) >= 10 ? 1 : 3)));

/** A value of `metric` with its unit: `250 ms`, `0.05 (5%)`, `3 devices`, `0.312` (PSI). */
export function alertValueText(metric: AlertMetric, v: number): string {
  if (metric === 'latency_p95') return `${num(v)} ms`;
  if (SHARES.includes(metric)) return `${num(v)} (${num(v * 100)}%)`;
  if (metric === 'devices_offline') return `${num(v)} device${v === 1 ? '' : 's'}`;
  return num(v);
}

/** When a rule is breached: `≥ 0.2`, `< 0.1 (10%)`; a schedule rule has no value to compare. */
export function alertCondition(metric: AlertMetric, threshold: number): string {
  if (metric === 'schedule') return 'on its schedule (no value)';
  return `${LOWER_IS_WORSE.includes(metric) ? '<' : '≥'} ${alertValueText(metric, threshold)}`;
}
