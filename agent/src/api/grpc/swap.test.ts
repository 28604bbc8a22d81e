// gRPC calls during a model swap, on a real agent with two versions of "mlp" installed and a grpc-js client
// (docs/agent.md "Local API (OIP v2)"): a ModelInfer naming no version is served by whichever version is
// active, none failing while versions are switched under it; one pinned to the version just switched away
// from is answered NOT_FOUND naming the active version, as REST answers 404 (../../runtime/runtime.ts noSuchVersion).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { status, type ServiceError } from '@grpc/grpc-js';
import { waitFor } from '@edgefleet/examples';
import { mlpBundle } from '../../testing.js';
import { refused, startGrpcAgent, type GrpcAgent } from './testing.js';

const infer = (version?: string) => ({
  model_name: 'mlp',
  ...(version === undefined ? {} : { model_version: version }),
  inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }],
});

describe('local API over gRPC: calls during a model swap', () => {
  let g: GrpcAgent;
  before(async () => {
    // Installed in order: 2.0.0 is active, 1.0.0 loaded on the store.
    g = await startGrpcAgent(async (kit) => [await mlpBundle(kit, '1.0.0', { seed: 1 }), await mlpBundle(kit, '2.0.0', { seed: 2 })]);
  });
  after(() => g.close());

  it('serves calls without a version through every switch, and answers one pinned to the old version NOT_FOUND naming the active one', async () => {
    let stop = false;
    const served = new Map<string, number>();
    const failures: string[] = [];
    const worker = async () => {
      while (!stop) {
        try {
          const r = await g.client.call('ModelInfer', infer(), undefined, 10_000);
          served.set(r['model_version'] as string, (served.get(r['model_version'] as string) ?? 0) + 1);
        } catch (err) {
          const e = err as ServiceError;
          failures.push(`${e.code} ${e.details}`);
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    try {
      for (const [to, from] of [['1.0.0', '2.0.0'], ['2.0.0', '1.0.0'], ['1.0.0', '2.0.0']] as const) {
        const earlier = served.get(to) ?? 0;
        await g.agent.manager.activate('mlp', to);
        // Calls in flight went on: one naming no version is served by the new one.
        await waitFor(`a call without a version served by ${to}`, () => (served.get(to) ?? 0) > earlier, { timeoutMs: 10_000 });
        const err = await refused(g.client.call('ModelInfer', infer(from), undefined, 10_000));
        assert.deepEqual([err.code, err.details, err.metadata.get('error-code')], [status.NOT_FOUND, `model "mlp" has no version "${from}" loaded: expected "${to}" (the active version)`, ['NOT_FOUND']]);
        assert.equal((await g.client.call('ModelInfer', infer(to), undefined, 10_000))['model_version'], to);
      }
    } finally {
      stop = true;
      await Promise.all(workers);
    }
    assert.deepEqual(failures, []);
  });
});
