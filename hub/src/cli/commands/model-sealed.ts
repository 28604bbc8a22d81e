// `edgefleet model seal|rekey`: the offline commands of sealed models (docs/cli.md "Sealed models").
// seal: a content key sealed to one device's public key, for a USB install
// (`edgefleet-agent install BUNDLE --key SEALED.json`). rekey: the same model under a new content key,
// as a new version, signed in the same command when a release key is given.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  AppError, contentKeyId, newContentKey, readContentKeyFile, readDevicePublicKey, readSecretKeyFile, readBundle, rekeyBundle, sealContentKey,
  SemVer, signBundle, writeContentKeyFile, writeFileAtomic,
} from '@edgefleet/shared';
import { optBool, optString, reqString, type Command } from '../args.js';
import { bundleOutPath, checkOutFile, commitSealedBundle } from '../out-file.js';
import { shortId } from '../output.js';

export const modelSeal: Command = {
  summary: 'Seal a content key to one device\'s public key (for "edgefleet-agent install BUNDLE --key SEALED.json")',
  usage: '--key CONTENT.key --to DEVICE.pub|BASE64 [--out SEALED.json]',
  details:
    'The device\'s public key is what "edgefleet-agent key show" prints on that box (a file, or its base64\n'
    + '"public" value). Only that box can open the result; the hub does the same for enrolled devices.',
  options: {
    key: { type: 'string', required: true, value: 'FILE', description: 'the content key file ("model pack --encrypt")' },
    to: { type: 'string', required: true, value: 'KEY', description: 'the device\'s public key: a file from "edgefleet-agent key show --out", or its base64' },
    out: { type: 'string', value: 'FILE', description: 'write the sealed key to this new file (an existing one is refused; default: print it)' },
  },
  run(args, ctx) {
    const out = optString(args, 'out');
    const outPath = out === undefined ? undefined : resolve(ctx.cwd, out);
    // Checked first, and never replaced (docs/cli.md: key files and bundles are never overwritten
    // silently): an --out naming the content key file itself would destroy the key.
    if (outPath !== undefined) {
      if (existsSync(outPath)) throw new AppError('CONFLICT', `--out ${outPath} already exists; expected a new file (remove it first or choose another path)`);
      checkOutFile(outPath, '--out');
    }
    const { key } = readContentKeyFile(resolve(ctx.cwd, reqString(args, 'key')));
    const to = reqString(args, 'to');
    const device = readDevicePublicKey(/^[A-Za-z0-9+/]{43}=$/.test(to) ? to : resolve(ctx.cwd, to));
    const text = `${JSON.stringify(sealContentKey(key, device.publicKey), null, 2)}\n`;
    if (outPath === undefined) ctx.stdout.write(text);
    else {
      writeFileAtomic(outPath, text);
      ctx.stdout.write(`sealed content key ${shortId(contentKeyId(key))} to device key ${shortId(device.keyId)}: ${outPath}\n`);
    }
    return Promise.resolve(0);
  },
};

export const modelRekey: Command = {
  summary: 'The same sealed model under a new content key, as a new version',
  usage: 'BUNDLE --key OLD.key --version V --reason TEXT [--out FILE] [--key-out FILE] [--sign RELEASE.key] [--force]',
  details:
    'Decrypts every file in memory with the old key and encrypts it again with a new one; nothing in\n'
    + 'plaintext is written. The new version is what to deploy after revoking a device that held the old\n'
    + 'key: the hub seals the new key to entitled devices only. The new content key goes to --key-out\n'
    + '(mode 0600; default NAME-VERSION.key beside the bundle). With --sign the bundle is signed too.',
  positionals: [{ name: 'BUNDLE', description: 'the encrypted .efb file', required: true }],
  options: {
    key: { type: 'string', required: true, value: 'FILE', description: 'the bundle\'s current content key file' },
    version: { type: 'string', required: true, value: 'V', description: 'the new version (semver)', check: (v) => (SemVer.safeParse(v).success ? undefined : `expected a semantic version such as 1.2.3, got "${v}"`) },
    reason: { type: 'string', required: true, value: 'TEXT', description: 'provenance.reason of the new version' },
    out: { type: 'string', value: 'PATH', description: 'bundle file, or a directory for NAME-VERSION.efb (default: beside BUNDLE)' },
    'key-out': { type: 'string', value: 'FILE', description: 'where the new content key goes (default NAME-VERSION.key beside the new bundle)' },
    sign: { type: 'string', value: 'RELEASE.key', description: 'sign the new bundle with this release key' },
    force: { type: 'boolean', description: 'replace existing output files' },
  },
  async run(args, ctx) {
    const bundle = resolve(ctx.cwd, args.positionals[0] as string);
    const version = reqString(args, 'version'); // a semantic version: the parser checked it
    const old = readContentKeyFile(resolve(ctx.cwd, reqString(args, 'key')));
    const m = (await readBundle(bundle, { verifyFiles: false })).manifest;
    const out = bundleOutPath(optString(args, 'out'), ctx.cwd, dirname(bundle), () => `${m.name}-${version}.efb`, optBool(args, 'force'));
    const keyOutArg = optString(args, 'key-out');
    const keyOut = keyOutArg === undefined ? `${out.replace(/\.efb$/, '')}.key` : resolve(ctx.cwd, keyOutArg);
    if (keyOut === out) throw new AppError('CONFLICT', `--key-out ${keyOut} is the bundle's own path; expected another file for the content key`);
    // Checked before the work, and the key written before the bundle is moved into place (out-file.ts).
    checkOutFile(keyOut, keyOutArg === undefined ? 'content key file' : '--key-out', { force: optBool(args, 'force') });
    const releaseKey = optString(args, 'sign');
    const release = releaseKey === undefined ? undefined : await readSecretKeyFile(resolve(ctx.cwd, releaseKey));
    const newKey = newContentKey();
    // Signed before it is moved into place: what appears at `out` is complete.
    await commitSealedBundle(out, keyOut, async (tmp) => {
      const r = await rekeyBundle({ bundle, oldKey: old.key, newKey, version, reason: reqString(args, 'reason'), created: ctx.now(), out: tmp });
      if (release) await signBundle(tmp, release);
      return r;
    }, (r) => writeContentKeyFile(keyOut, newKey, { model: r.manifest.name, version }));
    const signed = release ? `signed with release key ${release.name} (${shortId(release.keyId)})` : 'unsigned: sign it with "edgefleet model sign"';
    ctx.stdout.write(`re-keyed ${m.name}@${m.version} as ${m.name}@${version}: ${out}; new content key ${shortId(contentKeyId(newKey))} in ${keyOut} (mode 0600); ${signed}\n`);
    return 0;
  },
};
