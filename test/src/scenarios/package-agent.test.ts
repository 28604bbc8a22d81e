// The tarballs as a user gets them (issue 13, docs/operations.md "Installing from a tarball"): the
// agent's and the hub's linux-x64 tarballs are built from the compiled checkout (`npx tsc -b` first;
// `npm test` does), unpacked in a temp dir outside the repo (so nothing resolves from the checkout's
// node_modules), both installed from their tarballs with install.sh --root, the installed hub serving
// its web console, and the installed agent enrolls, takes a deployment and answers an inference over
// REST and gRPC. Also: only
// production dependencies and the target's native parts are inside, the package's WebAssembly
// runtime (onnxruntime-web) agrees with its native one on a model, and uninstall.sh keeps the data dir.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomMlp } from '@edgefleet/examples';
import { oipClient } from '@edgefleet/agent/grpc-client';
import { enrollAgents, pushBundle, startAgent, startHub, vibrationRows, waitFor, type AgentHandle, type HubHandle } from '@edgefleet/examples/fleet';
import { makeFixture } from '@edgefleet/examples';
import { MODEL, infer } from './helpers.js';
import { buildAndUnpack, run } from './package-build.js';

describe('the linux-x64 tarballs, unpacked outside the checkout', () => {
  let dir: string;
  let agentTree: string;
  let hubTree: string;
  let installRoot: string;
  let hub: HubHandle | undefined;
  let agent: AgentHandle | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ef-package-'));
    [agentTree, hubTree] = (await Promise.all([
      buildAndUnpack('agent', join(dir, 'out'), join(dir, 'agent-unpacked')),
      buildAndUnpack('hub', join(dir, 'out'), join(dir, 'hub-unpacked')),
    ])).map((r) => r.tree) as [string, string];
    installRoot = join(dir, 'root');
    mkdirSync(installRoot);
  });
  after(async () => {
    await agent?.stop();
    await hub?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('hold production dependencies only, and native parts for linux-x64 only', () => {
    for (const tree of [agentTree, hubTree]) {
      const nm = join(tree, 'node_modules');
      for (const dev of ['typescript', 'eslint', 'tsx', 'fast-check', 'electron', 'playwright-core', '@edgefleet/examples', 'prebuild-install', 'adm-zip', 'esbuild']) {
        assert.ok(!existsSync(join(nm, dev)), `${tree}: ${dev} is not a production dependency`);
      }
      assert.deepEqual(readdirSync(join(nm, 'onnxruntime-node/bin/napi-v6')), ['linux']);
      assert.deepEqual(readdirSync(join(nm, 'onnxruntime-node/bin/napi-v6/linux')), ['x64']);
      assert.ok(existsSync(join(nm, 'better-sqlite3/build/Release/better_sqlite3.node')));
      const manifest = JSON.parse(readFileSync(join(tree, 'MANIFEST.json'), 'utf8')) as { node: { abi: string }; arch: string };
      assert.equal(manifest.node.abi, process.versions.modules);
      assert.equal(manifest.arch, 'x64');
    }
    // The hub loads a pushed model on onnxruntime-web too, to know which boxes can run it (decision 0129).
    assert.ok(existsSync(join(hubTree, 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm')), 'the hub ships the WebAssembly runtime its push check loads');
    assert.ok(existsSync(join(agentTree, 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm')), 'the agent ships its WebAssembly runtime');
    assert.ok(!existsSync(join(agentTree, 'node_modules/aedes')), 'aedes is a dev dependency of the agent');
    const ours = [join(agentTree, 'agent'), join(agentTree, 'node_modules/@edgefleet'), join(hubTree, 'hub'), join(hubTree, 'node_modules/@edgefleet')];
    const tests = run('find', [...ours, '(', '-name', '*.test.js', '-o', '-name', '*.d.ts', '-o', '-name', '*.map', '-o', '-path', '*/testing/*', '-o', '-name', 'testutil.js', '-o', '-name', 'testing.js', '-o', '-name', '*-testing.js', ')']);
    assert.equal(tests, '', 'no tests, test helpers, declarations or source maps of ours');
    const theirs = run('find', [join(agentTree, 'node_modules'), join(hubTree, 'node_modules'), '-type', 'f', '(', '-name', '*.test.js', '-o', '-name', 'test.js',
      '-o', '-name', 'tsconfig*.json', '-o', '-name', '*.tsbuildinfo', '-o', '-name', '.*', '-o', '-name', '*.ts', ')']);
    assert.equal(theirs, '', 'no tests, TypeScript build files or dotfiles of the dependencies');
    assert.ok(existsSync(join(hubTree, 'node_modules/pg/LICENSE')), 'licences stay');
  });

  it("the package's WebAssembly runtime gives the native runtime's outputs on a model", () => {
    const m = randomMlp({ inputDim: 8, hidden: [16], outputDim: 3, seed: 5, inputName: 'x' });
    const file = join(dir, 'mlp.onnx');
    writeFileSync(file, m.onnx);
    const script = `
      const [web, native] = await Promise.all([import('onnxruntime-web'), import('onnxruntime-node')]);
      web.env.wasm.numThreads = 1;
      const bytes = new Uint8Array((await import('node:fs')).readFileSync(${JSON.stringify(file)}));
      const x = Float32Array.from({ length: 16 }, (_, i) => Math.sin(i));
      const outs = [];
      for (const ort of [web, native]) {
        const s = await ort.InferenceSession.create(bytes);
        const r = await s.run({ x: new ort.Tensor('float32', x, [2, 8]) });
        outs.push(Array.from(r[s.outputNames[0]].data));
      }
      console.log(JSON.stringify(outs));`;
    const [w, n] = JSON.parse(run(process.execPath, ['--input-type=module', '-e', script], join(agentTree, 'agent'))) as [number[], number[]];
    assert.equal(w.length, 6);
    for (let i = 0; i < w.length; i++) assert.ok(Math.abs(w[i]! - n[i]!) < 1e-4, `output ${i}: wasm ${w[i]} vs native ${n[i]}`);
  });

  it('installed with install.sh, the hub serves its web console and the agent enrolls with it, takes a deployment and answers inferences over REST and gRPC; uninstall.sh keeps their data', async () => {
    const out = run('sh', [join(agentTree, 'install.sh'), '--root', installRoot]);
    assert.match(out, /installed edgefleet-agent 0\.1\.0 in .*\/opt\/edgefleet/);
    const unit = readFileSync(join(installRoot, 'etc/systemd/system/edgefleet-agent.service'), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=${process.execPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} /opt/edgefleet/agent/bin/edgefleet-agent.js run --data-dir /var/lib/edgefleet-agent`, 'm'));
    assert.match(readFileSync(join(installRoot, 'usr/local/bin/edgefleet-agent'), 'utf8'), /^exec '.*' '\/opt\/edgefleet\/agent\/bin\/edgefleet-agent\.js' "\$@"$/m);
    const agentEntry = join(installRoot, 'opt/edgefleet/agent/bin/edgefleet-agent.js');

    const hubInstalled = run('sh', [join(hubTree, 'install.sh'), '--root', installRoot]);
    assert.match(hubInstalled, /installed edgefleet-hub 0\.1\.0 in .*\/opt\/edgefleet-hub/);
    // The hub runs as edgefleet: a hub.key copied in as root's 0600 stops its start (IO_ERROR … EACCES).
    assert.match(hubInstalled, /^next: .*hub\.key: chown edgefleet: and chmod 0600 it, the hub runs as edgefleet\), then systemctl enable --now edgefleet-hub\.service$/m);
    const fx = await makeFixture(join(dir, 'fx'));
    const hubData = join(installRoot, 'var/lib/edgefleet-hub');
    hub = await startHub({ entry: join(installRoot, 'opt/edgefleet-hub/hub/bin/edgefleet-hub.js'), dataDir: hubData, trustPath: fx.trustPath, hubKeyPath: fx.keys.files.hub.keyPath });
    // The console is part of the hub's tarball: install.sh once left it out, and / said "not built" (503).
    const page = await fetch(`${hub.http}/`);
    const html = await page.text();
    assert.equal(page.status, 200, html);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, 'the console page loads its script');
    assert.equal((await fetch(`${hub.http}${script}`)).status, 200);
    await pushBundle(hub, fx.v1);
    const [dev] = await enrollAgents(hub, 1, { dataRoot: join(installRoot, 'var/lib'), id: () => 'edgefleet-agent', entry: agentEntry });
    // gRPC on (api.grpc.enabled): the agent loads its .proto at start, which the tarball once left out (ENOENT, no start).
    agent = await startAgent({ entry: agentEntry, dataDir: dev!.dataDir, config: { api: { grpc: { enabled: true, port: 0 } } } });
    await hub.api('POST', '/deployments', { model: MODEL, version: '1.0.0', target: { all: true }, reason: 'package test' });
    const rows = vibrationRows({ rowsPerRequest: 4 })(0, 0);
    const answer = await waitFor('the deployed model answering on the packaged agent', async () => {
      const r = await infer(agent!.url, rows);
      return r.status === 200 ? r.json as { model_version: string; outputs: Array<{ shape: number[] }> } : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    assert.equal(answer.model_version, '1.0.0');
    assert.equal(answer.outputs[0]?.shape[0], 4);
    const ready = await agent.process.waitForLine(/"msg":"ready"/, 1000);
    const grpcAddress = (JSON.parse(ready) as { grpc?: string }).grpc;
    assert.ok(grpcAddress, `the ready line names the gRPC address: ${ready}`);
    const client = oipClient(grpcAddress);
    try {
      assert.deepEqual(await client.call('ModelReady', { name: MODEL }), { ready: true });
    } finally {
      client.close();
    }
    await agent.stop();
    agent = undefined;

    run('sh', [join(installRoot, 'opt/edgefleet/uninstall.sh'), '--root', installRoot]);
    assert.ok(!existsSync(join(installRoot, 'opt/edgefleet')));
    assert.ok(!existsSync(join(installRoot, 'etc/systemd/system/edgefleet-agent.service')));
    assert.ok(existsSync(join(dev!.dataDir, 'agent.db')), 'the data dir stays without --purge');
    await hub.stop();
    hub = undefined;
    run('sh', [join(installRoot, 'opt/edgefleet-hub/uninstall.sh'), '--root', installRoot]);
    assert.ok(!existsSync(join(installRoot, 'opt/edgefleet-hub')), 'every part install.sh put there is removed, the console too');
    assert.ok(existsSync(join(hubData, 'hub.db')), "the hub's data dir stays without --purge");
  });
});
