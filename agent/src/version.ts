// The agent's own version, compared against a manifest's runtime.minAgentVersion.
import { packageVersion } from '@edgefleet/shared/cli';

// src/version.ts and dist/version.js both sit one level below package.json.
export const AGENT_VERSION: string = packageVersion(new URL('../package.json', import.meta.url));
