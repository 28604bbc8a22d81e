// `edgefleet retrain-request MODEL VERSION --reason R [--since 24h] [--rule NAME]` (docs/drift.md
// "Retraining"): the hub stores the current drift report and posts it, signed, to the retrain actions
// of alert rules; the command waits for the deliveries' outcome (--wait, default 20 s).
import { escapeLines, type Delivery, type RetrainRequestResult } from '@edgefleet/shared';
import { timeCheck } from '@edgefleet/shared/cli';
import { UsageError, optBool, optString, problemOf, reqString, type Command } from '../args.js';
import { table } from '../output.js';
import { HUB_OPTIONS, HubClient } from '../remote-client.js';
import { parseSince } from './drift.js';
import { parseDuration } from './parse.js';

function parseWait(text: string): number {
  const sec = parseDuration(text, '--wait');
  if (sec > 600) throw new UsageError(`--wait ${text}: expected at most 10m`);
  return sec;
}

export const retrainRequest: Command = {
  summary: 'Send the current drift report of a model version to the training pipeline (the retrain actions of alert rules); audited',
  usage: 'MODEL VERSION --reason R [--since 24h] [--until AGO|DATE|ISO] [--rule NAME] [--wait 20s] [--json]',
  options: {
    ...HUB_OPTIONS,
    reason: { type: 'string', required: true, value: 'R', description: 'why retrain (sent with the report, audited)' },
    since: { type: 'string', value: 'AGO|DATE|ISO', description: 'start of the drift report: a duration ago (24h, 7d), a date (2026-01-01) or an ISO time (default 24h)', check: timeCheck('--since') },
    until: { type: 'string', value: 'AGO|DATE|ISO', description: 'end, in the same forms (default now)', check: timeCheck('--until') },
    rule: { type: 'string', value: 'NAME', description: 'the alert rule whose retrain actions get it (default: every rule of the model with one)' },
    wait: { type: 'string', value: 'DUR', description: 'wait this long for the deliveries (default 20s, at most 10m; 0s: do not wait)', check: problemOf(parseWait) },
  },
  positionals: [{ name: 'MODEL', description: 'model name', required: true }, { name: 'VERSION', description: 'version', required: true }],
  async run(args, ctx) {
    const [model, version] = args.positionals as [string, string];
    const now = new Date();
    const body: Record<string, string> = { model, version, reason: reqString(args, 'reason') };
    const since = optString(args, 'since');
    if (since !== undefined) body.since = parseSince(since, now);
    const until = optString(args, 'until');
    if (until !== undefined) body.until = parseSince(until, now, '--until');
    const rule = optString(args, 'rule');
    if (rule !== undefined) body.rule = rule;
    const waitSec = parseWait(optString(args, 'wait') ?? '20s');
    const client = HubClient.from(args, ctx);
    const r = await client.request<RetrainRequestResult>('POST', '/retrain-requests', body);
    // The hub sends the deliveries from its queue (retried with backoff): follow them until none is pending.
    const deadline = Date.now() + waitSec * 1000;
    let deliveries: Array<Delivery & { rule: string }> = [];
    for (;;) {
      deliveries = [];
      for (const q of r.requests) {
        const d = await client.request<{ deliveries: Delivery[] }>('GET', `/alerts/${q.alertId}/deliveries`);
        deliveries.push(...d.deliveries.map((x) => ({ ...x, rule: q.rule })));
      }
      if (!deliveries.some((d) => d.state === 'pending') || Date.now() >= deadline) break;
      await new Promise((res) => setTimeout(res, 500));
    }
    if (optBool(args, 'json')) {
      ctx.stdout.write(`${JSON.stringify({ ...r, deliveries }, null, 2)}\n`);
    } else {
      ctx.stdout.write(escapeLines(`stored drift report ${r.reportId} (${r.since} .. ${r.until}); retrain requested through ${r.requests.length} rule(s)\n`) + table(
        ['RULE', 'URL', 'STATE', 'ATTEMPTS', 'LAST'],
        deliveries.map((d) => {
          const last = d.attempts[d.attempts.length - 1];
          return [d.rule, d.url, d.state, String(d.attempts.length), last ? (last.status !== null ? `HTTP ${last.status}` : last.error ?? '-') : '-'];
        }),
      ));
    }
    // Delivered or still retrying is success; a delivery that failed for good is not.
    return deliveries.some((d) => d.state === 'failed') ? 1 : 0;
  },
};
