// `edgefleet ARGS` run in process (docs/cli.md) against a hub's REST app served on 127.0.0.1:0: what
// a CLI test needs without starting a hub process.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { main as cliMain } from '../cli/main.js';
import { StringWriter } from '../cli/output.js';
import type { createApp } from '../api/app.js';

export interface InProcessCli {
  run(...args: string[]): Promise<{ code: number; out: string; err: string }>;
  close(): void;
}

/** Serves `app` on 127.0.0.1:0; `run` calls the CLI with `token` against it, in `cwd`. */
export async function cliOver(app: ReturnType<typeof createApp>, token: string, cwd: string): Promise<InProcessCli> {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    async run(...args: string[]) {
      const out = new StringWriter();
      const err = new StringWriter();
      const code = await cliMain([...args, '--hub', url, '--token', token], { stdout: out, stderr: err, env: {}, cwd, now: () => new Date() });
      return { code, out: out.text, err: err.text };
    },
    close: () => server.close(),
  };
}
