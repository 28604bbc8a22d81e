// A promise-returning OIP v2 gRPC client from the same .proto, for tests and
// benchmarks (a real generated grpc-js client, not a stub of ours).
import { credentials, loadPackageDefinition, Metadata, type ChannelCredentials, type Client, type ServiceError, type ClientOptions } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_OPTIONS, PROTO_PATH } from './server.js';

/** A decoded OIP message: fields as the proto names them (tests read what they check). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OipMessage = Record<string, any>;
type Call = (req: unknown, md: Metadata, opts: { deadline?: number }, cb: (err: ServiceError | null, res: OipMessage) => void) => void;

export interface OipGrpcClient {
  /** `deadlineMs`: how long the call may take (20 s unless given). */
  call(method: string, req: unknown, md?: Metadata, deadlineMs?: number): Promise<OipMessage>;
  raw: Client;
  close(): void;
}

/** `target`: host:port or unix:///path; `proto` overrides how messages decode (e.g. `longs: String` for exact 64-bit ints). */
export function oipClient(target: string, options: ClientOptions = {}, proto: Partial<typeof PROTO_OPTIONS> | { longs: StringConstructor } = {}): OipGrpcClient {
  const pkg = loadPackageDefinition(loadSync(PROTO_PATH, { ...PROTO_OPTIONS, ...proto })) as unknown as { inference: { GRPCInferenceService: new (target: string, creds: ChannelCredentials, options: ClientOptions) => Client } };
  const client: Client = new pkg.inference.GRPCInferenceService(target, credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, ...options });
  return {
    raw: client,
    call: (method, req, md = new Metadata(), deadlineMs = 20_000) => new Promise((resolve, reject) => {
      ((client as unknown as Record<string, Call>)[method]!).call(client, req, md, { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res)));
    }),
    close: () => client.close(),
  };
}

/** Float32 values as raw little-endian bytes. */
export const f32Bytes = (x: number[]): Buffer => Buffer.from(new Float32Array(x).buffer);
export const i64Bytes = (x: number[]): Buffer => Buffer.from(new BigInt64Array(x.map((v) => BigInt(v))).buffer);
