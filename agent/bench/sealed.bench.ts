// Sealed models (docs/decisions/0029-sealed-models.md): what encryption costs at cold start and at a
// swap, against the same model unencrypted, measured in the same run. Two sizes: the example model
// (~15 KiB) and a random MLP of ~64 MiB. Cold start: the BUILT agent started as the systemd unit does
// (start-lib.ts) on data dirs provisioned through the built CLI (`install --key` for the sealed ones),
// starts alternating plain/sealed, best of STARTS. Swap: an in-process agent switching between two
// installed versions (verify files, decrypt into memory, load and warm, swap), median of SWAPS.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { newContentKey, sealContentKey, decodeBoxPublicKey } from '@edgefleet/shared';
import { bundleFromOnnx, buildExampleBundle, makeKeys, makeTrust, randomMlp, type Keys } from '@edgefleet/examples';
import { createAgent } from '../src/agent.js';
import { AgentConfig } from '../src/config.js';
import { once, runCli } from './start-lib.js';

const STARTS = 3;
const SWAPS = 6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const dir = mkdtempSync(join(tmpdir(), 'ef-bench-sealed-'));
try {
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const key = newContentKey();
  const big = randomMlp({ inputDim: 512, hidden: [4096, 3072], outputDim: 8, seed: 3 });
  const bigMb = big.onnx.length / 1048576;
  type Kind = { label: string; model: string; build: (version: string, sealed: boolean) => Promise<string> };
  const kinds: Kind[] = [
    {
      label: 'example model', model: 'vibration-anomaly',
      build: async (version, sealed) => (await buildExampleBundle({ dir: join(dir, 'b', sealed ? 's' : 'p'), version, keys, ...(sealed ? { encrypt: { key } } : {}) })).path,
    },
    {
      label: `MLP ${bigMb.toFixed(0)} MiB`, model: 'big',
      build: async (version, sealed) => (await bundleFromOnnx({ dir: join(dir, 'b', sealed ? 's' : 'p'), onnx: big.onnx, name: 'big', version, io: big.io, keys: keys as Keys, ...(sealed ? { encrypt: { key } } : {}) })).path,
    },
  ];
  /** A data dir with trust and the bundle installed through the built CLI; a sealed one with the key sealed to its device key. */
  const provision = (data: string, bundle: string, sealed: boolean) => {
    runCli(['trust', 'set', trust.path, '--data-dir', data]);
    const args = ['install', bundle, '--data-dir', data];
    if (sealed) {
      const pub = JSON.parse(runCli(['key', 'show', '--data-dir', data])) as { public: string };
      const sealedPath = join(data, '..', `${data.split('/').pop()}-sealed.json`);
      writeFileSync(sealedPath, JSON.stringify(sealContentKey(key, decodeBoxPublicKey(pub.public, 'device key'))));
      args.push('--key', sealedPath);
    }
    runCli(args);
  };
  for (const k of kinds) {
    const plain = [await k.build('1.0.0', false), await k.build('2.0.0', false)];
    const sealed = [await k.build('1.0.0', true), await k.build('2.0.0', true)];
    // Cold start of the built agent.
    const dPlain = join(dir, `cold-${k.model}-plain`);
    const dSealed = join(dir, `cold-${k.model}-sealed`);
    provision(dPlain, plain[0]!, false);
    provision(dSealed, sealed[0]!, true);
    const coldPlain: number[] = [];
    const coldSealed: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      coldPlain.push((await once(dPlain, k.model)).healthMs);
      coldSealed.push((await once(dSealed, k.model)).healthMs);
    }
    const cp = Math.min(...coldPlain);
    const cs = Math.min(...coldSealed);
    console.log(`sealed cold start, ${k.label}: plain ${cp.toFixed(0)} ms, sealed ${cs.toFixed(0)} ms (best of ${STARTS}) = ${(cs / cp).toFixed(2)}x`);
    // Swap between two installed versions, in process.
    const swap = async (bundles: string[], sealedKind: boolean): Promise<number> => {
      const data = join(dir, `swap-${k.model}-${sealedKind ? 'sealed' : 'plain'}`);
      const agent = createAgent(AgentConfig.parse({ dataDir: data, api: { host: '127.0.0.1', port: 0 }, log: { level: 'silent' } }), { logger: pino({ level: 'silent' }), reconcileMs: 0 });
      await agent.start();
      try {
        agent.trust.put(trust.doc, 1);
        const sk = sealedKind ? sealContentKey(key, agent.manager.files.deviceKeyPublic()) : undefined;
        await agent.manager.install(bundles[0]!, sk ? { sealedKey: sk } : {});
        await agent.manager.install(bundles[1]!, { activate: false, ...(sk ? { sealedKey: sk } : {}) });
        const times: number[] = [];
        for (let i = 0; i < SWAPS; i++) {
          const t0 = performance.now();
          await agent.manager.activate(k.model, i % 2 === 0 ? '2.0.0' : '1.0.0');
          times.push(performance.now() - t0);
        }
        return median(times);
      } finally {
        await agent.stop();
      }
    };
    const sp = await swap(plain, false);
    const ss = await swap(sealed, true);
    console.log(`sealed swap, ${k.label}: plain ${sp.toFixed(1)} ms, sealed ${ss.toFixed(1)} ms (median of ${SWAPS}) = ${(ss / sp).toFixed(2)}x`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
