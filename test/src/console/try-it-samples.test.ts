// "Try it" with the samples a stranger's bundle may hold, in a real Chromium against a real hub
// (docs/console.md "Try it"): a model with two inputs (FP32 and an INT64 scalar) whose samples are one
// good, one of the wrong shape, one with a non-numeric value, one with "NaN" as text and one that is not
// JSON: each bad one is its own row with INVALID_INPUT naming the sample and what was wrong, and the good
// one still runs and matches. A model whose output has 5,000 values shows the first 8 and says how many
// there are; a string model echoes its text (shown as text, not markup); a bundle over the console's
// 64 MiB is not downloaded, the page says why (PAYLOAD_TOO_LARGE).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraphBuilder, bundleFromOnnx, buildMultiInputModel, mlpForward, randomMlp, type BundleFromOnnxOptions } from '@edgefleet/examples';
import { signIn } from './helpers.js';
import { startSmallHub, type SmallHub } from './small-hub.js';

const J = (x: unknown) => JSON.stringify(x);
const good = { inputs: [{ name: 'audio', datatype: 'FP32', shape: [1, 4], data: [0.5, -0.5, 1, 0] }, { name: 'sample_rate', datatype: 'INT64', shape: [], data: [16000] }] };
const audio = (o: Record<string, unknown>) => J({ inputs: [{ ...good.inputs[0], ...o }, good.inputs[1]] });

function stringModel() {
  const g = new GraphBuilder('echo');
  g.input('text', 'BYTES', [1]);
  g.op('Identity', ['text'], {}, 'echo');
  g.output('echo', 'BYTES', [1]);
  return { onnx: g.build(), io: { inputs: [{ name: 'text', datatype: 'BYTES' as const, shape: [1] }], outputs: [{ name: 'echo', datatype: 'BYTES' as const, shape: [1] }] } };
}

describe('console: Try it with odd samples', () => {
  let h: SmallHub;
  let dir: string;
  let bigOut: number[];
  before(async () => {
    h = await startSmallHub('ef-console-samples-', []);
    dir = mkdtempSync(join(tmpdir(), 'ef-console-samples-b-'));
    const push = async (o: Omit<BundleFromOnnxOptions, 'dir' | 'keys'>) => {
      const b = await bundleFromOnnx({ dir, keys: h.keys, ...o });
      await h.api('POST', '/models', new Uint8Array(readFileSync(b.path)));
    };
    const multi = buildMultiInputModel();
    await push({
      onnx: multi.onnx, name: 'multi', version: '1.0.0', io: multi.io,
      files: [
        { path: 's/good.json', bytes: J(good) },
        { path: 's/good.expected.json', bytes: J({ outputs: [{ name: 'energy', data: [0.375] }, { name: 'sr_out', data: [16000] }] }) },
        { path: 's/shape.json', bytes: audio({ shape: [1, 3] }) },
        { path: 's/abc.json', bytes: audio({ data: ['abc', 1, 2, 3] }) },
        { path: 's/nan.json', bytes: audio({ data: ['NaN', 1, 2, 3] }) },
        { path: 's/cut.json', bytes: '{"inputs": [' },
      ],
      samples: [{ request: 's/shape.json' }, { request: 's/good.json', expected: 's/good.expected.json' }, { request: 's/abc.json' }, { request: 's/nan.json' }, { request: 's/cut.json' }],
    });
    const mlp = randomMlp({ inputDim: 4, hidden: [8], outputDim: 5000, output: 'none' });
    const x = [1, 2, 3, 4];
    await push({ onnx: mlp.onnx, name: 'wide', version: '1.0.0', io: mlp.io, files: [{ path: 's/a.json', bytes: J({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: x }] }) }], samples: [{ request: 's/a.json' }] });
    bigOut = [...mlpForward(mlp.spec, x, 1)];
    const str = stringModel();
    const text = 'hello <b>world</b>';
    await push({
      ...str, name: 'echo', version: '1.0.0',
      files: [{ path: 's/a.json', bytes: J({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: [text] }] }) }, { path: 's/a.expected.json', bytes: J({ outputs: [{ name: 'echo', data: [text] }] }) }],
      samples: [{ request: 's/a.json', expected: 's/a.expected.json' }],
    });
    // Just over the console's 64 MiB (bundle.ts MAX_TRY_BYTES): the padding is a file of the bundle, not of the model.
    await push({
      ...str, name: 'echo', version: '2.0.0',
      files: [{ path: 'pad.bin', bytes: new Uint8Array(64 * 1024 * 1024 + 1) }, { path: 's/a.json', bytes: J({ inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['x'] }] }) }],
      samples: [{ request: 's/a.json' }],
    });
  });
  after(async () => {
    await h?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs each sample on its own: a bad one is its row\'s error, the good one matches', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.goto(`${h.http}/#/models/multi/1.0.0`);
    await page.getByTestId('signature-status').filter({ hasText: /Signed/ }).waitFor();
    const tryIt = page.getByTestId('try-it');
    await tryIt.getByRole('button', { name: 'Try it: run 5 samples in this browser' }).click();
    await tryIt.getByTestId('sample-verdict').filter({ hasText: 'matches' }).waitFor({ timeout: 30_000 });
    const errors = await tryIt.getByTestId('sample-error').allTextContents();
    assert.deepEqual(errors, [
      'INVALID_INPUT: sample s/shape.json: input "audio": data has 4 values but shape [1, 3] needs 3',
      'INVALID_INPUT: sample s/abc.json: input "audio": data[0] is the string "abc": expected a number (FP32)',
      'INVALID_INPUT: sample s/nan.json: input "audio": data[0] is the string "NaN": expected a finite number (FP32)',
      'INVALID_INPUT: sample s/cut.json is not JSON (Unexpected end of JSON input); expected an OIP v2 body',
    ]);
    assert.deepEqual(await tryIt.locator('tr[data-sample="s/good.json"] [data-testid="browser-output"]').allTextContents(), ['0.375000', '16000'], 'both outputs, the INT64 one as an integer');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a large output shows its first values and how many there are; text stays text', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    await page.goto(`${h.http}/#/models/wide/1.0.0`);
    const tryIt = page.getByTestId('try-it');
    await tryIt.getByRole('button', { name: /Try it/ }).click();
    const shown = tryIt.getByTestId('browser-output');
    await shown.waitFor({ timeout: 30_000 });
    const cells = (await shown.textContent())!;
    assert.match(cells, /, … \(first 8 of 5,000 values\)$/);
    const values = cells.replace(/, … .*$/, '').split(', ').map(Number);
    assert.equal(values.length, 8);
    values.forEach((v, i) => assert.ok(Math.abs(v - bigOut[i]!) <= 1e-4 * Math.max(1, Math.abs(bigOut[i]!)), `value ${i}: ${v} vs ${bigOut[i]}`));

    await page.goto(`${h.http}/#/models/echo/1.0.0`);
    await tryIt.getByRole('button', { name: /Try it/ }).click();
    await tryIt.getByTestId('sample-verdict').filter({ hasText: 'matches' }).waitFor({ timeout: 30_000 });
    assert.equal(await tryIt.getByTestId('browser-output').textContent(), 'hello <b>world</b>');
    assert.equal(await tryIt.locator('b').count(), 0, 'no markup from the model');
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  it('a bundle over 64 MiB is not downloaded: the page says why', async () => {
    const page = await signIn(h.browser, h.http, h.token);
    // The version page reads the bundle's head once per load of its detail (models.tsx), and loads again when
    // the model list changes or the views refetch: Try it itself reading the bundle would be a GET more.
    let bundleGets = 0;
    let detailGets = 0;
    page.on('request', (r) => {
      if (r.url().endsWith('/echo/versions/2.0.0/bundle')) bundleGets++;
      if (/\/echo\/versions\/2\.0\.0\?devices=/.test(r.url())) detailGets++;
    });
    await page.goto(`${h.http}/#/models/echo/2.0.0`);
    await page.getByTestId('signature-status').filter({ hasText: /Signed/ }).waitFor();
    const tryIt = page.getByTestId('try-it');
    assert.ok(await tryIt.getByRole('button', { name: /Try it/ }).isDisabled(), 'the button is disabled');
    assert.equal(await tryIt.getByTestId('try-it-why').textContent(), 'Not run here: PAYLOAD_TOO_LARGE: the bundle is over 64 MiB: too large to try in the console (a device\'s preflight runs its samples).');
    assert.ok(bundleGets >= 1 && bundleGets <= detailGets, `only the signature check read the bundle (its head), once per load of the page: ${bundleGets} reads, ${detailGets} loads`);
    await page.close();
  });
});
