// The one bound on request bytes the agent holds at once, over every transport (api.maxInflightBodyBytes,
// docs/agent.md "Limits"): bodies being read (REST: reserved from Content-Length, or counted as they
// arrive; handler.ts) and the parsed tensors of requests waiting for a run or running (every transport:
// reserved by InferCore.start once a request is validated, released when it is answered or fails; core.ts).
// A JSON body parses into typed arrays of another size than its text ("0," is 2 bytes of JSON and 8 of
// INT64), and a queued request holds them until its run ends: without this, memory grew with
// concurrency.queue × parsed size, past any bound on bodies.
import { AppError, type OipTensor } from '@edgefleet/shared/core';

/** What a BYTES element is counted as besides 2 bytes per UTF-16 unit: V8's string header and the array slot. */
export const STRING_OVERHEAD_BYTES = 24;

/** Bytes the data of these tensors hold: typed arrays' byteLength; BYTES elements as UTF-16 plus their overhead. */
export function tensorBytes(tensors: readonly OipTensor[]): number {
  let n = 0;
  for (let i = 0; i < tensors.length; i++) {
    const d = tensors[i]!.data;
    if (Array.isArray(d)) {
      for (let k = 0; k < d.length; k++) n += STRING_OVERHEAD_BYTES + 2 * d[k]!.length;
    } else {
      n += d.byteLength;
    }
  }
  return n;
}

export class RequestBudget {
  /** Bytes of request bodies being read now. */
  bodies = 0;
  /** Bytes of the parsed tensors of requests waiting for a run or running. */
  tensors = 0;

  constructor(readonly limit: number) {}

  /** Everything held now, against `limit`. */
  get bytes(): number {
    return this.bodies + this.tensors;
  }

  /** The refusal of a request that does not fit now (503 with Retry-After on REST, UNAVAILABLE on gRPC). */
  overloaded(need?: number): AppError {
    const what = need === undefined ? '' : `this request's tensors take ${need} bytes once parsed; `;
    return new AppError('OVERLOADED', `${what}the agent holds ${this.bytes} bytes of requests (${this.bodies} of bodies being read, ${this.tensors} of parsed tensors waiting or running; limit ${this.limit}, api.maxInflightBodyBytes); retry later`);
  }

  /**
   * Reserves a validated request's tensors. PAYLOAD_TOO_LARGE when they alone pass the limit (the request
   * could never be served: no retry helps), OVERLOADED when they do not fit beside what is held now.
   */
  holdTensors(n: number): void {
    if (n > this.limit) {
      throw new AppError('PAYLOAD_TOO_LARGE', `request tensors take ${n} bytes once parsed: expected at most ${this.limit} (api.maxInflightBodyBytes, for every request held at once); send fewer rows per request`);
    }
    if (this.bodies + this.tensors + n > this.limit) throw this.overloaded(n);
    this.tensors += n;
  }

  releaseTensors(n: number): void {
    this.tensors -= n;
  }

  /** Prometheus series (text format 0.0.4) of what is held and the limit. */
  metrics(): string {
    return [
      '# HELP edgefleet_agent_request_bytes Request bytes held against api.maxInflightBodyBytes: bodies being read, parsed tensors of requests waiting or running.',
      '# TYPE edgefleet_agent_request_bytes gauge',
      `edgefleet_agent_request_bytes{kind="bodies"} ${this.bodies}`,
      `edgefleet_agent_request_bytes{kind="tensors"} ${this.tensors}`,
      '# HELP edgefleet_agent_request_bytes_limit api.maxInflightBodyBytes.',
      '# TYPE edgefleet_agent_request_bytes_limit gauge',
      `edgefleet_agent_request_bytes_limit ${this.limit}`,
      '',
    ].join('\n');
  }
}
