// Agent configuration: one zod schema (shared/src/wire/agent-config.ts), over what config-merge.ts
// gathered from an optional JSON file, then environment, then command-line flags (flags win), with the
// last applied remote settings laid over it (config-remote.ts). A bad value fails with a CONFIG_INVALID
// error naming the field, what was expected, and where the value came from (the file, a flag or a
// variable). The schema carries the bounds the agent can honour (config-bounds.ts).
// The daemon tries config-fast.ts first and loads this module (and zod) only when
// that check does not accept the config (docs/performance.md).
import { AgentConfig, AppError, describePath, givenText, parseWire, plainIssue, withUnknownKeyHints, type IssueLike } from '@edgefleet/shared';
import { configOrigins, mergeConfig, type ConfigFlags, type ConfigOrigins } from './config-merge.js';

export type { ConfigFlags } from './config-merge.js';
// The schema lives in shared (the hub checks remote documents with it): docs/agent.md "Remote configuration".
export { BatchJobConfig, GrpcConfig, RuntimeOverrides, type AgentConfigInput } from '@edgefleet/shared';
export { AgentConfig };

/**
 * file (if --config or EDGEFLEET_AGENT_CONFIG) <- env (EDGEFLEET_AGENT_DATA, EDGEFLEET_AGENT_API_TOKEN)
 * <- flags (config-merge.ts), validated. Relative paths of the file are read against the file, those of
 * the environment and flags against the working directory.
 */
export function loadConfig(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}): AgentConfig {
  return validateConfig(mergeConfig(env, flags));
}

/** The merged sources checked against the schema, defaults filled in. */
export function validateConfig(merged: Record<string, unknown>): AgentConfig {
  try {
    return parseWire(AgentConfig, merged, 'config');
  } catch (err) {
    if (err instanceof AppError) throw new AppError('CONFIG_INVALID', describe(err, merged, configOrigins(merged)), { details: err.details });
    throw err;
  }
}

/** " (in FILE)", " (--api-port)": where the value of `field` came from, when known. */
function where(field: string, o: ConfigOrigins | undefined): string {
  if (!o) return '';
  for (const [key, source] of Object.entries(o.set)) if (field === key || field.startsWith(`${key}.`)) return ` (${source})`;
  return o.file ? ` (in ${o.file})` : '';
}

/**
 * The schema's message (zod's own in plain words, shared/src/wire/issue-words.ts) with the value given and
 * where it came from (the issues are parseWire's details), a misspelt key with the one likely meant.
 */
function describe(err: AppError, merged: Record<string, unknown>, o: ConfigOrigins | undefined): string {
  if (!o || !Array.isArray(err.details)) return err.message;
  const issues = withUnknownKeyHints(AgentConfig, merged, err.details as IssueLike[]);
  const parts = issues.slice(0, 8).map(({ path, message }) =>
    `${describePath(path)}: ${plainIssue(message)}${givenText(merged, path, message)}${where(path.filter((p) => typeof p === 'string').join('.'), o)}`);
  return `invalid config: ${parts.join('; ')}${issues.length > 8 ? ` (and ${issues.length - 8} more)` : ''}`;
}
