// `npm start` as a test: runs examples/src/start.ts from source with 3 agents on free
// ports for 40 s after the canary deployment, and checks from its output (the final
// "fleet summary" it read from the hub's API) that every agent ran 1.0.0, the canary
// switched to 2.0.0 while the others stayed, predictions were served by every agent,
// summary windows reached the hub, and everything stopped cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function runStart(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'examples/src/start.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
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

test('npm start: a local fleet deploys v1 to all, v2 to the canary, serves predictions and uploads windows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-start-'));
  try {
    const r = await runStart(['--agents', '3', '--seconds', '40', '--http-port', '0', '--mqtt-port', '0', '--data-dir', join(dir, 'fleet'), '--out', join(dir, 'out')], 300_000);
    assert.equal(r.code, 0, `${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
    assert.match(r.stdout, /hub HTTP http:\/\/127\.0\.0\.1:\d+/);
    assert.match(r.stdout, /hub MQTT mqtt:\/\/127\.0\.0\.1:\d+/);
    assert.match(r.stdout, /pushed vibration-anomaly 1\.0\.0/);
    assert.match(r.stdout, /pushed vibration-anomaly 2\.0\.0/);
    assert.match(r.stdout, /all 3 device\(s\) run 1\.0\.0/);
    assert.match(r.stdout, /deployment 2: vibration-anomaly 2\.0\.0 to 1 device\(s\)/);

    const line = r.stdout.split('\n').find((l) => l.startsWith('fleet summary '));
    assert.ok(line, `no "fleet summary" line in:\n${r.stdout.slice(-3000)}`);
    const s = JSON.parse(line.slice('fleet summary '.length)) as { devices: SummaryDevice[]; deployments: Array<{ id: number; version: string; counts: Record<string, number> }> };
    assert.equal(s.devices.length, 3);
    const canary = s.devices.filter((d) => d.tags['ring'] === 'canary');
    const main = s.devices.filter((d) => d.tags['ring'] === 'main');
    assert.equal(canary.length, 1);
    assert.equal(main.length, 2);
    assert.equal(canary[0]?.version, '2.0.0');
    assert.deepEqual(canary[0]?.deployment && { id: canary[0].deployment.id, status: canary[0].deployment.status }, { id: 2, status: 'active' });
    for (const d of main) {
      assert.equal(d.version, '1.0.0', `${d.deviceId} should still run 1.0.0`);
      assert.equal(d.deployment?.status, 'active');
    }
    // Deployment 1 reached every device: active on the main ring, superseded on the canary by deployment 2.
    const d1 = s.deployments.find((d) => d.id === 1);
    assert.deepEqual([d1?.counts['active'], d1?.counts['superseded']], [2, 1]);
    for (const d of s.devices) {
      assert.ok((d.served ?? 0) > 0, `${d.deviceId} served no predictions`);
      assert.ok(d.hubPredictions <= (d.served ?? 0), `${d.deviceId}: the hub holds ${d.hubPredictions} predictions, more than the ${d.served} served`);
    }
    assert.ok(s.devices.every((d) => d.online), 'every device online at the end');
    assert.ok(s.devices.reduce((n, d) => n + d.hubWindows, 0) >= 3, 'summary windows reached the hub');
    assert.ok(s.devices.some((d) => d.hubPredictions > 0), 'windows at the hub hold predictions');
    assert.match(r.stdout, /stopped cleanly \(3 agent\(s\), hub\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('npm start: a bad option is refused with what was expected', async () => {
  const r = await runStart(['--agents', '0'], 60_000);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--agents 0: expected an integer >= 1/);
  assert.match(r.stderr, /usage: npm start/);
});
