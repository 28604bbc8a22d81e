// The device's identity for the hub link: DATA/credentials.json (id, secret, broker URLs; mode 0600)
// and DATA/trust.json, both written by `edgefleet-agent enroll`. Their presence is what turns the
// hub link on; a present but broken file is a startup error that names the file and the field.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError, DeviceCredentials, parseWire, secretFileProblem, type TrustDocument } from '@edgefleet/shared';
import { credentialsPath } from './paths.js';

const StoredCredentials = DeviceCredentials.omit({ trust: true });

export { credentialsPath };

function readJson(path: string, what: string): unknown {
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
    return JSON.parse(text) as unknown;
  } catch (err) {
    // credentials.json holds the device's secret: a damaged file is not quoted.
    throw new AppError('CONFIG_INVALID', `cannot read ${what} ${path}: ${secretFileProblem(text, err)}; expected the JSON file written by "edgefleet-agent enroll"`);
  }
}

/**
 * The credentials without the trust document, or undefined when the box was never enrolled.
 * `trust` is DATA/trust.json when present (the one enrollment delivered), else undefined.
 */
export function readCredentials(dataDir: string): { credentials: Omit<DeviceCredentials, 'trust'>; trust: TrustDocument | undefined } | undefined {
  const path = credentialsPath(dataDir);
  if (!existsSync(path)) return undefined;
  const credentials = parseWire(StoredCredentials, readJson(path, 'credentials'), `credentials ${path}`);
  const tpath = join(dataDir, 'trust.json');
  const trust = existsSync(tpath) ? (readJson(tpath, 'trust document') as TrustDocument) : undefined;
  return { credentials, trust };
}
