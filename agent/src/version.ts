// The agent's own version, compared against a manifest's runtime.minAgentVersion.
import { readFileSync } from 'node:fs';

function readVersion(): string {
  // src/version.ts and dist/version.js both sit one level below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

export const AGENT_VERSION: string = readVersion();
