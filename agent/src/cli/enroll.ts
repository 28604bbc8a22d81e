// `edgefleet-agent enroll --hub URL --token T --data-dir D [--id ID] [--force [--drop-backlog]]`: trades an
// enrollment token for this device's identity. First compares this box's clock
// with the hub's (GET /api/v1/health) and stops, spending nothing, when they
// disagree by more than the skew allowance (docs/operations.md "Clocks that are
// wrong"). Then POSTs /api/v1/enroll with the box's facts and stores
// DATA/credentials.json (mode 0600: it holds the secret) and DATA/trust.json,
// after checking the answer against the shared schemas.
import { cpus, arch, platform, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import {
  AppError, DeviceCredentials, describeClockOffset, ensurePrivateDir, HUB_ANSWER_MS, hubUnreachable, hubUrlProblem, isErrorCode, notAHub, parseWire, verifyTrustDocument, writeFileAtomic, type DeviceFacts, type DevicePublicKey,
} from '@edgefleet/shared';
import { loadOrCreateDeviceKey, publicPart } from '../keys/device-key.js';
import { optBool, optString, UsageError, type CliContext, type Command, type ParsedArgs } from '@edgefleet/shared/cli';
import { readCredentials } from '../sync/credentials.js';
import { backlogNote, backlogRefusal, readBacklog } from './enroll-backlog.js';
import { AGENT_VERSION } from '../version.js';
import { SKEW_MS } from '../sync/desired.js';

export function deviceFacts(): DeviceFacts {
  return { os: platform(), arch: arch(), cpus: Math.max(1, cpus().length), memoryMb: Math.round(totalmem() / 1048576), agentVersion: AGENT_VERSION };
}

const DROP_NEEDS_FORCE = '--drop-backlog goes with --force (it says what a new identity may drop)';

/** --hub, --token and --data-dir, each else the environment's (EDGEFLEET_HUB, EDGEFLEET_ENROLL_TOKEN, EDGEFLEET_AGENT_DATA). */
function enrollInputs(args: ParsedArgs, env: CliContext['env']) {
  return {
    hub: optString(args, 'hub') ?? env['EDGEFLEET_HUB'],
    token: optString(args, 'token') ?? env['EDGEFLEET_ENROLL_TOKEN'],
    dataDir: optString(args, 'data-dir') ?? env['EDGEFLEET_AGENT_DATA'],
  };
}

/** What enroll misses of its inputs (from options or `env`, the CliContext's), and a hub address of the wrong form. */
function enrollProblems(args: ParsedArgs, env: CliContext['env']): string[] {
  const { hub, token, dataDir } = enrollInputs(args, env);
  const missing = [!hub && '--hub URL', !token && '--token T', !dataDir && '--data-dir DIR'].filter(Boolean);
  return [missing.length ? `missing ${missing.join(', ')}` : undefined, hub ? hubUrlProblem(hub, optString(args, 'hub') === undefined) : undefined]
    .filter((p): p is string => p !== undefined);
}

export const enrollCommand: Command = {
  summary: 'Join a hub: trade an enrollment token for credentials.json and trust.json in the data dir',
  options: {
    hub: { type: 'string', value: 'URL', description: 'the hub\'s HTTP address (default: $EDGEFLEET_HUB)' },
    token: { type: 'string', value: 'T', description: 'an enrollment token from "edgefleet enroll-token create" (default: $EDGEFLEET_ENROLL_TOKEN)' },
    'data-dir': { type: 'string', value: 'DIR', description: 'the agent\'s data directory (default: $EDGEFLEET_AGENT_DATA)' },
    id: { type: 'string', value: 'DEVICE_ID', description: 'the device id to ask for (default: the hub picks one)' },
    force: { type: 'boolean', description: 'replace the identity of a box that is already enrolled (it becomes a new device)' },
    'drop-backlog': { type: 'boolean', description: 'with --force: drop the summary windows and events queued as the old id and not yet sent (else refused while there are any)' },
  },
  // Named with the parser's other problems, what the environment may give too (docs/decisions/0148-usage-errors-name-every-problem.md).
  check: (args, env) => [optBool(args, 'drop-backlog') && !optBool(args, 'force') ? DROP_NEEDS_FORCE : undefined, ...enrollProblems(args, env)],
  async run(args, ctx) {
    const problems = enrollProblems(args, ctx.env);
    if (problems.length) throw new UsageError(problems.join('; '));
    const { hub, token, dataDir: dataDirArg } = enrollInputs(args, ctx.env);
    const dataDir = resolve(ctx.cwd, dataDirArg as string);
    const drop = optBool(args, 'drop-backlog');
    if (drop && !optBool(args, 'force')) throw new UsageError(DROP_NEEDS_FORCE);
    // Enrolled already: a new identity would leave the old one in the fleet as a device that never
    // reports again (pending in every deployment to all). Re-running the same id's enrollment is fine.
    const existing = readCredentials(dataDir)?.credentials.deviceId;
    const id = optString(args, 'id');
    if (existing !== undefined && existing !== id && !optBool(args, 'force')) {
      throw new AppError('CONFLICT', `this box is already enrolled as ${existing} (${join(dataDir, 'credentials.json')}): expected --id ${existing} to re-run that enrollment, `
        + `or --force to replace it with a new identity (then revoke ${existing} on the hub: edgefleet devices revoke ${existing} --reason …)`);
    }
    // A new identity drops what the old one queued and has not sent: said, and refused unless asked, before any token use.
    const backlog = existing !== undefined && existing !== id ? readBacklog(dataDir, existing) : undefined;
    const refusal = backlog && backlogRefusal(backlog, id, drop, dataDir);
    if (refusal) throw refusal;
    await checkClock(hub as string, ctx.now(), fetch);
    ensurePrivateDir(dataDir); // credentials.json is the device's identity: the dir is 0700
    // The box's X25519 key for sealed models: made here, its public half sent with the request.
    const { pair } = loadOrCreateDeviceKey(dataDir);
    const creds = await enroll({ hub: hub as string, token: token as string, id, facts: deviceFacts(), deviceKey: publicPart(pair) }, fetch);
    verifyTrustDocument(creds.trust, { now: ctx.now() });
    writeFileAtomic(join(dataDir, 'credentials.json'), `${JSON.stringify({ schema: creds.schema, deviceId: creds.deviceId, secret: creds.secret, brokers: creds.brokers }, null, 2)}\n`, 0o600);
    writeFileAtomic(join(dataDir, 'trust.json'), `${JSON.stringify(creds.trust, null, 2)}\n`);
    ctx.stdout.write(`enrolled as ${creds.deviceId}; brokers ${creds.brokers.join(', ')}; credentials in ${join(dataDir, 'credentials.json')}\n`);
    const note = backlog && backlogNote(backlog, creds.deviceId);
    if (note) ctx.stderr.write(note);
    return 0;
  },
};

/**
 * GET /api/v1/health and compare this box's clock (`now`) with the hub's (its `time`, else the Date
 * header). CLOCK_SKEW past SKEW_MS, before any token is spent: a box far off would refuse its trust
 * and every desired document. Returns the offset in ms (box − hub).
 */
export async function checkClock(hub: string, now: Date, doFetch: typeof fetch, skewMs = SKEW_MS, answerMs = HUB_ANSWER_MS): Promise<number> {
  let url: URL;
  try {
    url = new URL('/api/v1/health', hub);
  } catch {
    throw new AppError('INVALID_INPUT', `--hub ${hub}: expected a URL such as http://hub.example:8700`);
  }
  let res: Response;
  try {
    res = await doFetch(url, { signal: AbortSignal.timeout(answerMs) });
  } catch (err) {
    throw hubUnreachable(url.origin, err, answerMs);
  }
  const body = (await res.json().catch(() => null)) as { time?: unknown } | null;
  const hubMs = typeof body?.time === 'string' ? Date.parse(body.time) : Date.parse(res.headers.get('date') ?? '');
  if (!Number.isFinite(hubMs)) return 0; // a hub that tells no time: nothing to compare
  const offset = now.getTime() - hubMs;
  if (Math.abs(offset) > skewMs) {
    throw new AppError('CLOCK_SKEW', `this box's clock is ${describeClockOffset(offset)} the hub's (box ${now.toISOString()}, hub ${new Date(hubMs).toISOString()}; allowed ${skewMs / 60_000} min): set the clock (NTP) and enroll again; no enrollment token use was spent`);
  }
  return offset;
}

/** POST /api/v1/enroll; a hub error is rethrown with its code and message; no answer in `answerMs` (a test's, else HUB_ANSWER_MS) is IO_ERROR. */
export async function enroll(o: { hub: string; token: string; id?: string | undefined; facts: DeviceFacts; deviceKey?: DevicePublicKey }, doFetch: typeof fetch, answerMs = HUB_ANSWER_MS): Promise<DeviceCredentials> {
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
      body: JSON.stringify({ token: o.token, facts: o.facts, ...(o.id ? { deviceId: o.id } : {}), ...(o.deviceKey ? { deviceKey: o.deviceKey } : {}) }),
      signal: AbortSignal.timeout(answerMs),
    });
  } catch (err) {
    throw hubUnreachable(url.origin, err, answerMs);
  }
  const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  if (!res.ok) {
    const code = body?.error?.code;
    if (typeof body?.error?.message !== 'string') throw notAHub(url.origin, 'POST /api/v1/enroll', res.status, res.headers.get('content-type'));
    throw new AppError(isErrorCode(code) ? code : 'INTERNAL', `hub refused enrollment (HTTP ${res.status}): ${body.error.message}`);
  }
  return parseWire(DeviceCredentials, body, 'enrollment response');
}
