// The hub's own version (`edgefleet --version`, `edgefleet-hub --version`).
import { packageVersion } from '@edgefleet/shared/cli';

// src/version.ts and dist/version.js both sit one level below package.json.
export const HUB_VERSION: string = packageVersion(new URL('../package.json', import.meta.url));
