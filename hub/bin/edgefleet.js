#!/usr/bin/env node
// edgefleet: the operator CLI (committed so npm links it at install; runs the compiled program).
import { launch } from '@edgefleet/shared/launch';
await launch('edgefleet', new URL('../dist/cli/main.js', import.meta.url));
