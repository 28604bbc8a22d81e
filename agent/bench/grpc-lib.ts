// Parts of grpc.bench.ts (not a bench itself): a load generator in a child
// process (as lib.ts's, so it shares neither event loop nor CPU accounting
// with the server) that speaks gRPC ModelInfer through a grpc-js client from
// the agent's .proto, or HTTP with any body and headers over TCP or a Unix
// socket; and the bare gRPC server: grpc-js + the same .proto + ORT directly.
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import '@edgefleet/shared/ort-env';
import ort from 'onnxruntime-node';
import { inferenceService, PROTO_OPTIONS, PROTO_PATH } from '../src/api/grpc/server.js';
import { runGenerator, type LoadResult } from './lib.js';

export type Target = { kind: 'grpc'; address: string } | { kind: 'http'; host?: string; port?: number; socketPath?: string };

export interface GenLoad {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** gRPC: ModelInferRequests with raw_input_contents as base64 strings. */
  /** ModelInfer requests; raw_input_contents (if any) in base64, as the child receives them as JSON. */
  grpcBodies?: Array<Record<string, unknown> & { raw_input_contents?: string[] }>;
  /** HTTP: path, headers and base64 bodies. */
  path?: string;
  httpBodies?: Array<{ headers: Record<string, string>; body: string }>;
}

const CHILD = `
const http = require('node:http');
async function phase(o, target) {
  let one, close = () => {};
  if (target.kind === 'grpc') {
    const grpc = require('@grpc/grpc-js');
    const loader = require('@grpc/proto-loader');
    const pkg = grpc.loadPackageDefinition(loader.loadSync(o.proto, o.protoOptions));
    const client = new pkg.inference.GRPCInferenceService(target.address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
    const reqs = o.grpcBodies.map((b) => (b.raw_input_contents ? { ...b, raw_input_contents: b.raw_input_contents.map((x) => Buffer.from(x, 'base64')) } : b));
    one = (i) => new Promise((resolve) => {
      const start = performance.now();
      client.ModelInfer(reqs[i % reqs.length], (err) => resolve({ status: err ? 'grpc ' + err.code + ' ' + err.details : 200, ms: performance.now() - start }));
    });
    close = () => client.close();
  } else {
    const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency });
    const bodies = o.httpBodies.map((b) => { const body = Buffer.from(b.body, 'base64'); return { body, headers: { ...b.headers, 'content-length': body.length } }; });
    const where = target.socketPath ? { socketPath: target.socketPath } : { host: target.host, port: target.port };
    one = (i) => new Promise((resolve) => {
      const b = bodies[i % bodies.length];
      const start = performance.now();
      const req = http.request({ ...where, path: o.path, method: 'POST', agent, headers: b.headers }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve({ status: res.statusCode, ms: performance.now() - start }));
        res.on('error', (e) => resolve({ status: 'error ' + e.message, ms: 0 }));
      });
      req.on('error', (e) => resolve({ status: 'error ' + e.message, ms: 0 }));
      req.end(b.body);
    });
    close = () => agent.destroy();
  }
  const lat = [];
  const failures = {};
  let failed = 0, measuring = false, stop = false, t0 = 0, t1 = 0;
  async function loop(k) {
    let i = k;
    while (!stop) {
      const r = await one(i++);
      if (r.status !== 200) { failed++; failures[r.status] = (failures[r.status] || 0) + 1; }
      else if (measuring) lat.push(r.ms);
    }
  }
  const loops = Array.from({ length: o.concurrency }, (_, k) => loop(k));
  setTimeout(() => {
    measuring = true; t0 = performance.now(); process.send({ t: 'on' });
    setTimeout(() => { measuring = false; t1 = performance.now(); stop = true; process.send({ t: 'off' }); }, o.durationMs);
  }, o.warmupMs);
  await Promise.all(loops);
  close();
  await new Promise((resolve) => process.send({ t: 'result', lat, failed, failures, seconds: (t1 - t0) / 1000 }, resolve));
}
process.once('message', async (o) => {
  for (const t of o.phases) await phase(o, t);
  process.disconnect();
});
`;

/** One child runs the load against each target in turn; one result per phase. */
export function runTargets(o: GenLoad & { phases: Target[] }): Promise<LoadResult[]> {
  // From the repository root, where the child resolves @grpc/grpc-js.
  return runGenerator(CHILD, { ...o, proto: PROTO_PATH, protoOptions: PROTO_OPTIONS }, o.phases.length, fileURLToPath(new URL('../..', import.meta.url)));
}

/**
 * The bare gRPC server: grpc-js, the same .proto, ModelInfer taking the first
 * input's raw bytes straight into an ORT tensor and answering raw outputs.
 * No validation, limits, metrics or summaries.
 */
export async function startBareGrpc(onnx: Uint8Array, name: string, options: ort.InferenceSession.SessionOptions): Promise<{ address: string; close(): Promise<void> }> {
  const session = await ort.InferenceSession.create(onnx, options);
  const server = new Server({ 'grpc.max_receive_message_length': -1 });
  type Req = { inputs: Array<{ name: string; shape: number[]; contents?: { fp32_contents?: number[] } }>; raw_input_contents?: Buffer[] };
  // The least a server can do: one FP32 input, raw bytes in and out, or typed fp32_contents in and out.
  const modelInfer = (call: ServerUnaryCall<Req, unknown>, cb: sendUnaryData<unknown>) => {
    const r = call.request;
    const t = r.inputs[0]!;
    const b = r.raw_input_contents?.[0];
    let data: Float32Array;
    if (b) {
      data = new Float32Array(b.length / 4);
      new Uint8Array(data.buffer).set(b);
    } else data = Float32Array.from(t.contents?.fp32_contents ?? []);
    session.run({ [t.name]: new ort.Tensor('float32', data, t.shape) }).then((out) => {
      const names = session.outputNames;
      const outputs = names.map((n) => ({ name: n, datatype: 'FP32', shape: out[n]!.dims }));
      if (!b) {
        cb(null, { model_name: name, outputs: outputs.map((o) => ({ ...o, contents: { fp32_contents: Array.from(out[o.name]!.data as Float32Array) } })) });
        return;
      }
      cb(null, {
        model_name: name,
        outputs,
        raw_output_contents: names.map((n) => { const d = out[n]!.data as Float32Array; return new Uint8Array(d.buffer, d.byteOffset, d.byteLength); }),
      });
    }, (err: Error) => cb(err));
  };
  server.addService(inferenceService(), { ModelInfer: modelInfer });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return {
    address: `127.0.0.1:${port}`,
    async close() {
      server.forceShutdown();
      await session.release();
    },
  };
}
