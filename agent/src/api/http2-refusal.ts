// What an HTTP/2 client with prior knowledge (`curl --http2-prior-knowledge`, a gRPC client given the REST
// port) gets from the REST port (docs/agent.md "Local API", docs/decisions/0154-http2-on-the-rest-port.md):
// node's HTTP/1 parser stops at the HTTP/2 preface (HPE_PAUSED_H2_UPGRADE), and its HTTP/1.1 400 read as
// HTTP/2 frames was garbage to the client. So it is answered in HTTP/2: the server's preface (an empty
// SETTINGS frame, which must come first, RFC 9113 3.4) and a GOAWAY with HTTP_1_1_REQUIRED whose debug
// data says what the port speaks and where gRPC is. Written by hand: two frames, no HTTP/2 session.

/** RFC 9113 7: "The endpoint requires that HTTP/1.1 be used instead of HTTP/2." */
export const HTTP_1_1_REQUIRED = 0xd;

const SETTINGS = 0x4;
const GOAWAY = 0x7;

/** One HTTP/2 frame on stream 0, no flags (RFC 9113 4.1: 24-bit length, type, flags, 31-bit stream id). */
function frame(type: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  return Buffer.concat([head, payload]);
}

/** SETTINGS (empty: the defaults) then GOAWAY (last stream 0: no stream was processed) with HTTP_1_1_REQUIRED and `text`. */
export function http2Refusal(text: string): Buffer {
  const goaway = Buffer.alloc(8);
  goaway.writeUInt32BE(0, 0);
  goaway.writeUInt32BE(HTTP_1_1_REQUIRED, 4);
  return Buffer.concat([frame(SETTINGS, Buffer.alloc(0)), frame(GOAWAY, Buffer.concat([goaway, Buffer.from(text, 'utf8')]))]);
}

/** The GOAWAY's text: this listener (`where`) speaks HTTP/1.1, and where gRPC is (`grpc`), or that it is off. */
export function http2RefusalText(where: string, grpc: string | undefined): string {
  return `${where} speaks HTTP/1.1 (REST, OIP v2), not HTTP/2: ${grpc === undefined ? 'gRPC is not enabled on this agent (api.grpc.enabled)' : `gRPC is at ${grpc}`}`;
}
