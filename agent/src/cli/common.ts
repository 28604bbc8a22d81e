// What the agent's commands share: the options that find the data dir
// (--data-dir, --config; docs/agent.md) and opening its store for one command.
import type { CliContext, ParsedArgs } from '@edgefleet/shared/cli';
import { optString } from '@edgefleet/shared/cli';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, escapeText, refuseUnreadableDir } from '@edgefleet/shared/core';
import { openStore, type Store } from '../store/agent-store.js';
import { validateConfig, type AgentConfig } from '../config.js';
import { mergeConfig } from '../config-merge.js';
import { resolveStartConfig } from '../config-start.js';
import { loadWire } from '../wire.js';

export { dataDirOptions } from './options.js';

/**
 * The config the daemon would run with (config-start.ts, the same function as `run`): the file, the
 * environment and --data-dir (docs/agent.md: file < env < flags), with the stored remote settings over
 * them, so a command's test-load and preflight use the daemon's runtime settings. Stored settings that
 * are not used are named on stderr; nothing in the data dir is changed.
 */
export function configOf(args: ParsedArgs, ctx: CliContext): AgentConfig {
  const local = mergeConfig(ctx.env, { dataDir: optString(args, 'data-dir'), config: optString(args, 'config') });
  const { config, problems } = resolveStartConfig(local, validateConfig);
  for (const p of problems) ctx.stderr.write(`warning: ${escapeText(p)}\n`);
  return config;
}

/** A problem a command passes and goes on after (a stop step past its deadline), as a `warning:` line on stderr. */
export function warnOn(ctx: CliContext): (err: unknown) => void {
  return (err) => ctx.stderr.write(`warning: ${escapeText(err instanceof Error ? err.message : String(err))}\n`);
}

/**
 * Runs `fn` on the data dir's store and closes it. `existing`: a command that only reads (models, status)
 * refuses a data dir without agent.db instead of making an empty one, so a mistyped --data-dir says so
 * rather than "no models installed".
 */
export async function withStore<T>(args: ParsedArgs, ctx: CliContext, fn: (s: Store, config: AgentConfig) => Promise<T> | T, o: { existing?: boolean } = {}): Promise<T> {
  const config = configOf(args, ctx);
  // Another user's 0700 data dir (the service's, from an operator's shell) shows no agent.db: say whose it is.
  if (o.existing) refuseUnreadableDir(config.dataDir);
  if (o.existing && !existsSync(join(config.dataDir, 'agent.db'))) {
    // Enrolled (enroll writes credentials.json) but never run: the daemon makes agent.db, as its own user.
    if (existsSync(join(config.dataDir, 'credentials.json'))) {
      throw new AppError('NOT_FOUND', `${config.dataDir} holds no agent.db yet: the box is enrolled but the agent has not run on it: start it (systemctl start edgefleet-agent, or edgefleet-agent run --data-dir ${config.dataDir} as the agent's user)`);
    }
    throw new AppError('NOT_FOUND', `${config.dataDir} holds no agent.db: expected an agent's data dir (--data-dir, EDGEFLEET_AGENT_DATA or "dataDir" in --config)`);
  }
  await loadWire(); // stored trust, credentials and manifests are parsed with the wire schemas
  const s = openStore(config.dataDir);
  try {
    return await fn(s, config);
  } finally {
    s.db.close();
  }
}
