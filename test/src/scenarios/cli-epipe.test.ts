// A command whose output is piped into a reader that has gone (`edgefleet audit | head -1`) stops
// quietly with its exit code, as Unix tools do, not with an unhandled EPIPE and a stack (shared/launch.js).
// The real bins, their stdout closed before they write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { repoRoot } from '@edgefleet/examples';
import { join } from 'node:path';

function closedStdout(bin: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  const c = spawn(process.execPath, [join(repoRoot(), bin), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  c.stdout.destroy();
  let stderr = '';
  c.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
  return new Promise((resolve) => c.once('close', (code) => resolve({ code, stderr })));
}

test('the CLIs stop quietly when their output pipe is closed', async () => {
  for (const [bin, args] of [['hub/bin/edgefleet.js', ['--help']], ['agent/bin/edgefleet-agent.js', ['--help']]] as const) {
    const r = await closedStdout(bin, [...args]);
    assert.equal(r.stderr, '', `${bin}: nothing on stderr`);
    assert.equal(r.code, 0, bin);
  }
});
