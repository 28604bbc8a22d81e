// The agent writes nothing outside its data directory: onnxruntime's own telemetry (a device id and
// an events database under ~/.cache/Microsoft/DeveloperTools) is switched off before it loads
// (shared/ort-env.js). Real processes with HOME pointed at an empty directory: install (which test-
// loads the model), run, one prediction, stop; HOME is still empty afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startProcess } from '@edgefleet/examples';
import { makeKit, mlpBundle, req, row } from '../testing.js';

test('install and serve leave HOME untouched (no onnxruntime telemetry files)', { timeout: 120_000 }, async () => {
  const kit = makeKit();
  try {
    const home = join(kit.dir, 'home');
    mkdirSync(home);
    const env = { HOME: home, XDG_CACHE_HOME: undefined, ORT_DISABLE_TELEMETRY: undefined };
    const data = join(kit.dir, 'data');
    const bundle = (await mlpBundle(kit, '1.0.0')).path;
    for (const args of [['trust', 'set', kit.trust.path], ['install', bundle]]) {
      const r = await runCli('agent/src/cli/main.ts', [...args, '--data-dir', data], { env });
      assert.equal(r.code, 0, r.stderr);
    }
    const agent = startProcess('agent/src/cli/main.ts', ['run', '--data-dir', data, '--api-port', '0'], { env });
    try {
      const ready = JSON.parse(await agent.waitForLine(/"msg":"ready"/)) as { api: string };
      const res = await req(ready.api, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]), { 'content-type': 'application/json' });
      assert.equal(res.status, 200, res.text);
    } finally {
      assert.equal((await agent.stop()).code, 0);
    }
    assert.deepEqual(readdirSync(home, { recursive: true }), [], 'nothing was written under HOME');
  } finally {
    kit.cleanup();
  }
});
