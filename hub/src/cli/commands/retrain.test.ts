// `edgefleet retrain-request` against a real hub process: the hub stores the drift report and posts
// it, signed with the rule's secret, to a real HTTP receiver on 127.0.0.1 (which checks the HMAC as
// a training pipeline would); the request is audited; without a rule to send to it is a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildExampleBundle, makeKeys, makeTrust, runCli, startProcess } from '@edgefleet/examples';
import type { WebhookEvent } from '@edgefleet/shared';

import { signedReceiver } from '../../alerts/testing.js';

const SECRET = 'pipeline-secret-0123456789';

test('retrain-request posts the signed drift report to the rule\'s retrain URL and audits it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-retrain-'));
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const rx = await signedReceiver(SECRET, 202);
  const { got, url } = rx;
  const hub = startProcess('hub/src/server/main.ts', ['run', '--data-dir', join(dir, 'hub'), '--http-port', '0', '--mqtt-port', '0', '--trust', trust.path, '--hub-key', keys.files.hub.keyPath]);
  try {
    const bundle = await buildExampleBundle({ dir: join(dir, 'bundles'), version: '1.0.0', keys });
    const ready = JSON.parse(await hub.waitForLine(/"msg":"hub ready"/, 60_000)) as { http: string };
    const admin = readFileSync(join(dir, 'hub', 'admin.token'), 'utf8').trim();
    const cli = (args: string[]) => runCli('hub/src/cli/main.ts', args, { env: { EDGEFLEET_HUB: ready.http, EDGEFLEET_TOKEN: admin } });
    assert.equal((await cli(['model', 'push', bundle.path])).code, 0);

    const none = await cli(['retrain-request', 'vibration-anomaly', '1.0.0', '--reason', 'labels show a drop']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no alert rule with a retrain action for model "vibration-anomaly"/);

    const add = await cli(['alerts', 'rules', 'add', '--name', 'pipeline', '--metric', 'accuracy', '--threshold', '0.8', '--model', 'vibration-anomaly', '--retrain', url, '--secret', SECRET]);
    assert.equal(add.code, 0, add.stderr);
    const r = await cli(['retrain-request', 'vibration-anomaly', '1.0.0', '--reason', 'labels show a drop', '--since', '48h']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /stored drift report \d+ .*retrain requested through 1 rule/);
    assert.match(r.stdout, /pipeline\s+http:\/\/127\.0\.0\.1:\d+\/train\s+delivered\s+1\s+HTTP 202/);

    assert.equal(got.length, 1);
    assert.ok(got[0]!.valid, 'signed with the rule\'s secret');
    const event = JSON.parse(got[0]!.body) as WebhookEvent & { report: { model: string; version: string } };
    assert.equal(event.type, 'retrain.requested');
    assert.deepEqual([event.report.model, event.report.version], ['vibration-anomaly', '1.0.0']);
    assert.equal(event.request?.reason, 'labels show a drop');
    assert.equal(event.request?.kind, 'manual');
    assert.ok(Date.parse(event.request!.until) - Date.parse(event.request!.since) >= 48 * 3600_000);

    const audit = await cli(['audit', '--json', '--target', 'vibration-anomaly@1.0.0']);
    const entries = (JSON.parse(audit.stdout) as { entries: Array<{ action: string; reason: string | null }> }).entries;
    assert.deepEqual(entries.filter((e) => e.action.startsWith('retrain')).map((e) => [e.action, e.reason]), [['retrain.request', 'labels show a drop']]);
  } finally {
    await hub.stop();
    await rx.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
