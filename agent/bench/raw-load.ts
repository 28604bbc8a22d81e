// A lean HTTP/1.1 load generator for the agent benches (not a bench itself): N keep-alive
// connections on plain `node:net` sockets, each with one request in flight, the requests encoded
// once up front and the replies read by status line and Content-Length only (as wrk or autocannon
// do), instead of lib.ts's `node:http` client. On this 2-core box the generator shares the cores
// with the server under test: lib.ts's client spends ~175 µs of CPU a request, as much as the
// server, and so caps how fast any server can look (docs/performance.md, "Dynamic batching").
// The server side is untouched: the agent and the floor parse real HTTP with node:http.
// The phases and the protocol with the parent are lib.ts's (GENERATOR_PHASES, runGenerator).
import { GENERATOR_PHASES, runGenerator, type LoadOptions, type LoadResult, type ServerCpu } from './lib.js';

const CHILD = `
const net = require('node:net');
const CRLF2 = Buffer.from('\\r\\n\\r\\n');
function setup(o, url) {
  const u = new URL(url);
  const reqs = o.bodies.map((b) => Buffer.from('POST ' + o.path + ' HTTP/1.1\\r\\nHost: ' + u.host +
    '\\r\\nContent-Type: application/json\\r\\nContent-Length: ' + Buffer.byteLength(b) + '\\r\\n\\r\\n' + b));
  // One connection: sends a request, reads exactly one reply (head, then Content-Length bytes), repeats.
  function loop(k, st) {
    return new Promise((done) => {
      let i = k, start = 0, buf = null, need = -1, status = 0;
      const sock = net.connect(Number(u.port), u.hostname);
      sock.setNoDelay(true);
      const send = () => {
        if (st.stop) { sock.destroy(); return done(); }
        start = performance.now();
        sock.write(reqs[i++ % reqs.length]);
      };
      sock.on('connect', send);
      sock.on('data', (c) => {
        buf = buf ? Buffer.concat([buf, c]) : c;
        if (need < 0) {
          const end = buf.indexOf(CRLF2);
          if (end < 0) return;
          const head = buf.toString('latin1', 0, end);
          status = Number(head.slice(9, 12));
          const m = /\\r\\ncontent-length: *(\\d+)/i.exec(head);
          if (!m) { st.fail('no content-length'); sock.destroy(); return done(); }
          need = end + 4 + Number(m[1]);
        }
        if (buf.length < need) return;
        const ms = performance.now() - start;
        if (status !== 200) st.fail(status);
        else st.ok(ms);
        buf = buf.length > need ? buf.subarray(need) : null;
        need = -1;
        send();
      });
      sock.on('error', (e) => { st.fail('error ' + e.message); done(); });
      sock.on('close', () => { if (!st.stop) st.fail('closed'); done(); });
    });
  }
  return { loop };
}
${GENERATOR_PHASES}`;

/** As lib.ts's runPhases, with the lean generator: one result per phase (URL); serverCpu as runGenerator's. */
export function runRawPhases(o: Omit<LoadOptions, 'url'> & { phases: string[] }, serverCpu?: ServerCpu): Promise<LoadResult[]> {
  return runGenerator(CHILD, o, o.phases.length, undefined, serverCpu);
}
