// `npm start` until the local fleet exists (issue 5 grows this): runs the example
// model end to end — train, pack, sign, verify (examples/out/) — then loads the
// verified v1.0.0 model from its bundle and scores a few fresh measurements.
import { join, resolve } from 'node:path';
import { extractBundleFile } from '@edgefleet/shared';
import { generateVibration, MACHINE_TYPES, N_FEATURES } from './vibration/data.js';
import { makeExampleOutputs } from './vibration/make.js';
import { runOrt } from './vibration/pipeline.js';
import { repoRoot } from './testkit/spawn.js';
import { readFile, rm } from 'node:fs/promises';

async function main(): Promise<void> {
  const outDir = resolve(repoRoot(), 'examples', 'out');
  const r = await makeExampleOutputs({ outDir, log: (l) => process.stdout.write(`${l}\n`) });
  const v1 = r.bundles[0];
  if (!v1) throw new Error('no bundle was made');
  const modelPath = join(outDir, '.start-model.onnx');
  await extractBundleFile(v1.path, 'model.onnx', modelPath);
  const d = generateVibration({ rows: 8, seed: 424242 });
  const p = await runOrt(await readFile(modelPath), d);
  await rm(modelPath, { force: true });
  process.stdout.write('\nscoring 8 new measurements with vibration-anomaly 1.0.0 (onnxruntime):\n');
  for (let i = 0; i < d.rows; i++) {
    const row = d.x.subarray(i * N_FEATURES, (i + 1) * N_FEATURES);
    const type = MACHINE_TYPES[row[11] as number] ?? '?';
    process.stdout.write(
      `  ${type.padEnd(10)} rms ${(row[0] as number).toFixed(2)} mm/s  kurtosis ${(row[3] as number).toFixed(1)}  bearing ${(row[4] as number).toFixed(0)} °C` +
        `  -> P(anomaly) ${(p[i] as number).toFixed(3)}  (label ${d.y[i]})\n`,
    );
  }
  process.stdout.write(`\nverify a bundle: npx edgefleet model verify ${v1.path} --trust ${r.trustPath}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`start failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
