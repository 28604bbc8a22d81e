// Where enrollment leaves the device's credentials (no zod here: the daemon checks for the file
// at start-up before loading anything of the hub link; docs/performance.md).
import { join } from 'node:path';

export function credentialsPath(dataDir: string): string {
  return join(dataDir, 'credentials.json');
}
