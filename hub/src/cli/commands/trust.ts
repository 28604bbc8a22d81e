// `edgefleet trust init` and `trust rotate`: build a trust document
// (edgefleet.trust/v1) from public key files, sign it with root secret keys, and
// check the result the way an agent will (threshold, expiry, rotation chain)
// before anything is written.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  AppError, createTrustBody, fileReadError, readPublicKeyFile, readSecretKeyFile, signEnvelope, trustPublicKey,
  verifyTrustDocument, verifyTrustRotation, writeFileAtomic,
  type KeyPair, type PubKey, type Role, type TrustBody,
} from '@edgefleet/shared';
import {
  UsageError, optInt, optString, optStrings, parseExpiry, parseRoleNumber, problemOf, reqString, usageProblem, type Command, type OptionSpec, type ParsedArgs,
} from '../args.js';
import type { CliContext } from '../output.js';
import { wellFormed } from './parse.js';

const ROLES: readonly Role[] = ['root', 'release', 'hub'];

async function readRoleKeys(ctx: CliContext, role: Role, paths: string[]): Promise<PubKey[]> {
  const keys: PubKey[] = [];
  for (const p of paths) {
    const k = await readPublicKeyFile(resolve(ctx.cwd, p));
    if (k.role !== role) throw new AppError('INVALID_INPUT', `--${role} ${p}: this is a ${k.role} key; expected a ${role} public key`);
    if (keys.some((x) => x.keyId === k.keyId)) throw new AppError('INVALID_INPUT', `--${role} ${p}: key ${k.keyId.slice(0, 12)} is given twice`);
    keys.push(k);
  }
  return keys;
}

async function readSigners(ctx: CliContext, paths: string[]): Promise<KeyPair[]> {
  const keys: KeyPair[] = [];
  for (const p of paths) {
    const k = await readSecretKeyFile(resolve(ctx.cwd, p));
    if (k.role !== 'root') throw new AppError('INVALID_INPUT', `--sign ${p}: this is a ${k.role} key; trust documents are signed by root keys`);
    if (!keys.some((x) => x.keyId === k.keyId)) keys.push(k);
  }
  return keys;
}

const parseThreshold = (text: string) => parseRoleNumber(text, ROLES, '--threshold');

/** The --threshold values; a role given twice is refused rather than the last one kept. */
function thresholds(list: readonly string[]): Partial<Record<Role, number>> {
  const t: Partial<Record<Role, number>> = {};
  for (const text of list) {
    const [role, n] = parseThreshold(text);
    if (t[role] !== undefined) throw new UsageError(`--threshold ${role} is given twice (${role}=${t[role]} and ${text}): expected each role once`);
    t[role] = n;
  }
  return t;
}

/** The check of both commands: a role's threshold given twice, among the values their own check passed. */
const thresholdsTwice = (args: ParsedArgs) => [usageProblem(() => thresholds(wellFormed(optStrings(args, 'threshold'), problemOf(parseThreshold))))];

function describe(body: TrustBody): string {
  const roles = ROLES.map((r) => `${r} ${body.roles[r].threshold} of ${body.roles[r].keyIds.length}`).join(', ');
  return `version ${body.version}, expires ${body.expires}, thresholds: ${roles}`;
}

/** Signers outside the document's root role would be ignored by verifiers; say so rather than write a doc that looks signed. */
function assertSignersAreRoot(signers: KeyPair[], rootIds: Set<string>, where: string): void {
  for (const k of signers) {
    if (!rootIds.has(k.keyId)) throw new AppError('UNTRUSTED_KEY', `--sign ${k.name}: key ${k.keyId.slice(0, 12)} is not a root key of ${where}`);
  }
}

/** The --out file's directory must exist: it is written through a temp file beside it, whose name an error would show instead. */
function checkOutDir(out: string): void {
  const dir = dirname(out);
  if (!existsSync(dir)) throw new AppError('NOT_FOUND', `--out ${out}: directory ${dir} does not exist; expected a file in an existing directory`);
  if (!statSync(dir).isDirectory()) throw new AppError('CONFLICT', `--out ${out}: ${dir} is a file; expected a file in an existing directory`);
}

const roleKeyOption = (role: Role, verb: string): OptionSpec => ({
  type: 'string', multiple: true, value: 'PUB', description: `${role} public key file (NAME.pub) ${verb}`,
});
const thresholdOption: OptionSpec = { type: 'string', multiple: true, value: 'ROLE=N', description: 'signatures needed for a role, e.g. release=2', check: problemOf(parseThreshold) };
// The form only: whether a date is past is judged against the command's clock in run.
const expiresOption: OptionSpec = {
  type: 'string', value: 'WHEN', description: 'expiry: a duration (365d, 12h, 8w) or an ISO date-time; default 365d', check: problemOf((t) => parseExpiry(t, new Date(0))),
};
const signOption: OptionSpec = { type: 'string', multiple: true, required: true, value: 'ROOTKEY', description: 'root secret key file (NAME.key) to sign with' };
const outOption: OptionSpec = { type: 'string', required: true, value: 'FILE', description: 'where to write the signed trust document' };

export const trustInit: Command = {
  summary: 'Create and sign the first trust document (trust.json)',
  usage: '--root PUB... --release PUB... --hub PUB... [--threshold ROLE=N]... [--expires 365d|ISO] [--version N] --sign ROOTKEY... --out FILE',
  details:
    'Each role lists the public keys it trusts; a threshold (default 1) of them must sign. The document is\n'
    + 'signed with the --sign root keys and verified (threshold of its own root keys, expiry) before it is\n'
    + 'written. An existing --out file is not overwritten: use "trust rotate" to replace a trust document.',
  options: {
    root: { ...roleKeyOption('root', 'that signs trust documents'), required: true },
    release: { ...roleKeyOption('release', 'that signs model bundles'), required: true },
    hub: { ...roleKeyOption('hub', 'that signs desired-state documents'), required: true },
    threshold: thresholdOption,
    expires: expiresOption,
    version: { type: 'integer', positive: true, value: 'N', description: 'document version; default 1' },
    sign: signOption,
    out: outOption,
  },
  check: thresholdsTwice,
  async run(args, ctx) {
    const out = resolve(ctx.cwd, reqString(args, 'out'));
    const expires = parseExpiry(optString(args, 'expires') ?? '365d', ctx.now());
    const version = optInt(args, 'version') ?? 1;
    const th = thresholds(optStrings(args, 'threshold'));
    if (existsSync(out)) throw new AppError('CONFLICT', `${out} already exists; expected a new file (use "edgefleet trust rotate --from ${out}" to replace it)`);
    checkOutDir(out);
    const body = createTrustBody({
      version, expires,
      root: await readRoleKeys(ctx, 'root', optStrings(args, 'root')),
      release: await readRoleKeys(ctx, 'release', optStrings(args, 'release')),
      hub: await readRoleKeys(ctx, 'hub', optStrings(args, 'hub')),
      thresholds: th,
    });
    const signers = await readSigners(ctx, optStrings(args, 'sign'));
    assertSignersAreRoot(signers, new Set(body.roles.root.keyIds), 'the new trust document');
    const doc = signEnvelope(body, signers);
    verifyTrustDocument(doc, { now: ctx.now() });
    writeFileAtomic(out, `${JSON.stringify(doc, null, 2)}\n`);
    ctx.stdout.write(`wrote ${out}: ${describe(body)}; signed by ${signers.length} root key(s)\n`);
    return 0;
  },
};

/** Reads a trust document file as JSON (not yet verified). */
export function readTrustFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw fileReadError(err, 'trust document', path);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new AppError('SCHEMA_INVALID', `trust document ${path} is not JSON (${(err as Error).message})`);
  }
}

/** The current document's keys for `role`, as PubKeys. */
function currentKeys(body: TrustBody, role: Role): PubKey[] {
  return body.roles[role].keyIds.map((keyId) => {
    const publicKey = trustPublicKey(body, keyId);
    if (!publicKey) throw new AppError('SCHEMA_INVALID', `current trust document: key ${keyId} of role ${role} has no valid public key`);
    return { keyId, publicKey };
  });
}

export const trustRotate: Command = {
  summary: 'Make the next trust document (version + 1), signed by the old and the new root keys',
  usage: '--from FILE [--root PUB...] [--release PUB...] [--hub PUB...] [--threshold ROLE=N]... [--expires 365d|ISO] --sign OLDROOTKEY... --sign NEWROOTKEY... --out FILE',
  details:
    'Roles not given keep their keys and thresholds. Agents accept the new document only when it is signed by\n'
    + 'a threshold of the CURRENT root keys and a threshold of its own root keys, with a higher version; this\n'
    + 'command checks exactly that (and the expiry) before writing. --out may be the --from file.',
  options: {
    from: { type: 'string', required: true, value: 'FILE', description: 'the current trust document' },
    root: roleKeyOption('root', 'replacing the root keys'),
    release: roleKeyOption('release', 'replacing the release keys'),
    hub: roleKeyOption('hub', 'replacing the hub keys'),
    threshold: thresholdOption,
    expires: expiresOption,
    sign: { ...signOption, description: 'root secret key file to sign with: old root keys and new ones' },
    out: outOption,
  },
  check: thresholdsTwice,
  async run(args, ctx) {
    const from = resolve(ctx.cwd, reqString(args, 'from'));
    const out = resolve(ctx.cwd, reqString(args, 'out'));
    const expires = parseExpiry(optString(args, 'expires') ?? '365d', ctx.now());
    const th = thresholds(optStrings(args, 'threshold'));
    checkOutDir(out);
    const raw = readTrustFile(from);
    const expiresOf = (raw as { signed?: { expires?: unknown } } | null)?.signed?.expires;
    // Rotating away from an expired document is how it is renewed, so its signatures are checked as of just before it expired.
    const at = typeof expiresOf === 'string' && Date.parse(expiresOf) <= ctx.now().getTime() ? new Date(Date.parse(expiresOf) - 1) : ctx.now();
    const current = verifyTrustDocument(raw, { now: at });
    const pick = async (role: Role) => {
      const paths = optStrings(args, role);
      return paths.length ? readRoleKeys(ctx, role, paths) : currentKeys(current, role);
    };
    const body = createTrustBody({
      version: current.version + 1, expires,
      root: await pick('root'), release: await pick('release'), hub: await pick('hub'),
      thresholds: { root: current.roles.root.threshold, release: current.roles.release.threshold, hub: current.roles.hub.threshold, ...th },
    });
    const signers = await readSigners(ctx, optStrings(args, 'sign'));
    assertSignersAreRoot(signers, new Set([...current.roles.root.keyIds, ...body.roles.root.keyIds]), `version ${current.version} or ${body.version}`);
    const doc = signEnvelope(body, signers);
    verifyTrustRotation(current, doc, { now: ctx.now() });
    verifyTrustDocument(doc, { now: ctx.now() });
    writeFileAtomic(out, `${JSON.stringify(doc, null, 2)}\n`);
    ctx.stdout.write(`wrote ${out}: ${describe(body)}; chains from version ${current.version} (${from})\n`);
    return 0;
  },
};
