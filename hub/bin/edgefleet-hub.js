#!/usr/bin/env node
// edgefleet-hub: the hub server (committed so npm links it at install; runs the compiled program).
import { launch } from '@edgefleet/shared/launch';
await launch('edgefleet-hub', new URL('../dist/server/main.js', import.meta.url));
