// `edgefleet-agent enroll --hub URL --token T --data-dir D [--id ID]`: trades an
// enrollment token for this device's identity. POSTs /api/v1/enroll with the
// box's facts and stores DATA/credentials.json (mode 0600: it holds the secret)
// and DATA/trust.json, after checking the answer against the shared schemas.
import { cpus, arch, platform, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  AppError, DeviceCredentials, ensurePrivateDir, escapeText, isErrorCode, parseWire, toAppError, verifyTrustDocument, writeFileAtomic, type DeviceFacts,
} from '@edgefleet/shared';
import { AGENT_VERSION } from '../version.js';

export interface EnrollContext {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  env: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  fetch?: typeof fetch;
  now?: () => Date;
}

const USAGE = 'usage: edgefleet-agent enroll --hub URL --token T --data-dir DIR [--id DEVICE_ID]\n';

export function deviceFacts(): DeviceFacts {
  return { os: platform(), arch: arch(), cpus: Math.max(1, cpus().length), memoryMb: Math.round(totalmem() / 1048576), agentVersion: AGENT_VERSION };
}

/** Runs the command; resolves to the exit code (0 ok, 1 refused or failed, 2 bad command line). */
export async function enrollCommand(argv: readonly string[], ctx: EnrollContext): Promise<number> {
  let v: Record<string, string | boolean | undefined>;
  try {
    v = parseArgs({
      args: [...argv], strict: true, allowPositionals: false,
      options: { hub: { type: 'string' }, token: { type: 'string' }, 'data-dir': { type: 'string' }, id: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (err) {
    ctx.stderr.write(`error: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (v['help']) {
    ctx.stdout.write(USAGE);
    return 0;
  }
  const hub = (v['hub'] as string | undefined) ?? ctx.env['EDGEFLEET_HUB'];
  const token = (v['token'] as string | undefined) ?? ctx.env['EDGEFLEET_ENROLL_TOKEN'];
  const dataDirArg = (v['data-dir'] as string | undefined) ?? ctx.env['EDGEFLEET_AGENT_DATA'];
  const missing = [!hub && '--hub URL', !token && '--token T', !dataDirArg && '--data-dir DIR'].filter(Boolean);
  if (missing.length) {
    ctx.stderr.write(`error: missing ${missing.join(', ')}\n${USAGE}`);
    return 2;
  }
  try {
    const dataDir = resolve(ctx.cwd ?? process.cwd(), dataDirArg as string);
    const creds = await enroll({ hub: hub as string, token: token as string, id: v['id'] as string | undefined, facts: deviceFacts() }, ctx.fetch ?? fetch);
    verifyTrustDocument(creds.trust, { now: ctx.now?.() ?? new Date() });
    ensurePrivateDir(dataDir); // credentials.json is the device's identity: the dir is 0700
    writeFileAtomic(join(dataDir, 'credentials.json'), `${JSON.stringify({ schema: creds.schema, deviceId: creds.deviceId, secret: creds.secret, brokers: creds.brokers }, null, 2)}\n`, 0o600);
    writeFileAtomic(join(dataDir, 'trust.json'), `${JSON.stringify(creds.trust, null, 2)}\n`);
    ctx.stdout.write(`enrolled as ${creds.deviceId}; brokers ${creds.brokers.join(', ')}; credentials in ${join(dataDir, 'credentials.json')}\n`);
    return 0;
  } catch (err) {
    const e = toAppError(err);
    ctx.stderr.write(`error [${e.code}]: ${escapeText(e.message)}\n`);
    return 1;
  }
}

/** POST /api/v1/enroll; a hub error is rethrown with its code and message. */
export async function enroll(o: { hub: string; token: string; id?: string | undefined; facts: DeviceFacts }, doFetch: typeof fetch): Promise<DeviceCredentials> {
  let url: URL;
  try {
    url = new URL('/api/v1/enroll', o.hub);
  } catch {
    throw new AppError('INVALID_INPUT', `--hub ${o.hub}: expected a URL such as http://hub.example:8700`);
  }
  let res: Response;
  try {
    res = await doFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: o.token, facts: o.facts, ...(o.id ? { deviceId: o.id } : {}) }),
    });
  } catch (err) {
    throw new AppError('IO_ERROR', `cannot reach the hub at ${url.origin}: ${(err as Error).message}`, { cause: err });
  }
  const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (!res.ok) {
    const code = body?.error?.code;
    throw new AppError(isErrorCode(code) ? code : 'INTERNAL', `hub refused enrollment (HTTP ${res.status}): ${body?.error?.message ?? 'no message'}`);
  }
  return parseWire(DeviceCredentials, body, 'enrollment response');
}
