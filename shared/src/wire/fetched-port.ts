// A port clients reach by fetch, as the configurations' schemas check it (the hub's httpPort, the agent's api.port):
// one the Fetch standard blocks is refused, saying why (../fetch-ports.ts).
import { z } from 'zod';
import { fetchBlockedPortProblem } from '../fetch-ports.js';

/** A TCP port to listen on, 0 for any free one, that `clients` reach by fetch: a blocked one is refused, saying why. */
export const FetchedPort = (clients: string) => z.number().int().min(0).max(65535, 'expected a port from 0 to 65535 (0: any free one)')
  .superRefine((port, ctx) => {
    const problem = fetchBlockedPortProblem(port, clients);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
