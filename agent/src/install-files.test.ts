// A file of the installed agent missing at start (the gRPC proto deleted from an install) is
// INSTALL_INCOMPLETE naming the file and saying to reinstall; it was `error [INTERNAL]: agent failed to
// start: ENOENT …`. The real bin runs from an install tree of symlinks to this checkout's files with
// proto/ left out (--preserve-symlinks, so the agent finds its files beside the linked ones, as in an install).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTALL_ROOT, missingInstallFile } from './install-files.js';

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: 60_000, env: { ...process.env, EDGEFLEET_AGENT_DATA: '' } }, (err, _out, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }));
  });
}

test('edgefleet-agent run without its gRPC proto: INSTALL_INCOMPLETE naming the file and "reinstall", exit 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-install-missing-'));
  try {
    const root = join(dir, 'opt');
    mkdirSync(join(root, 'agent'), { recursive: true });
    for (const f of ['dist', 'bin', 'package.json']) symlinkSync(join(INSTALL_ROOT, 'agent', f), join(root, 'agent', f));
    symlinkSync(join(INSTALL_ROOT, 'node_modules'), join(root, 'node_modules'));
    const config = join(dir, 'agent.json');
    writeFileSync(config, JSON.stringify({ api: { host: '127.0.0.1', port: 0, grpc: { enabled: true, port: 0 } }, log: { level: 'warn' } }));
    const r = await run(['--preserve-symlinks', '--preserve-symlinks-main', join(root, 'agent', 'bin', 'edgefleet-agent.js'), 'run', '--data-dir', join(dir, 'data'), '--config', config]);
    assert.equal(r.code, 1, r.stderr);
    const proto = join(root, 'agent', 'proto', 'grpc_predict_v2.proto');
    assert.match(r.stderr, new RegExp(`^error \\[INSTALL_INCOMPLETE\\]: ${proto.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is missing: it is a file of the installed agent \\(${root.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\), which reads it at start; .*reinstall this version of the agent`, 'm'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('missingInstallFile: only files of the install and its modules; the data dir and other paths stay as they were', () => {
  const enoent = (path: string) => Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT', path });
  const root = '/opt/edgefleet';
  assert.equal(missingInstallFile(enoent('/opt/edgefleet/agent/proto/x.proto'), '/var/lib/edgefleet-agent', root)?.code, 'INSTALL_INCOMPLETE');
  assert.equal(missingInstallFile(enoent('/var/lib/edgefleet-agent/trust.json'), '/var/lib/edgefleet-agent', root), undefined);
  assert.equal(missingInstallFile(enoent('/opt/edgefleet/data/agent.db'), '/opt/edgefleet/data', root), undefined, 'a data dir inside a checkout');
  assert.equal(missingInstallFile(enoent('/opt/edgefleet-other/x'), '/var/lib/a', root), undefined);
  assert.equal(missingInstallFile(new Error('boom'), '/var/lib/a', root), undefined);
  const mod = Object.assign(new Error("Cannot find package '@grpc/grpc-js' imported from /opt/edgefleet/agent/dist/api/grpc/server.js"), { code: 'ERR_MODULE_NOT_FOUND' });
  const e = missingInstallFile(mod, '/var/lib/a', root);
  assert.equal(e?.code, 'INSTALL_INCOMPLETE');
  assert.match(e?.message ?? '', /Cannot find package '@grpc\/grpc-js'.*reinstall this version of the agent/);
});
