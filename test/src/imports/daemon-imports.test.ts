// What the agent daemon must not load (docs/performance.md "Performance"; the daemon path imports
// only @edgefleet/shared/core): zod and pino never, mqtt not on a box that is not enrolled. The agent
// is started as packaging/systemd/edgefleet-agent.service starts it (its `run` arguments and
// Environment= lines; from source, or built when the test run says so) on a provisioned data dir with the example model,
// serves a request, is stopped with SIGTERM, and every module it resolved is read from a record
// (record-modules.mjs). The bench (agent/bench/coldstart.bench.ts) only showed such an import as a
// few MB of idle RSS; this test names the package and the module that pulled it in.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inferBody, provisionAgent, startUnitAgent } from '../scenarios/unit-agent.js';
import { besideTest } from '@edgefleet/examples';

const RECORDER = fileURLToPath(besideTest('./record-modules.mjs', import.meta.url));

/** The package a resolved module URL or path belongs to (scoped names included), or null outside node_modules. */
export function packageOf(moduleId: string): string | null {
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(moduleId);
  return m ? m[1]! : null;
}

test('packageOf names the package of a resolved module', () => {
  assert.equal(packageOf('file:///x/node_modules/zod/v4/classic/index.js'), 'zod');
  assert.equal(packageOf('/x/node_modules/pino/pino.js'), 'pino');
  assert.equal(packageOf('file:///x/node_modules/@grpc/grpc-js/build/src/index.js'), '@grpc/grpc-js');
  assert.equal(packageOf('file:///x/shared/src/core.ts'), null);
});

test('the agent daemon, started as its systemd unit starts it on an unenrolled box, loads neither zod, pino nor mqtt', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-daemon-imports-'));
  try {
    const { data, bundle } = await provisionAgent(dir);
    const record = join(dir, 'modules.txt');
    const agent = await startUnitAgent(data, bundle, { env: { EF_RECORD_MODULES: record }, nodeArgs: ['--import', RECORDER] });
    try {
      // One prediction, so the serving path's own lazy imports are loaded too.
      const res = await fetch(`${agent.api}/v2/models/${bundle.manifest.name}/infer`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: inferBody(bundle, 1),
      });
      assert.equal(res.status, 200, await res.text());
    } finally {
      const st = await agent.process.stop('SIGTERM', 15_000);
      assert.equal(st.code, 0, `the agent exited with ${st.code ?? st.signal}: ${agent.process.output().stderr.slice(-2000)}`);
    }
    const modules = readFileSync(record, 'utf8').split('\n').filter(Boolean);
    const packages = new Set(modules.map(packageOf));
    // The record works: the daemon's own modules and its CommonJS dependencies are in it.
    assert.ok(modules.some((m) => /\/agent\/(src\/cli\/run\.ts|dist\/cli\/run\.js)$/.test(m)), `expected agent/src/cli/run.ts (or its built dist/cli/run.js) among ${modules.length} recorded modules`);
    assert.ok(packages.has('better-sqlite3'), 'expected better-sqlite3 (CommonJS) among the recorded packages');
    for (const forbidden of ['zod', 'pino', 'mqtt']) {
      const hits = modules.filter((m) => packageOf(m) === forbidden);
      assert.deepEqual(hits.slice(0, 3), [], `the daemon loaded ${forbidden} (${hits.length} modules); the daemon path must import only @edgefleet/shared/core`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
