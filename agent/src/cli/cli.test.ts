// The real edgefleet-agent program: CLI commands on a temp data dir, the daemon
// on port 0 (ready line, serving, picking up a CLI switch, clean SIGTERM), a
// bad config, and SIGKILL in the middle of an install. The admin commands that set a data dir up or
// read it, and those whose messages are checked, run in this process (main(), examples/src/testkit/in-process.ts:
// a process start costs ~0.4 s of CPU); the daemon, the killed install and the rollback the daemon
// picks up are processes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatBytes } from '@edgefleet/shared';
import { runCli, runInProcess, startProcess } from '@edgefleet/examples';
import { makeKit, mlpBundle, req, row, type Kit } from '../testing.js';
import { main } from './main.js';

const CLI = 'agent/src/cli/main.ts';
const agent = (args: readonly string[]) => runInProcess(main, args);

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
}

describe('edgefleet-agent program', () => {
  let kit: Kit;
  let v1: string;
  let v2: string;
  before(async () => {
    kit = makeKit();
    v1 = (await mlpBundle(kit, '1.0.0', { seed: 1 })).path;
    v2 = (await mlpBundle(kit, '2.0.0', { seed: 2 })).path;
  });
  after(() => kit.cleanup());

  it('exits 1 naming the field of a bad config', async () => {
    const cfg = join(kit.dir, 'bad.json');
    writeFileSync(cfg, JSON.stringify({ concurrency: { perModel: 0 } }));
    const r = await runCli(CLI, ['run', '--data-dir', join(kit.dir, 'bad'), '--config', cfg]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /concurrency\.perModel/);
  });

  it('models and status on a data dir without agent.db (a typo) say so and create nothing; trust set names a missing file', async () => {
    const typo = join(kit.dir, 'dta');
    for (const cmd of [['models'], ['status'], ['rollback', 'm'], ['activate', 'm', '1.0.0']]) {
      const r = await agent([...cmd, '--data-dir', typo]);
      assert.equal(r.code, 1, cmd[0]);
      assert.match(r.stderr, /^error \[NOT_FOUND\]: .*dta holds no agent\.db: expected an agent's data dir \(--data-dir, EDGEFLEET_AGENT_DATA or "dataDir" in --config\)/, cmd[0]);
    }
    // Enrolled (credentials.json) but never run: said so, and still nothing made there (as root, agent.db
    // would be the daemon's user's no longer).
    const enrolled = join(kit.dir, 'enrolled');
    mkdirSync(enrolled);
    writeFileSync(join(enrolled, 'credentials.json'), '{}');
    const st = await agent(['status', '--data-dir', enrolled]);
    assert.equal(st.code, 1);
    assert.match(st.stderr, /^error \[NOT_FOUND\]: .*enrolled holds no agent\.db yet: the box is enrolled but the agent has not run on it: start it \(systemctl start edgefleet-agent/);
    assert.deepEqual(readdirSync(enrolled), ['credentials.json']);
    // A mistyped bundle path is named before the data dir is made (was "no trust document", and an agent.db left there).
    const noBundle = await agent(['install', join(kit.dir, 'vibration-1.0.0.efbb'), '--data-dir', typo]);
    assert.equal(noBundle.code, 1);
    assert.match(noBundle.stderr, /^error \[NOT_FOUND\]: cannot read bundle .*vibration-1\.0\.0\.efbb: no such file\n/);
    // No device key minted in a directory nobody's box uses.
    const key = await agent(['key', 'show', '--data-dir', typo]);
    assert.equal(key.code, 1);
    assert.match(key.stderr, /^error \[NOT_FOUND\]: data dir .*dta does not exist: expected this box's agent data dir/);
    assert.equal(existsSync(typo), false, 'no empty data dir left behind');
    // key show --out keeps an existing file unless --force, and names --out for a directory.
    const box = join(kit.dir, 'key-box');
    mkdirSync(box);
    const pub = join(kit.dir, 'box.pub.json');
    writeFileSync(pub, 'keep me');
    const over = await agent(['key', 'show', '--data-dir', box, '--out', pub]);
    assert.equal(over.code, 1);
    assert.match(over.stderr, /^error \[CONFLICT\]: --out .*box\.pub\.json already exists; expected a new file \(add --force to replace it\)/);
    assert.equal(readFileSync(pub, 'utf8'), 'keep me');
    assert.match((await agent(['key', 'show', '--data-dir', box, '--out', kit.dir])).stderr, /--out .* is a directory; expected a file path/);
    const forced = await agent(['key', 'show', '--data-dir', box, '--out', pub, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(readFileSync(pub, 'utf8'), forced.stdout);
    // A directory given as a bundle: named, with what was expected.
    const dd = join(kit.dir, 'dir-bundle');
    assert.equal((await agent(['trust', 'set', kit.trust.path, '--data-dir', dd])).code, 0);
    const dirBundle = await agent(['install', kit.dir, '--data-dir', dd]);
    assert.equal(dirBundle.code, 1);
    assert.match(dirBundle.stderr, /is a directory: expected a bundle file \(\.efb\)/);
    const missing = await agent(['trust', 'set', join(kit.dir, 'no-such-trust.json'), '--data-dir', typo]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error \[NOT_FOUND\]: cannot read trust document .*no-such-trust\.json: no such file$/m);
    writeFileSync(join(kit.dir, 'not-json.json'), '{"signed":');
    const garbled = await agent(['trust', 'set', join(kit.dir, 'not-json.json'), '--data-dir', typo]);
    assert.match(garbled.stderr, /^error \[SCHEMA_INVALID\]: trust document .*not-json\.json is not JSON/);
  });

  it('installs, serves, switches on a CLI rollback, and stops cleanly on SIGTERM', async () => {
    const d = ['--data-dir', join(kit.dir, 'data')];
    assert.equal((await agent(['trust', 'set', kit.trust.path, ...d])).code, 0);
    // The same document again (a provisioning script re-run): a no-op success, not a refused rotation.
    const again = await agent(['trust', 'set', kit.trust.path, ...d]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^trust version 1 already stored \(expires .*\): nothing changed\n$/);
    const i1 = await agent(['install', v1, ...d]);
    assert.deepEqual([i1.code, i1.stderr], [0, ''], 'nothing but the result on a pipe');
    // On a terminal it says what the seconds of a big bundle go to (docs/cli.md "Progress"): a bar over the bytes
    // verified, one over those copied (each ends at 100%, the bundle's size and the files'), then the load.
    const i2 = await runInProcess(main, ['install', v2, ...d], { tty: true });
    assert.equal(i2.code, 0, i2.stderr);
    const size = formatBytes(statSync(v2).size);
    const lines = i2.stderr.split('\n').map((l) => l.split('\r').at(-1));
    assert.match(lines[0] ?? '', new RegExp(`^verifying \\[#+\\] 100% ${size} / ${size}$`), i2.stderr);
    assert.match(lines[1] ?? '', /^copying \[#+\] 100% (\S+ \S+) \/ \1$/, i2.stderr);
    assert.match(lines[2] ?? '', /^loading [\w-]+@2\.0\.0 with onnxruntime and running its preflight…$/, i2.stderr);
    assert.deepEqual(lines.slice(3), [''], i2.stderr);
    const models = JSON.parse((await agent(['models', '--json', ...d])).stdout) as Array<{ version: string; status: string }>;
    assert.deepEqual(models.map((m) => `${m.version}:${m.status}`), ['1.0.0:previous', '2.0.0:active']);
    const p = startProcess(CLI, ['run', ...d, '--api-port', '0']);
    try {
      const line = await p.waitForLine(/"msg":"ready"/);
      const base = (JSON.parse(line) as { api: string }).api;
      assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.equal((await req(base, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).json.model_version, '2.0.0');
      assert.equal((await runCli(CLI, ['rollback', 'mlp', ...d])).code, 0);
      await p.waitForLine(/switched \(committed by another process\)/);
      assert.equal((await req(base, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).json.model_version, '1.0.0');
      const exit = await p.stop('SIGTERM');
      assert.equal(exit.code, 0);
      assert.match(p.output().stderr, /"msg":"stopped"/);
    } finally {
      p.kill();
    }
  });

  for (const point of ['install:before-rename', 'install:before-commit', 'install:after-commit']) {
    it(`SIGKILL at ${point} leaves the old or the new version active and no half-written file`, async () => {
      const d = ['--data-dir', join(kit.dir, `kill-${point.replace(':', '-')}`)];
      assert.equal((await agent(['trust', 'set', kit.trust.path, ...d])).code, 0);
      assert.equal((await agent(['install', v1, ...d])).code, 0);
      const p = startProcess(CLI, ['install', v2, ...d], { env: { EDGEFLEET_TEST_PAUSE_AT: point } });
      try {
        await p.waitForLine(new RegExp(`EDGEFLEET_PAUSED ${point}`));
        p.kill();
        await p.exited;
      } finally {
        p.kill();
      }
      const models = JSON.parse((await agent(['models', '--json', ...d])).stdout) as Array<{ version: string; status: string }>;
      const active = models.find((m) => m.status === 'active')?.version;
      assert.equal(active, point === 'install:after-commit' ? '2.0.0' : '1.0.0');
      // Every stored blob is complete: the next start re-hashes them (no bit_rot) and serves.
      const blobs = listFiles(join(d[1]!, 'blobs', 'sha256'));
      assert.ok(blobs.every((f) => !f.endsWith('.part')));
      const tmp = join(d[1]!, 'blobs', 'tmp');
      if (point === 'install:before-rename') assert.equal(listFiles(tmp).length, 1, 'the killed install left its temp file');
      const run = startProcess(CLI, ['run', ...d, '--api-port', '0']);
      try {
        const base = (JSON.parse(await run.waitForLine(/"msg":"ready"/)) as { api: string }).api;
        assert.equal((await req(base, 'POST', '/v2/models/mlp/infer', row([1, 2, 3, 4]))).json.model_version, active);
        assert.doesNotMatch(run.output().stderr, /bit rot/);
        // Its writer is gone: the daemon's start removes it at once, not only after an hour idle.
        assert.deepEqual(existsSync(tmp) ? listFiles(tmp) : [], [], 'no temp file left behind');
      } finally {
        await run.stop('SIGTERM');
      }
    });
  }
});
