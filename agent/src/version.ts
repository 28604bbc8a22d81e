// The agent's own version, compared against a manifest's runtime.minAgentVersion.
import { packageVersion } from '@edgefleet/shared/cli';

// src/version.ts and dist/version.js both sit one level below package.json.
export const AGENT_VERSION: string = packageVersion(new URL('../package.json', import.meta.url));

/**
 * The version this process says it is: AGENT_VERSION, or EDGEFLEET_AGENT_VERSION_OVERRIDE (a test's seam
 * to start the same build as an older or a newer agent, e.g. one upgraded under a model it was too old for).
 */
export function agentVersionFrom(env: NodeJS.ProcessEnv): string {
  return env.EDGEFLEET_AGENT_VERSION_OVERRIDE || AGENT_VERSION;
}
