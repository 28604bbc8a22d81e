// `npm start` as a test (the rollout story, with short bakes and summary windows): runs examples/src/start.ts
// (built in the test run) with 2 agents (the canary and one judged against it: a third only added traffic
// to serve) on free ports until 6 s after the two rollouts, and checks from its output (the final "fleet
// summary" it read from the hub's API) that every agent ran 1.0.0, the canary switched to 2.0.0 while the
// others stayed, predictions were served by every agent, summary windows reached the hub, and everything
// stopped cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { programArgv } from '@edgefleet/examples';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function runStart(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, [...programArgv('examples/src/start.ts'), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGINT'); // the script stops its fleet on SIGINT; a test timeout must not leak processes
      setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
      reject(new Error(`start.ts did not finish within ${timeoutMs} ms; output so far:\n${stdout.slice(-4000)}\n${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface SummaryDevice {
  deviceId: string;
  tags: Record<string, string>;
  online: boolean;
  version: string | null;
  deployment: { id: number; version: string; status: string } | null;
  served: number | null;
  hubWindows: number;
  hubPredictions: number;
}

test('npm start: v1 everywhere, v2 walks canary -> all, the regressed 3.0.0 is stopped at canary and rolled back; predictions served and uploaded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-start-'));
  try {
    // Two-second summary windows: gate data reaches the hub within seconds of a switch (with the default
    // 10 s windows each rollout waited most of a window for it). 40 requests/s of 4 rows: a canary has
    // the gates' 600 predictions ~4 s after it switches; the bake is the least a wave runs, its gates
    // wait for those predictions (docs/rollouts.md "Gates"). Six seconds after the story are enough
    // for the canary to report the rollback of 3.0.0 (seen within 3.5 s on a box at load 8).
    const r = await runStart(['--agents', '2', '--seconds', '6', '--window-sec', '2', '--rate', '40', '--bake-sec', '3', '--http-port', '0', '--mqtt-port', '0', '--data-dir', join(dir, 'fleet'), '--out', join(dir, 'out')], 300_000);
    assert.equal(r.code, 0, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    assert.match(r.stdout, /hub HTTP http:\/\/127\.0\.0\.1:\d+/);
    assert.match(r.stdout, /hub MQTT mqtt:\/\/127\.0\.0\.1:\d+/);
    // The console the hub serves (the test run builds it, as `npm start` does): where it is, not "not built".
    assert.match(r.stdout, /\n {4}console http:\/\/127\.0\.0\.1:\d+\/ \(sign in with the admin token\)\n/);
    for (const v of ['1.0.0', '2.0.0', '3.0.0']) assert.match(r.stdout, new RegExp(`pushed vibration-anomaly ${v.replace(/\./g, '\\.')}`));
    assert.match(r.stdout, /all 2 device\(s\) run 1\.0\.0/);
    // The live view shows the rollouts with their gates.
    assert.match(r.stdout, /rollouts:\n {2}ro-\w+ 2\.0\.0 -> 3\.0\.0 rolled back — wave canary failed its gates: [^\n]*output_shift/);

    const rl = r.stdout.split('\n').find((l) => l.startsWith('fleet rollouts '));
    assert.ok(rl, `no "fleet rollouts" line in:\n${r.stdout.slice(-3000)}`);
    const [r2, r3] = JSON.parse(rl.slice('fleet rollouts '.length)) as Array<{ version: string; state: string; waves: Array<{ name: string; state: string; notified: number; gates: Array<{ name: string; verdict: string }> }> }>;
    assert.deepEqual([r2?.version, r2?.state, r2?.waves.map((w) => w.state)], ['2.0.0', 'completed', ['passed', 'passed']]);
    assert.deepEqual([r3?.version, r3?.state, r3?.waves.map((w) => w.state)], ['3.0.0', 'rolled_back', ['failed', 'skipped']]);
    assert.equal(r3?.waves[0]?.gates.find((g) => g.name === 'output_shift')?.verdict, 'fail');

    const line = r.stdout.split('\n').find((l) => l.startsWith('fleet summary '));
    assert.ok(line, `no "fleet summary" line in:\n${r.stdout.slice(-3000)}`);
    const s = JSON.parse(line.slice('fleet summary '.length)) as { devices: SummaryDevice[] };
    assert.equal(s.devices.length, 2);
    for (const d of s.devices) {
      assert.equal(d.version, '2.0.0', `${d.deviceId} runs 2.0.0 after the rollback of 3.0.0`);
      assert.ok((d.served ?? 0) > 0, `${d.deviceId} served no predictions`);
      assert.ok(d.hubPredictions <= (d.served ?? 0), `${d.deviceId}: the hub holds ${d.hubPredictions} predictions, more than the ${d.served} served`);
    }
    assert.ok(s.devices.every((d) => d.online), 'every device online at the end');
    assert.ok(s.devices.some((d) => d.hubPredictions > 0), 'windows at the hub hold predictions');
    assert.match(r.stdout, /stopped cleanly \(2 agent\(s\), hub\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npm start: a bad option is refused with what was expected', async () => {
  const r = await runStart(['--agents', '0'], 60_000);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error \[BAD_REQUEST\]: --agents: expected a positive integer, got "0"\n/);
  assert.match(r.stderr, /usage: npm start/);
});
