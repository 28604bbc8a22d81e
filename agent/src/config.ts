// Agent configuration: one zod schema (shared/src/wire/agent-config.ts), over what config-merge.ts
// gathered from an optional JSON file, then environment, then command-line flags (flags win), with the
// last applied remote settings laid over it (config-remote.ts). A bad
// value fails with a CONFIG_INVALID error naming the field and what was expected.
// The daemon tries config-fast.ts first and loads this module (and zod) only when
// that check does not accept the config (docs/performance.md).
import { AgentConfig, AppError, parseWire } from '@edgefleet/shared';
import { mergeConfig, type ConfigFlags } from './config-merge.js';

export type { ConfigFlags } from './config-merge.js';
// The schema lives in shared (the hub checks remote documents with it): docs/agent.md "Remote configuration".
export { BatchJobConfig, GrpcConfig, RuntimeOverrides, type AgentConfigInput } from '@edgefleet/shared';
export { AgentConfig };

/**
 * file (if --config or EDGEFLEET_AGENT_CONFIG) <- env (EDGEFLEET_AGENT_DATA, EDGEFLEET_AGENT_API_TOKEN)
 * <- flags (config-merge.ts), validated. Relative dataDir is resolved against the working directory.
 */
export function loadConfig(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}): AgentConfig {
  return validateConfig(mergeConfig(env, flags));
}

/** The merged sources checked against the schema, defaults filled in. */
export function validateConfig(merged: Record<string, unknown>): AgentConfig {
  try {
    return parseWire(AgentConfig, merged, 'config');
  } catch (err) {
    if (err instanceof AppError) throw new AppError('CONFIG_INVALID', err.message, { details: err.details });
    throw err;
  }
}
