// Stopping `npm start`'s fleet from outside (issue 8, section 2): SIGTERM to the fleet's node process
// alone, as a supervisor or an IDE's stop button sends it (the agents and the hub are in their own
// process groups, so nothing else gets the signal). The script stops traffic, the agents, then the
// hub: every process of the fleet is gone within 10 s and the script reports a clean stop.
// (npm itself passes the signal on to this process since the script is `exec node scripts/start.mjs`;
// see docs/fleet.md.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { programArgv } from '@edgefleet/examples';
import { waitFor } from '@edgefleet/examples/fleet';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** pid -> parent pid of every process on the machine (Linux ps). */
function processTable(): Array<{ pid: number; ppid: number; args: string }> {
  return execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' }).split('\n').filter(Boolean).map((l) => {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l);
    return { pid: Number(m?.[1]), ppid: Number(m?.[2]), args: m?.[3] ?? '' };
  });
}

function descendants(pid: number, table = processTable()): number[] {
  return table.filter((p) => p.ppid === pid).flatMap((p) => [p.pid, ...descendants(p.pid, table)]);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('SIGTERM to the fleet process stops every agent and the hub within 10 s', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ef-fleet-stop-'));
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.NODE_TEST_CONTEXT;
  const args = ['--agents', '2', '--http-port', '0', '--mqtt-port', '0', '--data-dir', join(dir, 'fleet'), '--out', join(dir, 'out')];
  const child = spawn(process.execPath, [...programArgv('examples/src/start.ts'), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let fleet: number[] = [];
  try {
    await waitFor('the fleet to be up (live view)', () => /live fleet view/.test(out) || child.exitCode !== null, { timeoutMs: 300_000, intervalMs: 200 });
    assert.equal(child.exitCode, null, `start.ts exited early:\n${out.slice(-3000)}`);
    fleet = descendants(child.pid!);
    const programs = processTable().filter((p) => fleet.includes(p.pid)).map((p) => p.args);
    assert.equal(programs.filter((a) => /server\/main\.[jt]s run/.test(a)).length, 1, `one hub among ${JSON.stringify(programs)}`);
    assert.equal(programs.filter((a) => /cli\/main\.[jt]s run/.test(a)).length, 2, `two agents among ${JSON.stringify(programs)}`);

    child.kill('SIGTERM');
    // Bound from issue 8: each process gone within 10 s of the signal.
    const gone = await waitFor('every agent and the hub to exit', () => fleet.every((pid) => !alive(pid)), { timeoutMs: 10_000, intervalMs: 100 }).catch(() => false);
    assert.ok(gone, `still running 10 s after SIGTERM: ${fleet.filter(alive).join(', ')}\n${out.slice(-3000)}`);
    assert.equal(await exited, 0, out.slice(-3000));
    assert.match(out, /stopping \(SIGTERM\): traffic, then agents, then the hub/);
    assert.match(out, /stopped cleanly \(2 agent\(s\), hub\)/);
  } finally {
    for (const pid of fleet) if (alive(pid)) process.kill(pid, 'SIGKILL');
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
});
