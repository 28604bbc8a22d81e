#!/usr/bin/env node
// edgefleet-agent: the edge agent (committed so npm links it at install; runs the compiled program).
import { launch } from '@edgefleet/shared/launch';
await launch('edgefleet-agent', new URL('../dist/cli/main.js', import.meta.url));
