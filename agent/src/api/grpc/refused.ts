// gRPC connections over api.maxConnections (../connection-cap.ts, docs/agent.md "Limits",
// docs/decisions/0104-connections-over-the-cap.md). node closed them on accept, and a
// grpc-js client saw `14 UNAVAILABLE: No connection established. Last error: Failed to connect`, nothing saying
// why. Such a connection is now taken by a grpc-js server of its own that answers every call, from its
// metadata (its message is never read), UNAVAILABLE with OVERLOADED in the `error-code` trailer and the
// cap's message, as REST answers 503: retryable. It is sent a GOAWAY REFUSED_CONNECTION_MS after it came,
// and closed at most as long again after that, so the client connects again for its next call.
// An HTTP/2 request that is not a gRPC call on one gets the JSON 415 of a connection under the cap (./server.ts
// hooks ./not-grpc.ts on this server too).
import { Metadata, ResponderBuilder, Server, ServerCredentials, ServerInterceptingCall, ServerListenerBuilder, type ConnectionInjector, type ServerInterceptor, type ServiceDefinition } from '@grpc/grpc-js';
import type { AppError } from '@edgefleet/shared/core';
import { grpcError } from './status.js';

/** How long a refused connection is kept, answering its calls, before its GOAWAY (and as long again after). */
export const REFUSED_CONNECTION_MS = 1000;

/** Streams at once on a refused connection (each answered at once). */
const REFUSED_STREAMS = 8;

export interface RefusingServer {
  injector: ConnectionInjector;
  server: Server;
}

/** A grpc-js server for `def`'s methods that answers each call with `refusal()`, never running one. */
export function refusingServer(def: ServiceDefinition, refusal: () => AppError): RefusingServer {
  const refuse: ServerInterceptor = (_method, call) => {
    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata(() => {
        const e = grpcError(refusal());
        call.sendStatus({ code: e.code!, details: e.details!, metadata: e.metadata ?? new Metadata() });
      })
      .build();
    return new ServerInterceptingCall(call, new ResponderBuilder().withStart((next) => next(listener)).build());
  };
  const server = new Server({
    interceptors: [refuse],
    'grpc.max_connection_age_ms': REFUSED_CONNECTION_MS,
    'grpc.max_connection_age_grace_ms': REFUSED_CONNECTION_MS,
    'grpc.max_connection_idle_ms': REFUSED_CONNECTION_MS,
    'grpc.max_concurrent_streams': REFUSED_STREAMS,
    // Nothing is read: a message that comes anyway is refused from its length prefix.
    'grpc.max_receive_message_length': 0,
  });
  // Never called: every call is answered by the interceptor above.
  server.addService(def, Object.fromEntries(Object.keys(def).map((name) => [name, () => undefined])));
  return { server, injector: server.createConnectionInjector(ServerCredentials.createInsecure()) };
}
