// An alert rule as stored in alert_rules (its JSON, who added it and when) and as the REST API shows it (the
// webhook URLs redacted); the rules' bound. The repository (repo.ts) reads and writes them; docs/drift.md "Alerts".
import type { AlertRule, AlertRuleCreate } from '@edgefleet/shared';
import { redactUrl } from './webhooks.js';

/** Rules at most (each is evaluated every interval). */
export const MAX_RULES = 500;

export interface StoredRule extends AlertRuleCreate {
  id: number;
  createdAt: string;
  createdBy: string;
}

export type RuleRow = { id: number; rule: string; created_at: string; created_by: string };

/** A stored rule; one stored before keepFiringForSec existed has 0 (resolve at once, as it did). */
export function storedRule(row: RuleRow): StoredRule {
  const r = JSON.parse(row.rule) as NewRule;
  return { ...r, keepFiringForSec: r.keepFiringForSec ?? 0, id: row.id, createdAt: row.created_at, createdBy: row.created_by };
}

/** A rule to add: as POST /alert-rules parses it; keepFiringForSec may be left out (0). */
export type NewRule = Omit<AlertRuleCreate, 'keepFiringForSec'> & { keepFiringForSec?: number | undefined };

export function viewRule(r: StoredRule): AlertRule {
  const { actions, ...rest } = r;
  return { ...rest, actions: actions.map((a) => ({ type: a.type, url: redactUrl(a.url) })) };
}
