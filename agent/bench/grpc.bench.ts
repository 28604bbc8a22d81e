// The local API's gRPC, Unix socket and binary tensors (issue 14, section 5),
// every figure against a baseline measured in the same run, alternating phases
// in one load-generator child (grpc-lib.ts) so a neighbour's burst hits one pair:
//  1. gRPC ModelInfer on the agent vs a bare grpc-js server calling ORT directly
//     (same .proto, same session options, raw_input_contents): >= 0.9x throughput, p99 <= 1.2x;
//     `typed`: the same with typed fp32_contents in and out (the agent decodes int64 fields exactly,
//     docs/decisions/0068-grpc-exact-int64.md; the bare server as numbers): expect >= 0.9x too.
//  2. REST over the Unix socket vs REST over TCP loopback: expect >= 1.0x.
//  3. Bytes per request for a 64 KB FP32 input: JSON vs binary REST, typed vs raw gRPC.
//  4. Binary vs JSON REST throughput for a 1x3x224x224 FP32 image in and a 1x1x224x224 mask out.
// GRPC_BENCH_ROUNDS (default 6) and GRPC_BENCH_PARTS (comma list: grpc,typed,socket,bytes,image) narrow a run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { bundleFromOnnx, GraphBuilder, makeKeys, makeTrust, randomMlp } from '@edgefleet/examples';
import { createAgent } from '../src/agent.js';
import { AgentConfig } from '../src/config.js';
import { inferenceService } from '../src/api/grpc/server.js';
import { oipClient } from '../src/api/grpc/client.js';
import { AGENT_LIKE_OPTIONS, fmt, median, type LoadResult } from './lib.js';
import { runTargets, startBareGrpc, type GenLoad, type Target } from './grpc-lib.js';

const ROUNDS = Number(process.env.GRPC_BENCH_ROUNDS ?? 6);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`GRPC_BENCH_ROUNDS=${process.env.GRPC_BENCH_ROUNDS}: expected a positive integer`);
const CONCURRENCY = 8;
const PARTS = (process.env.GRPC_BENCH_PARTS ?? 'grpc,typed,socket,bytes,image').split(',');

let s = 11;
const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const floats = (n: number) => Array.from({ length: n }, rnd);
const b64f32 = (x: number[]) => Buffer.from(new Float32Array(x).buffer).toString('base64');
const each = (xs: number[]) => `[${xs.map((x) => x.toFixed(2)).join(' ')}]`;
const line = (who: string, r: LoadResult) =>
  `  ${who.padEnd(28)} ${fmt(r.reqPerSec).padStart(7)} req/s  p50 ${fmt(r.p50, 2)} ms  p99 ${fmt(r.p99, 2)} ms  cpu ${fmt(r.cpuUsPerReq, 1)} µs/req${r.failed ? `  FAILED ${r.failed} ${JSON.stringify(r.failures)}` : ''}`;
const med = (rs: LoadResult[]): LoadResult => ({
  ok: median(rs.map((r) => r.ok)), failed: rs.reduce((n, r) => n + r.failed, 0), failures: Object.assign({}, ...rs.map((r) => r.failures)) as Record<string, number>,
  seconds: median(rs.map((r) => r.seconds)), reqPerSec: median(rs.map((r) => r.reqPerSec)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)), cpuUsPerReq: median(rs.map((r) => r.cpuUsPerReq)),
});

/** Alternates a and b for ROUNDS rounds; the per-round ratios a/b of throughput and p99, and the medians. */
async function pair(load: GenLoad, a: Target, b: Target) {
  const order = Array.from({ length: ROUNDS }, (_, r) => (r % 2 === 0 ? [b, a] : [a, b])).flat();
  const results = await runTargets({ ...load, phases: order });
  const as: LoadResult[] = [];
  const bs: LoadResult[] = [];
  results.forEach((x, i) => (order[i] === a ? as : bs).push(x));
  const tputs = as.map((x, i) => x.reqPerSec / bs[i]!.reqPerSec);
  const p99s = as.map((x, i) => x.p99 / bs[i]!.p99);
  return { a: med(as), b: med(bs), tputs, p99s, tput: median(tputs), p99: median(p99s), failed: results.reduce((n, r) => n + r.failed, 0) };
}

const dir = mkdtempSync(join(tmpdir(), 'ef-bench-grpc-'));
let failed = 0;
try {
  const keys = makeKeys(join(dir, 'keys'));
  const trust = makeTrust(dir, keys);
  const bundles = join(dir, 'bundles');
  const mlp = randomMlp({ inputDim: 64, hidden: [256, 256], outputDim: 10, seed: 3 });
  const wide = randomMlp({ inputDim: 16384, hidden: [8], outputDim: 4, seed: 4, inputName: 'input' });
  const g = new GraphBuilder('mask');
  const image = g.input('image', 'FP32', [1, 3, 224, 224]);
  g.op('ReduceMean', [image], { axes: [1], keepdims: 1 }, 'mask');
  g.output('mask', 'FP32', [1, 1, 224, 224]);
  const seg = { onnx: g.build(), io: { inputs: [{ name: 'image', datatype: 'FP32' as const, shape: [1, 3, 224, 224] }], outputs: [{ name: 'mask', datatype: 'FP32' as const, shape: [1, 1, 224, 224] }] } };
  const socket = join(dir, 'agent.sock');
  const agent = createAgent(AgentConfig.parse({
    dataDir: join(dir, 'data'), log: { level: 'silent' },
    api: { host: '127.0.0.1', port: 0, socket, maxBodyBytes: 32 * 1024 * 1024, grpc: { enabled: true, port: 0, maxCalls: CONCURRENCY } },
  }), { logger: pino({ level: 'silent' }), reconcileMs: 0 });
  await agent.start();
  agent.trust.put(trust.doc, 1);
  for (const [name, m] of [['mlp', mlp], ['wide', wide], ['seg', seg]] as const) {
    await agent.manager.install((await bundleFromOnnx({ dir: bundles, onnx: m.onnx, name, version: '1.0.0', io: m.io, keys })).path);
  }
  const tcp = new URL(agent.url);
  console.log(`load: ${CONCURRENCY} loops in a child process, 300 ms warm-up + 1000 ms measured per phase, ${ROUNDS} alternating rounds, medians of per-round ratios`);

  const rows = Array.from({ length: 64 }, () => floats(64));
  if (PARTS.includes('grpc')) {
    // 1. gRPC: the agent vs the bare grpc-js + ORT server, raw contents, one-row MLP requests.
    const bare = await startBareGrpc(mlp.onnx, 'mlp', AGENT_LIKE_OPTIONS);
    const check = oipClient(agent.grpcAddress!);
    const probe = { model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64] }], raw_input_contents: [Buffer.from(new Float32Array(rows[0]!).buffer)] };
    const checkBare = oipClient(bare.address);
    const [fromAgent, fromBare] = await Promise.all([check.call('ModelInfer', probe), checkBare.call('ModelInfer', probe)]);
    check.close();
    checkBare.close();
    if (!Buffer.from(fromAgent.raw_output_contents[0]).equals(Buffer.from(fromBare.raw_output_contents[0]))) throw new Error('agent and bare gRPC server disagree on the MLP output');
    const grpcLoad: GenLoad = {
      concurrency: CONCURRENCY, warmupMs: 300, durationMs: 1000,
      grpcBodies: rows.map((r) => ({ model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64] }], raw_input_contents: [b64f32(r)] })),
    };
    const gp = await pair(grpcLoad, { kind: 'grpc', address: agent.grpcAddress! }, { kind: 'grpc', address: bare.address });
    await bare.close();
    failed += gp.failed;
    console.log('\ngRPC ModelInfer, MLP 64->256->256->10, raw_input_contents:');
    console.log(line('agent', gp.a));
    console.log(line('bare grpc-js + ORT', gp.b));
    console.log(`grpc throughput mlp: ${fmt(gp.a.reqPerSec)} req/s vs bare ${fmt(gp.b.reqPerSec)} req/s = ${gp.tput.toFixed(2)}x, rounds ${each(gp.tputs)} (target >= 0.9) ${gp.tput >= 0.9 ? 'OK' : 'MISSED'}`);
    console.log(`grpc p99 mlp: ${fmt(gp.a.p99, 2)} ms vs bare ${fmt(gp.b.p99, 2)} ms = ${gp.p99.toFixed(2)}x, rounds ${each(gp.p99s)} (target <= 1.2) ${gp.p99 <= 1.2 ? 'OK' : 'MISSED'}`);

  }
  if (PARTS.includes('typed')) {
    // 1b. gRPC with typed contents: what most generated stubs send.
    const bare = await startBareGrpc(mlp.onnx, 'mlp', AGENT_LIKE_OPTIONS);
    const typed = (r: number[]) => ({ model_name: 'mlp', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], contents: { fp32_contents: r } }] });
    const [fromAgent, fromBare] = await Promise.all([agent.grpcAddress!, bare.address].map(async (a) => {
      const c = oipClient(a);
      try {
        return (await c.call('ModelInfer', typed(rows[0]!))).outputs[0].contents.fp32_contents as number[];
      } finally {
        c.close();
      }
    }));
    if (JSON.stringify(fromAgent) !== JSON.stringify(fromBare)) throw new Error(`agent and bare gRPC server disagree on the typed MLP output: ${JSON.stringify(fromAgent)} vs ${JSON.stringify(fromBare)}`);
    const tp = await pair({ concurrency: CONCURRENCY, warmupMs: 300, durationMs: 1000, grpcBodies: rows.map(typed) }, { kind: 'grpc', address: agent.grpcAddress! }, { kind: 'grpc', address: bare.address });
    await bare.close();
    failed += tp.failed;
    console.log('\ngRPC ModelInfer, MLP 64->256->256->10, typed fp32_contents in and out:');
    console.log(line('agent', tp.a));
    console.log(line('bare grpc-js + ORT', tp.b));
    console.log(`grpc typed throughput mlp: ${fmt(tp.a.reqPerSec)} req/s vs bare ${fmt(tp.b.reqPerSec)} req/s = ${tp.tput.toFixed(2)}x, rounds ${each(tp.tputs)} (expect >= 0.9) ${tp.tput >= 0.9 ? 'OK' : 'MISSED'}`);
    console.log(`grpc typed p99 mlp: ${fmt(tp.a.p99, 2)} ms vs bare ${fmt(tp.b.p99, 2)} ms = ${tp.p99.toFixed(2)}x, rounds ${each(tp.p99s)} (expect <= 1.2) ${tp.p99 <= 1.2 ? 'OK' : 'MISSED'}`);
  }
  if (PARTS.includes('socket')) {
    // 2. REST over the Unix socket vs over TCP loopback, same agent, same JSON bodies.
    const json = (r: number[]) => Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: r }] })).toString('base64');
    const restLoad: GenLoad = { concurrency: CONCURRENCY, warmupMs: 300, durationMs: 1000, path: '/v2/models/mlp/infer', httpBodies: rows.map((r) => ({ headers: { 'content-type': 'application/json' }, body: json(r) })) };
    const up = await pair(restLoad, { kind: 'http', socketPath: socket }, { kind: 'http', host: tcp.hostname, port: Number(tcp.port) });
    failed += up.failed;
    console.log('\nREST, MLP 64->256->256->10, JSON:');
    console.log(line('Unix socket', up.a));
    console.log(line('TCP loopback', up.b));
    console.log(`unix socket throughput: ${fmt(up.a.reqPerSec)} req/s vs TCP ${fmt(up.b.reqPerSec)} req/s = ${up.tput.toFixed(2)}x, rounds ${each(up.tputs)} (expect >= 1.0) ${up.tput >= 1.0 ? 'OK' : 'MISSED'}`);
    console.log(`unix socket p99: ${fmt(up.a.p99, 2)} ms vs TCP ${fmt(up.b.p99, 2)} ms = ${up.p99.toFixed(2)}x`);

  }
  if (PARTS.includes('bytes')) {
    // 3. Bytes per request for a 64 KB input (16384 FP32 values), request and answer.
    const x = floats(16384);
    const jsonBody = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 16384], data: x }] });
    const header = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 16384], parameters: { binary_data_size: 65536 } }] });
    const binBody = Buffer.concat([Buffer.from(header), Buffer.from(new Float32Array(x).buffer)]);
    const ser = inferenceService().ModelInfer!.requestSerialize;
    const typedMsg = ser({ model_name: 'wide', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 16384], contents: { fp32_contents: x } }] });
    const rawMsg = ser({ model_name: 'wide', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 16384] }], raw_input_contents: [Buffer.from(new Float32Array(x).buffer)] });
    const jr = await fetch(`${agent.url}/v2/models/wide/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: jsonBody });
    const br = await fetch(`${agent.url}/v2/models/wide/infer`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(Buffer.byteLength(header)) }, body: binBody });
    if (jr.status !== 200 || br.status !== 200) throw new Error(`64 KB requests failed: JSON ${jr.status}, binary ${br.status} ${await br.text()}`);
    const jb = Buffer.byteLength(jsonBody);
    console.log('\nbytes per request, 64 KB FP32 input (16384 values):');
    console.log(`bytes json vs binary REST: ${fmt(jb)} vs ${fmt(binBody.length)} = ${(jb / binBody.length).toFixed(2)}x smaller binary`);
    console.log(`bytes typed vs raw gRPC: ${fmt(typedMsg.length)} vs ${fmt(rawMsg.length)} = ${(typedMsg.length / rawMsg.length).toFixed(2)}x (typed fp32_contents is packed too)`);
    console.log(`bytes json REST vs raw gRPC: ${fmt(jb)} vs ${fmt(rawMsg.length)} = ${(jb / rawMsg.length).toFixed(2)}x`);

  }
  if (PARTS.includes('image')) {
    // 4. Binary vs JSON REST for a camera frame: 1x3x224x224 FP32 in, a 1x1x224x224 mask out.
    const frames = Array.from({ length: 4 }, () => floats(3 * 224 * 224));
    const segJson = frames.map((f) => ({ headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify({ inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 3, 224, 224], data: f }] })).toString('base64') }));
    const segHeader = JSON.stringify({ inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 3, 224, 224], parameters: { binary_data_size: 3 * 224 * 224 * 4 } }], parameters: { binary_data_output: true } });
    const segBin = frames.map((f) => ({
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(Buffer.byteLength(segHeader)) },
      body: Buffer.concat([Buffer.from(segHeader), Buffer.from(new Float32Array(f).buffer)]).toString('base64'),
    }));
    const imgLoad = { concurrency: 4, warmupMs: 300, durationMs: 1000, path: '/v2/models/seg/infer' };
    const target: Target = { kind: 'http', host: tcp.hostname, port: Number(tcp.port) };
    const order = Array.from({ length: Math.max(2, Math.ceil(ROUNDS / 2)) }, () => ['json', 'binary'] as const).flat();
    const jsonRs: LoadResult[] = [];
    const binRs: LoadResult[] = [];
    for (const kind of order) {
      const [r] = await runTargets({ ...imgLoad, httpBodies: kind === 'json' ? segJson : segBin, phases: [target] });
      (kind === 'json' ? jsonRs : binRs).push(r!);
      failed += r!.failed;
  }
  const ratiosImg = binRs.map((b, i) => b.reqPerSec / jsonRs[i]!.reqPerSec);
  const bi = med(binRs);
  const js = med(jsonRs);
  console.log(`\nREST, 1x3x224x224 FP32 image in (JSON ${fmt(Buffer.from(segJson[0]!.body, 'base64').length / 1e6, 1)} MB, binary ${fmt(Buffer.from(segBin[0]!.body, 'base64').length / 1e6, 2)} MB), 1x1x224x224 mask out, 4 loops:`);
  console.log(line('binary in + out', bi));
  console.log(line('JSON in + out', js));
  console.log(`binary vs json REST throughput 224x224: ${fmt(bi.reqPerSec, 1)} req/s vs ${fmt(js.reqPerSec, 1)} req/s = ${median(ratiosImg).toFixed(2)}x, rounds ${each(ratiosImg)} (expect several times) ${median(ratiosImg) >= 2 ? 'OK' : 'MISSED'}`);
  }
  await agent.stop();
  if (failed > 0) {
    console.error(`${failed} requests failed (see FAILED above)`);
    process.exitCode = 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
