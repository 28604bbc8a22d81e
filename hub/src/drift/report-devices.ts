// The drift report the alerts part stores and sends (a firing drift or accuracy alert, a retrain request:
// docs/drift.md "Alerts", "Retraining") is by device, ~6.3 KB per device for the example model: ~63 MB on
// 10,000 devices, stored twice (the report, the retrain delivery's body) and posted to a receiver within
// alerts.webhookTimeoutMs. It keeps the MAX_REPORT_DEVICES devices that tell the most, drifted ones first,
// and says how many it left out (docs/decisions/0100-drift-reports-of-alerts.md).
import type { DriftGroup, DriftResponse } from '@edgefleet/shared';

/** Device groups in a report of the alerts part at most. */
export const MAX_REPORT_DEVICES = 200;

/** A group's highest PSI of any feature or output (-1 with none: no verdict). */
function highest(g: DriftGroup): number {
  let m = -1;
  for (const f of [...g.features, ...g.outputs]) if (f.psi !== null && f.psi > m) m = f.psi;
  return m;
}

/**
 * `r` (by device) with at most `max` device groups: the drifted ones, then the others, each by highest
 * PSI (then id), kept in `r`'s order; `leftOut` counts the devices (and drifted ones) not kept. A report
 * within the bound is returned as it is.
 */
export function boundDevices(r: DriftResponse, max = MAX_REPORT_DEVICES): DriftResponse {
  if (r.groups.length <= max) return r;
  const ranked = [...r.groups].sort((a, b) => Number(b.drifted) - Number(a.drifted) || highest(b) - highest(a) || a.key.localeCompare(b.key));
  const kept = new Set(ranked.slice(0, max));
  const left = ranked.slice(max);
  return { ...r, groups: r.groups.filter((g) => kept.has(g)), leftOut: { devices: left.length, drifted: left.filter((g) => g.drifted).length } };
}
