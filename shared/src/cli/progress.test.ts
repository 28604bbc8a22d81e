// The progress bar and wait notes of the three programs (shared/src/cli/progress.ts): drawn on a terminal only,
// at most every intervalMs (a fake clock here), a counter when the total is unknown, one finished line.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StringWriter } from './command.js';
import { reportFailure } from './dispatch.js';
import { ProgressBar, endProgressLine, waitNote } from './progress.js';

describe('progress', () => {
  it('draws on a TTY only, ends its line, and reaches 100%', () => {
    const tty = new StringWriter(true, 80);
    const bar = new ProgressBar(tty, { label: 'hashing', total: 2048 });
    bar.tick(1024);
    assert.match(tty.text, /\rhashing \[#+-+\] {2}50% 1\.0 KiB \/ 2\.0 KiB$/);
    bar.tick(1024);
    bar.done();
    bar.done();
    assert.match(tty.text, /100% 2\.0 KiB \/ 2\.0 KiB\n$/);
    assert.equal(tty.text.split('\n').length, 2, 'exactly one finished line');

    const pipe = new StringWriter(false);
    const quiet = new ProgressBar(pipe, { label: 'hashing', total: 10 });
    quiet.tick(5);
    quiet.done();
    waitNote(pipe, 'waiting for the hub');
    assert.equal(pipe.text, '');
  });

  it('redraws at most every intervalMs however fast the bytes come', () => {
    let now = 0;
    const tty = new StringWriter(true, 80);
    const bar = new ProgressBar(tty, { label: 'pushing', total: 1000, now: () => now });
    for (let i = 0; i < 1000; i++) {
      bar.tick(1);
      now += 1; // 1,000 chunks in one second, each a percent step or more at times
    }
    const draws = tty.text.split('\r').length - 1;
    assert.ok(draws >= 5 && draws <= 6, `${draws} redraws in one second, expected 5 or 6 (one each 200 ms)`);
    bar.done();
    assert.match(tty.text, /\rpushing \[#+\] 100% 1000 B \/ 1000 B\n$/);
  });

  it('without a total, counts on: redrawn as the count grows, at most every intervalMs', () => {
    let now = 0;
    const tty = new StringWriter(true, 80);
    const bar = new ProgressBar(tty, { label: 'fetching capture c-1', total: 0, format: (n) => `${n} rows`, now: () => now });
    bar.update(10);
    now += 50;
    bar.update(20);
    now += 200;
    bar.update(30);
    now += 300;
    bar.update(40);
    bar.done();
    assert.deepEqual(tty.text.split('\r').slice(1), ['fetching capture c-1 10 rows', 'fetching capture c-1 30 rows', 'fetching capture c-1 40 rows', 'fetching capture c-1 40 rows\n']);
  });

  it('a wait note is one line on a terminal, escaped', () => {
    const tty = new StringWriter(true);
    waitNote(tty, 'waiting for the hub to check pump\x1b[2J 1.0.0');
    assert.equal(tty.text, 'waiting for the hub to check pump\\e[2J 1.0.0…\n');
  });

  it('a failure or a note cut into a bar starts a line of its own; after a finished bar, nothing is added', () => {
    const tty = new StringWriter(true);
    const bar = new ProgressBar(tty, { label: 'pushing', total: 100 });
    bar.tick(40);
    reportFailure({ stderr: tty }, new Error('connection reset'));
    assert.equal(tty.text, `\r${bar.render(40)}\nerror [INTERNAL]: connection reset\n`);
    const next = new ProgressBar(tty, { label: 'hashing', total: 10 });
    next.tick(5);
    waitNote(tty, 'checking');
    next.done();
    endProgressLine(tty);
    assert.match(tty.text, /\rhashing \[#+-+\] {2}50% 5 B \/ 10 B\nchecking…\n\rhashing \[#+\] 100% 10 B \/ 10 B\n$/);
  });
});
