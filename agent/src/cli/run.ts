// `edgefleet-agent run`: the daemon's command. It imports the daemon and nothing of the admin
// commands, so a running agent never loads the config schema or the wire schemas it does not need
// (zod alone is ~12 MB of idle RSS; docs/performance.md).
import { optString, type Command } from '@edgefleet/shared/cli';
import { runDaemon } from '../main.js';
import { dataDirOptions } from './options.js';

export const run: Command = {
  summary: 'Run the daemon: the local OIP v2 API, and the hub link when enrolled; stops on SIGTERM/SIGINT',
  details: 'Logs {"msg":"ready","api":"http://127.0.0.1:8701"} when serving. A bad config exits 1 naming the field.',
  options: {
    ...dataDirOptions,
    'api-host': { type: 'string', value: 'HOST', description: 'address of the local API (default 127.0.0.1)' },
    'api-port': { type: 'integer', value: 'PORT', description: 'port of the local API, 0 for any free one (default 8701)' },
    'log-level': { type: 'string', value: 'LEVEL', description: 'trace, debug, info, warn, error, fatal or silent (default info)' },
    broker: { type: 'string', value: 'URL', description: 'MQTT broker URL instead of the one in credentials.json' },
  },
  async run(args, ctx) {
    await runDaemon(ctx.env, {
      dataDir: optString(args, 'data-dir'), config: optString(args, 'config'), apiHost: optString(args, 'api-host'),
      apiPort: optString(args, 'api-port'), logLevel: optString(args, 'log-level'), broker: optString(args, 'broker'),
    });
    return -1; // keep running until a signal
  },
};

