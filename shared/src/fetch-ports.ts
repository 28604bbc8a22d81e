// Ports fetch refuses to connect to (the Fetch standard's "bad port" list, https://fetch.spec.whatwg.org/#port-blocking;
// Node's fetch and every browser hold it): a server of ours that clients reach by fetch (the hub's HTTP API: the CLI
// and the console; the agent's local API: apps) may listen on one, but nothing reaches it, and the client's error
// says only "bad port". So such a port is refused in the configuration, naming it and why (one list for both; the
// zod schema is wire/fetched-port.ts). Zod-free: the agent's fast config check (agent/src/config-fast.ts) reads it.

/** The Fetch standard's blocked ports, as Node's fetch (undici) refuses them. */
export const FETCH_BLOCKED_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111, 113,
  115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556,
  563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667,
  6668, 6669, 6679, 6697, 10080,
]);

/** Why `port` cannot serve clients that use fetch, or undefined when it can (0, any free port the system gives, is taken as given). */
export function fetchBlockedPortProblem(port: number, clients: string): string | undefined {
  if (!FETCH_BLOCKED_PORTS.has(port)) return undefined;
  return `port ${port} is one fetch refuses to connect to (the Fetch standard's blocked ports, https://fetch.spec.whatwg.org/#port-blocking), so ${clients} could not reach it; expected another port`;
}
