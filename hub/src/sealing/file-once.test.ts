// createFileOnce (file-once.ts), the one way the hub makes DATA/hub.key, DATA/admin.token and
// DATA/content-keys.key: processes started at one moment (held at a barrier, then let go together) all
// end with the content of the one file on disk, with hard links and without (a link step that fails as a
// filesystem without them does: EPERM and the like); an existing file is never replaced; a start killed
// while making the file leaves it absent or whole (its temp file, holding the secret, is removed by the
// next start), and an empty file (killed in place, without hard links) is waited for, then refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileOnce } from './file-once.js';
import { besideTest } from '@edgefleet/examples';

const errno = (code: string) => () => {
  throw Object.assign(new Error(`${code}: operation not permitted, link`), { code });
};
const noLinks = errno('EPERM');

// A racing process: imports createFileOnce from source, says "ready", waits for the go file, makes the
// file (FO_LINK: "no-links" fails the link with EPERM; "hang" says "linking" and blocks in it, to be killed).
const CHILD = `
const { existsSync } = await import('node:fs');
const { createFileOnce } = await import(process.env.FO_MODULE);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
process.stdout.write('ready\\n');
while (!existsSync(process.env.FO_GO)) sleep(1);
const links = {
  'no-links': () => { throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' }); },
  hang: () => { process.stdout.write('linking\\n'); sleep(120000); },
};
const link = links[process.env.FO_LINK];
const r = createFileOnce(process.env.FO_PATH, () => 'made by ' + process.pid + '\\n', link ? { link } : {});
process.stdout.write(JSON.stringify({ made: r.made, data: r.data.toString('utf8') }) + '\\n');
`;

interface Racer {
  child: ChildProcess;
  /** Resolves when the racer has written `line`; rejects (with its stderr) when it ends first. */
  said(line: string): Promise<void>;
  /** Its exit code, once its output is all in. */
  closed: Promise<number | null>;
  /** Its last line (the JSON result), once it has exited 0. */
  result(): Promise<{ made: boolean; data: string }>;
}

function racer(path: string, go: string, link: 'link' | 'no-links' | 'hang'): Racer {
  const child = spawn(process.execPath, ['--conditions=source', '--import', import.meta.resolve('tsx'), '--input-type=module', '-e', CHILD], {
    env: { ...process.env, NODE_TEST_CONTEXT: undefined, FO_MODULE: besideTest('./file-once.ts', import.meta.url).href, FO_PATH: path, FO_GO: go, FO_LINK: link },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let err = '';
  let ended = false;
  const seen = new EventEmitter();
  child.stdout?.on('data', (d: Buffer) => {
    lines.push(...d.toString().split('\n').filter(Boolean));
    seen.emit('line');
  });
  child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => {
    ended = true;
    seen.emit('line');
    resolve(code);
  }));
  const failed = () => new Error(`racer ${child.pid} ended before it was done: ${err}`);
  return {
    child,
    closed,
    said: (line) => new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!lines.includes(line) && !ended) return;
        seen.off('line', check);
        if (lines.includes(line)) resolve();
        else reject(failed());
      };
      seen.on('line', check);
      check();
    }),
    result: async () => {
      if ((await closed) !== 0) throw failed();
      return JSON.parse(lines.at(-1) ?? 'null') as { made: boolean; data: string };
    },
  };
}

const temps = (dir: string) => readdirSync(dir).filter((n) => n.includes('.tmp-'));

describe('createFileOnce', () => {
  let dir: string;
  let n = 0;
  const fresh = () => {
    const d = join(dir, `case-${++n}`);
    mkdirSync(d, { mode: 0o700 });
    return d;
  };
  before(() => { dir = mkdtempSync(join(tmpdir(), 'ef-file-once-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const link of ['link', 'no-links'] as const) {
    it(`${link === 'link' ? 'with hard links' : 'without hard links'}: processes let go at one moment all end with the one file on disk`, async () => {
      const d = fresh();
      const path = join(d, 'secret.key');
      const go = join(dir, `go-${n}`);
      const racers = Array.from({ length: 4 }, () => racer(path, go, link));
      try {
        await Promise.all(racers.map((r) => r.said('ready')));
        writeFileSync(go, '');
        const results = await Promise.all(racers.map((r) => r.result()));
        const onDisk = readFileSync(path, 'utf8');
        assert.match(onDisk, /^made by \d+\n$/);
        assert.deepEqual(results.map((x) => x.data), racers.map(() => onDisk), 'every process has the content on disk');
        assert.equal(results.filter((x) => x.made).length, 1, 'one process made it');
        assert.equal(statSync(path).mode & 0o777, 0o600);
        assert.deepEqual(temps(d), []);
      } finally {
        for (const r of racers) r.child.kill('SIGKILL');
      }
    });
  }

  it('a racer that makes the file between the check and the link wins, with and without hard links', () => {
    for (const link of [undefined, noLinks]) {
      const path = join(fresh(), 'secret.key');
      let inner: ReturnType<typeof createFileOnce> | undefined;
      const outer = createFileOnce(path, () => 'outer\n', {
        ...(link ? { link } : {}),
        beforeCreate: () => { inner = createFileOnce(path, () => 'inner\n', link ? { link } : {}); },
      });
      assert.deepEqual([inner?.made, inner?.data.toString()], [true, 'inner\n']);
      assert.deepEqual([outer.made, outer.data.toString()], [false, 'inner\n']);
      assert.equal(readFileSync(path, 'utf8'), 'inner\n');
    }
  });

  it('never replaces a file, whatever is in it; takes every no-hard-links error for one; another link error is IO_ERROR', () => {
    const d = fresh();
    const path = join(d, 'secret.key');
    writeFileSync(path, 'there before\n');
    for (const link of [undefined, noLinks]) {
      const r = createFileOnce(path, () => 'new\n', link ? { link } : {});
      assert.deepEqual([r.made, r.data.toString()], [false, 'there before\n']);
    }
    for (const code of ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']) {
      const p = join(d, `${code}.key`);
      assert.equal(createFileOnce(p, () => `${code}\n`, { link: errno(code) }).made, true);
      assert.equal(readFileSync(p, 'utf8'), `${code}\n`);
      assert.equal(statSync(p).mode & 0o777, 0o600);
    }
    const p = join(d, 'eio.key');
    assert.throws(() => createFileOnce(p, () => 'x\n', { link: errno('EIO') }), (e: Error & { code?: string }) => e.code === 'IO_ERROR' && e.message.includes(`cannot make ${p}`));
    assert.equal(existsSync(p), false);
    assert.deepEqual(temps(d), []);
  });

  it('a start killed in the link leaves no file; its temp file (the secret) is removed by the next start', async () => {
    const d = fresh();
    const path = join(d, 'secret.key');
    const go = join(dir, `go-${n}`);
    writeFileSync(go, '');
    const r = racer(path, go, 'hang');
    try {
      await r.said('linking');
    } finally {
      r.child.kill('SIGKILL');
    }
    await r.closed;
    assert.equal(existsSync(path), false, 'the final name is absent, not half-written');
    assert.equal(temps(d).length, 1);
    assert.match(readFileSync(join(d, temps(d)[0]!), 'utf8'), /^made by \d+\n$/);
    const next = createFileOnce(path, () => 'next start\n');
    assert.deepEqual([next.made, next.data.toString()], [true, 'next start\n']);
    assert.deepEqual(temps(d), []);
    // A leftover found beside a file that exists is removed too.
    writeFileSync(join(d, '.secret.key.tmp-1-dead'), 'half');
    assert.equal(createFileOnce(path, () => 'unused\n').made, false);
    assert.deepEqual(temps(d), []);
  });

  it('without hard links, an empty file (a start killed after creating it in place) is waited for, then refused, never replaced', async () => {
    const d = fresh();
    const path = join(d, 'secret.key');
    writeFileSync(path, '', { mode: 0o600 });
    const t0 = Date.now();
    assert.throws(() => createFileOnce(path, () => 'new\n', { link: noLinks, waitMs: 300 }), (e: Error & { code?: string }) =>
      e.code === 'CONFIG_INVALID' && e.message.startsWith(`${path} is empty`) && e.message.includes('remove it and start again'));
    assert.ok(Date.now() - t0 >= 300);
    assert.equal(readFileSync(path, 'utf8'), '');
    // A process still writing it finishes within the wait: its content is taken.
    const writer = spawn(process.execPath, ['-e', `setTimeout(() => require('fs').writeFileSync(${JSON.stringify(path)}, 'slow writer\\n'), 300)`]);
    const exited = new Promise((resolve) => writer.once('exit', resolve));
    const r = createFileOnce(path, () => 'new\n', { link: noLinks, waitMs: 30_000 });
    await exited;
    assert.deepEqual([r.made, r.data.toString()], [false, 'slow writer\n']);
  });
});
