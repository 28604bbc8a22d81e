// `edgefleet keys generate`: a fresh Ed25519 key pair for one role, written as
// DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub; prints the keyId on stdout.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppError, generateKeyPair, Role, writeKeyFiles } from '@edgefleet/shared';
import { optString, problemOf, reqString, UsageError, type Command } from '../args.js';
import { choiceProblem, parseChoice } from './parse.js';

const ROLES = Role.options;

function checkName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) throw new UsageError(`--name: expected letters, digits, ".", "_" or "-" (at most 64, no path), got "${name}"`);
  return name;
}

export const keysGenerate: Command = {
  summary: 'Generate an Ed25519 key pair for a role (root, release or hub)',
  usage: '--role root|release|hub --out DIR [--name NAME]',
  details:
    'Writes DIR/NAME.key (the secret key, mode 0600: keep it off the hub) and DIR/NAME.pub (the public key,\n'
    + 'which goes into trust.json). NAME defaults to ROLE-<first 8 hex of the keyId>. Existing files are never\n'
    + 'overwritten. Prints the keyId (hex sha256 of the public key) on stdout.',
  options: {
    role: { type: 'string', required: true, value: 'ROLE', description: 'root, release or hub', check: choiceProblem(ROLES) },
    out: { type: 'string', required: true, value: 'DIR', description: 'directory for the key files (created if missing)' },
    name: { type: 'string', value: 'NAME', description: 'file name without extension (letters, digits, . _ -)', check: problemOf(checkName) },
  },
  async run(args, ctx) {
    const role = parseChoice(reqString(args, 'role'), ROLES, '--role');
    const name = optString(args, 'name');
    if (name !== undefined) checkName(name);
    const dir = resolve(ctx.cwd, reqString(args, 'out'));
    if (existsSync(dir) && !statSync(dir).isDirectory()) throw new AppError('CONFLICT', `--out ${dir} is a file; expected a directory for the key files (created if missing)`);
    const pair = generateKeyPair(role as Role, name);
    for (const ext of ['key', 'pub']) {
      const path = resolve(dir, `${pair.name}.${ext}`);
      if (existsSync(path)) throw new AppError('CONFLICT', `${path} already exists; choose another --name or --out (keys are never overwritten)`);
    }
    mkdirSync(dir, { recursive: true });
    const { keyPath, pubPath } = writeKeyFiles(dir, pair.name, pair);
    ctx.stdout.write(`${pair.keyId}\n`);
    ctx.stderr.write(`wrote ${keyPath} (secret, mode 0600) and ${pubPath} (public); role ${role}, keyId ${pair.keyId}\n`);
    return 0;
  },
};
