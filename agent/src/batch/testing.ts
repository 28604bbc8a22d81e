// Test support for the batch tests: an agent data dir with a tabular model installed and active (a real
// 3 -> 4 -> 2 MLP in onnxruntime), and `edgefleet-agent batch` run in process.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { StringWriter } from '@edgefleet/shared/cli';
import { randomMlp } from '@edgefleet/examples';
import { openStore } from '../store/agent-store.js';
import { tabularManifest } from '../summaries/fixtures.js';
import { main } from '../cli/main.js';

export const manifest = tabularManifest({ name: 'tab', version: '1.0.0' });

/** A data dir with the fixture manifest installed and active, its entrypoint a real 3 -> 4 -> 2 MLP. */
export function makeDataDir(dir: string): void {
  const store = openStore(dir);
  const mlp = randomMlp({ inputDim: 3, hidden: [4], outputDim: 2, output: 'sigmoid', inputName: 'x', outputName: 'y', seed: 3 });
  const path = store.blobs.pathOf(manifest.files[0]!.sha256);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, mlp.onnx);
  store.models.addVersion({ name: 'tab', version: '1.0.0', manifest, manifestSha256: 'b'.repeat(64), signatures: { schema: 'edgefleet.signatures/v1', manifestSha256: 'b'.repeat(64), signatures: [] } });
  store.models.setActive('tab', '1.0.0');
  store.db.close();
}

/** `edgefleet-agent batch ARGS --data-dir DIR`, in process. */
export async function batch(argv: string[], dataDir: string) {
  const out = new StringWriter();
  const err = new StringWriter();
  const code = await main(['batch', ...argv, '--data-dir', dataDir], { stdout: out, stderr: err, env: {}, cwd: dataDir, now: () => new Date() });
  return { code, out: out.text, err: err.text };
}
