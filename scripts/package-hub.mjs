#!/usr/bin/env node
// `npm run package:hub`: builds edgefleet-hub-VERSION-linux-ARCH.tar.gz under packaging/dist from the
// compiled checkout (scripts/package-lib.mjs; docs/operations.md "Installing from a tarball").
import { packageMain } from './package-lib.mjs';

await packageMain('hub');
