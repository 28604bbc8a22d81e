// What the agent's commands share: the options that find the data dir
// (--data-dir, --config; docs/agent.md) and opening its store for one command.
import type { CliContext, ParsedArgs } from '@edgefleet/shared/cli';
import { optString } from '@edgefleet/shared/cli';
import { openStore, type Store } from '../store/agent-store.js';
import { loadConfig, type AgentConfig } from '../config.js';
import { loadWire } from '../wire.js';

export { dataDirOptions } from './options.js';

/** The config from the file, the environment and --data-dir (docs/agent.md: file < env < flags). */
export function configOf(args: ParsedArgs, ctx: CliContext): AgentConfig {
  return loadConfig(ctx.env, { dataDir: optString(args, 'data-dir'), config: optString(args, 'config') });
}

/** Runs `fn` on the data dir's store and closes it. */
export async function withStore<T>(args: ParsedArgs, ctx: CliContext, fn: (s: Store, config: AgentConfig) => Promise<T> | T): Promise<T> {
  const config = configOf(args, ctx);
  await loadWire(); // stored trust, credentials and manifests are parsed with the wire schemas
  const s = openStore(config.dataDir);
  try {
    return await fn(s, config);
  } finally {
    s.db.close();
  }
}
