// `npm run example:model`: trains the example vibration anomaly model (v1.0.0
// and v2.0.0 on shifted data, v3.0.0 regressed on purpose), packs, signs and verifies the bundles under
// examples/out/ (or --out DIR). `--small` uses the quick test sizes.
import { resolve } from 'node:path';
import { repoRoot } from './testkit/spawn.js';
import { makeExampleOutputs } from './vibration/make.js';

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    process.stdout.write('usage: node examples/dist/make-example.js [--out DIR] [--small]\n  writes DIR/keys/, DIR/trust.json and DIR/vibration-anomaly-{1.0.0,2.0.0,3.0.0}.efb (default DIR: examples/out)\n');
    return 0;
  }
  const outIdx = argv.indexOf('--out');
  const outArg = outIdx >= 0 ? argv[outIdx + 1] : undefined;
  if (outIdx >= 0 && !outArg) {
    process.stderr.write('--out needs a directory\n');
    return 2;
  }
  const unknown = argv.filter((a, i) => a.startsWith('--') && !['--out', '--small'].includes(a) && i !== outIdx + 1);
  if (unknown.length) {
    process.stderr.write(`unknown option ${unknown.join(' ')}; expected --out DIR, --small or --help\n`);
    return 2;
  }
  const outDir = outArg ? resolve(outArg) : resolve(repoRoot(), 'examples', 'out');
  const started = Date.now();
  const r = await makeExampleOutputs({ outDir, small: argv.includes('--small'), log: (l) => process.stdout.write(`${l}\n`) });
  process.stdout.write(`done in ${((Date.now() - started) / 1000).toFixed(1)} s: ${r.bundles.length} bundles verify with --trust ${r.trustPath}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`make-example failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
