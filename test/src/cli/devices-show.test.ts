// `edgefleet devices show ID` against a real hub and a real enrolled agent reporting its state
// (docs/cli.md "devices show"): the text for people names the device, online with the age of its last
// sighting, its tags, agent version, each model's active and previous version and status, the trust
// version, the remote configuration (set by `edgefleet config set`) applied, the outbox backlog, disk free, the clock and the last
// refusal; `--json` prints the hub's GET /devices/{id} answer, not the text.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceInfo } from '@edgefleet/shared';
import { runCli } from '@edgefleet/examples';
import { startAgent, waitFor, type AgentHandle } from '@edgefleet/examples/fleet';
import { enrollAgents } from '../testkit/enroll.js';
import { MODEL, fixtureAndHub, type HubSetup } from '../scenarios/helpers.js';

describe('edgefleet devices show against a real hub and agent', () => {
  let dir: string;
  let s: HubSetup;
  let agent: AgentHandle | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-devices-show-'));
    s = await fixtureAndHub(dir);
  });
  after(async () => {
    await agent?.stop();
    await s?.hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (args: string[]) => runCli('hub/src/cli/main.ts', [...args, '--hub', s.hub.http, '--token', s.hub.adminToken]);

  it('prints a readable summary, and --json the hub answer', async () => {
    const [enrolled] = await enrollAgents(s.hub, 1, { dataRoot: join(dir, 'agents'), id: () => 'show-1', tags: () => ({ ring: 'canary', site: 'north' }) });
    agent = await startAgent({ dataDir: enrolled!.dataDir });
    // 1.0.0 then 2.0.0: the box runs 2.0.0 with 1.0.0 to roll back to.
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'first' });
    await waitFor('the box runs 1.0.0', async () => ((await s.hub.api<DeviceInfo>('GET', '/devices/show-1')).models.some((m) => m.version === '1.0.0' && m.status === 'active') ? true : undefined), { timeoutMs: 90_000 });
    await s.hub.api('POST', '/deployments', { model: MODEL, version: '2.0.0', target: { all: true }, reason: 'second' });
    const set = await cli(['config', 'set', 'fleet', '--set', 'summaries.windowSec=5', '--reason', 'a remote setting to report']);
    assert.equal(set.code, 0, set.stderr);
    const d = await waitFor('the box runs 2.0.0 with 1.0.0 before it, applied the setting, and reports its backlog and disk', async () => {
      const x = await s.hub.api<DeviceInfo>('GET', '/devices/show-1');
      const active = x.models.find((m) => m.status === 'active');
      return active?.version === '2.0.0' && active.previous === '1.0.0' && x.reported?.config?.status === 'applied' && x.reported.outbox && x.reported.disk && x.clock ? x : undefined;
    }, { timeoutMs: 90_000 });
    const trustVersion = (JSON.parse(readFileSync(s.fx.trustPath, 'utf8')) as { signed: { version: number } }).signed.version;
    assert.equal(d.reported?.trustVersion, trustVersion, 'GET /devices/{id} carries the trust version the box reported');
    // What the box says about itself: its runtime backend (auto: native, which loads here) among its capabilities, and its starts.
    assert.equal(d.reported?.backend, 'native');
    const caps = d.reported!.capabilities;
    assert.ok(caps.includes('backend-native') && caps.includes('outbox-v1'), `capabilities: ${caps.join(' ')}`);
    assert.equal(d.reported!.starts, 1);

    const r = await cli(['devices', 'show', 'show-1']);
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout;
    assert.ok(!text.trimStart().startsWith('{'), `text for people, not JSON:\n${text}`);
    const line = (key: string) => new RegExp(`^${key}:\\s+(.*)$`, 'm').exec(text)?.[1] ?? assert.fail(`no "${key}:" line in\n${text}`);
    assert.equal(line('device'), 'show-1');
    assert.match(line('state'), /^online, last seen \d{4}-\d\d-\d\dT[\d:.]+Z \(\d+[smhd] ago\)$/);
    assert.equal(line('tags'), 'ring=canary site=north');
    assert.match(line('agent'), new RegExp(`^${d.reported!.agentVersion.replace(/\./g, '\\.')} \\(${d.facts!.os} ${d.facts!.arch}, \\d+ CPUs, \\d+ MB\\), started once$`));
    assert.equal(line('runtime'), 'native backend');
    assert.equal(line('capabilities'), caps.join(' '));
    assert.match(line('trust'), new RegExp(`^version ${trustVersion}, expires \\d{4}-`));
    assert.equal(line('config'), `applied (sha256 ${d.reported!.config!.sha256!.slice(0, 12)})`);
    assert.match(line('outbox'), /^\d+ entries not yet acked by the hub$/);
    assert.match(line('disk free'), /^\d+(\.\d)? [KMGT]?i?B of \d+(\.\d)? [KMGT]?i?B \(\d+%\)$/);
    assert.match(line('clock'), /^(ok|[+-]\d+[smhd] \((ahead of|behind) the hub\)), measured .* ago\)/);
    assert.equal(line('last refusal'), 'none');
    assert.match(text, /^models:\n {2}NAME\s+ACTIVE\s+PREVIOUS\s+STATUS\s+ALSO INSTALLED\n {2}vibration-anomaly\s+2\.0\.0\s+1\.0\.0\s+active\s+1\.0\.0\n/m);

    const j = await cli(['devices', 'show', 'show-1', '--json']);
    assert.equal(j.code, 0, j.stderr);
    const parsed = DeviceInfo.parse(JSON.parse(j.stdout));
    assert.deepEqual({ id: parsed.id, tags: parsed.tags, models: parsed.models, facts: parsed.facts }, { id: d.id, tags: d.tags, models: d.models, facts: d.facts }, '--json is the hub answer');

    const missing = await cli(['devices', 'show', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error \[NOT_FOUND\]: hub: no device "nope"/);
  });
});
