// What `edgefleet-hub run` refuses before it creates anything in the data dir or waits for anything (the
// PostgreSQL server, another hub's lease): everything the command line and the files it names can tell. A
// killed restore's data dir, a --trust or --hub-key that cannot be read, the embedded broker's TLS files
// (tls-files.ts), and the trust document itself: verified, and checked to list the hub key (--hub-key's, or
// DATA/hub.key's); with neither key there, the key the hub would make cannot be listed, so that is refused
// too. The config's shape (ports, the --database URL) was checked by loadConfig before. So a refused start
// leaves a fresh data dir absent or empty and an existing one as it was, and a hub restarted while the old
// one still holds the lease hears about its trust document at once, not after the lease wait
// (docs/decisions/0162-hub-start-refuses-before-it-creates.md).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readSecretKeyFile, refuseSecretOpenToOthers } from '@edgefleet/shared';
import type { HubConfig } from '../config.js';
import { checkPasswordFile } from '../mqtt/mosquitto-config.js';
import { checkTrust, HUB_KEY_FILE, refuseTrustWithoutKey, refuseUnfinishedRestore, refuseUnreadableFiles, trustSource } from './first-start.js';
import { embeddedTlsFiles, readTlsFiles } from './tls-files.js';

export async function refuseBeforeCreating(cfg: HubConfig, now: Date): Promise<void> {
  // A killed restore's dir is refused (docs/operations.md).
  refuseUnfinishedRestore(cfg.dataDir);
  refuseUnreadableFiles(cfg);
  // Enrollments append to Mosquitto's password file: one this user cannot write is refused now (docs/mqtt.md).
  if (cfg.externalBroker?.passwordFile) checkPasswordFile(cfg.externalBroker.passwordFile);
  const tls = embeddedTlsFiles(cfg);
  if (tls) readTlsFiles(tls.cert, tls.key);
  // No trust document at all: the first start makes DATA/hub.key and hub.pub for one, then refuses (loadTrust).
  if (trustSource(cfg) === undefined) return;
  refuseTrustWithoutKey(cfg);
  const keyFile = cfg.hubKey ?? join(cfg.dataDir, HUB_KEY_FILE);
  if (!existsSync(keyFile)) {
    checkTrust(cfg, null, now);
    return;
  }
  refuseSecretOpenToOthers(keyFile, "the hub's signing key");
  checkTrust(cfg, await readSecretKeyFile(keyFile), now);
}
