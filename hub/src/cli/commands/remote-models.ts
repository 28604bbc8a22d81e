// Remote registry commands: push, list, show, deprecate, delete. push streams the bundle (it may be larger
// than 2 GiB) with a progress bar on a terminal.
import { resolve } from 'node:path';
import { AppError, assertThreshold, escapeLines, formatErrorKinds, manifestSigningBytes, readBundle, readContentKeyFile, type ContentKeyStored, type TrustDocument, type BundleDropped, type ModelDeleted, type ModelTotals, type ModelVersionDetail, type ModelVersionInfo } from '@edgefleet/shared';
import { optBool, optString, reqString, type Command } from '../args.js';
import { ProgressBar, formatBytes, table, waitNote } from '../output.js';
import { HUB_OPTIONS, HubClient } from '../remote-client.js';
import { parseSince } from './drift.js';
import { timeCheck } from '@edgefleet/shared/cli';
import { backendsCell, backendsWarning, describeBackends } from '../../model-backends.js';

export const modelPush: Command = {
  summary: 'Push a signed bundle to the hub (and, for an encrypted one, its content key)', usage: 'BUNDLE.efb [--content-key FILE] [--json]',
  options: { ...HUB_OPTIONS, 'content-key': { type: 'string', value: 'FILE', description: 'the content key file of an encrypted bundle ("model pack --encrypt"); the hub keeps it wrapped and seals it to entitled devices' } },
  positionals: [{ name: 'BUNDLE', description: 'the .efb file', required: true }],
  async run(args, ctx) {
    const file = resolve(ctx.cwd, args.positionals[0] as string);
    // Its structure, manifest and signatures are read here first (not the files' hashes: the hub checks
    // those), so a file that is no bundle, or one not signed yet, is refused before it is uploaded.
    const info = await readBundle(file, { verifyFiles: false });
    const { size, signatures, manifest: m } = info;
    if (signatures.signatures.length === 0) {
      throw new AppError('THRESHOLD_NOT_MET', `${file} is unsigned; expected release signatures: sign it first with "edgefleet model sign ${file} --key RELEASE.key"`);
    }
    const keyFile = optString(args, 'content-key');
    const key = keyFile === undefined ? undefined : readContentKeyFile(resolve(ctx.cwd, keyFile));
    // The key is matched to the bundle here too, so a wrong one leaves no version in the registry without its key.
    if (key && !m.encryption) throw new AppError('INVALID_INPUT', `${m.name}@${m.version} in ${file} is not encrypted: it needs no --content-key; nothing was pushed`);
    if (key && m.encryption && key.keyId !== m.encryption.keyId) {
      throw new AppError('INVALID_INPUT', `the content key ${resolve(ctx.cwd, keyFile as string)} is ${key.keyId.slice(0, 12)}…; ${m.name}@${m.version} in ${file} is encrypted with ${m.encryption.keyId.slice(0, 12)}… (a key file of another bundle?); nothing was pushed`);
    }
    const client = HubClient.from(args, ctx);
    // The signatures are checked against the hub's release keys before the upload too: a bundle signed
    // by a key the hub does not trust (rotated out, another team's) was uploaded whole and then refused.
    const trust = await client.request<TrustDocument>('GET', '/trust');
    assertThreshold(trust.signed, 'release', manifestSigningBytes(info), signatures.signatures, `bundle ${file}, checked against the hub's trust version ${trust.signed.version} before uploading (nothing was pushed)`);
    const bar = new ProgressBar(ctx.stderr, { label: 'pushing', total: size });
    // The hub answers once it has checked what it received (hashes, the model's io, loading it on both
    // backends): seconds for a big model, said on a terminal once the last byte is sent.
    let sent = 0;
    const { value: v, status } = await client.upload<ModelVersionInfo>('/models', file, size, (n) => {
      bar.tick(n);
      if ((sent += n) < size) return;
      bar.done();
      waitNote(ctx.stderr, `waiting for the hub to check ${m.name} ${m.version} (file hashes, the model's io, loading it on native and wasm)`);
    });
    bar.done();
    const k = key === undefined ? undefined
      : await client.request<ContentKeyStored>('PUT', `/models/${encodeURIComponent(v.name)}/versions/${encodeURIComponent(v.version)}/content-key`, { key: Buffer.from(key.key).toString('base64') });
    const note = k ? `; content key ${k.keyId.slice(0, 12)} ${k.outcome === 'created' ? 'stored' : 'already stored'}` : '';
    // The same bundle again is a no-op on the hub (200, audited as model.repush; docs/cli.md "model pack").
    const what = status === 200 ? `${v.name} ${v.version} is in the registry already with this bundle (pushed ${v.created} by ${v.pushedBy}); nothing changed`
      : `pushed ${v.name} ${v.version}`;
    ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify({ ...v, ...(k ? { contentKey: k } : {}) }, null, 2)}\n` : escapeLines(`${what} (${formatBytes(v.bundle.size)}, sha256 ${v.bundle.sha256.slice(0, 12)})${note}\n${v.backends ? `backends: ${describeBackends(v.backends)}\n` : ''}`));
    const warning = v.backends ? backendsWarning(v.backends, `${v.name} ${v.version}`) : undefined;
    if (warning) ctx.stderr.write(escapeLines(warning));
    // An encrypted version is deployed only once the hub holds its content key (docs/security.md "Sealed models").
    if (m.encryption && !key) {
      ctx.stderr.write(escapeLines(`note: ${v.name} ${v.version} is encrypted and no --content-key was given: deploys and rollouts of it are refused (CONTENT_KEY_MISSING) unless the hub holds its content key from an earlier push; to give it: edgefleet model push ${file} --content-key KEY_FILE (pushing the same bundle again changes nothing else)\n`));
    }
    return 0;
  },
};

export const modelLs: Command = {
  summary: 'List model versions in the registry', usage: '[--json]', options: HUB_OPTIONS,
  async run(args, ctx) {
    const r = await HubClient.from(args, ctx).request<{ versions: ModelVersionInfo[] }>('GET', '/models');
    if (optBool(args, 'json')) {
      ctx.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      return 0;
    }
    ctx.stdout.write(table(['NAME', 'VERSION', 'SIZE', 'PUSHED', 'BY', 'DEPRECATED', 'TRUSTED', 'BACKENDS'],
      r.versions.map((v) => [v.name, v.version, v.bundleDropped ? `dropped (${formatBytes(v.bundle.size)})` : formatBytes(v.bundle.size), v.created, v.pushedBy, v.deprecated ? 'yes' : '', v.trusted === undefined ? '' : v.trusted ? 'yes' : 'no', backendsCell(v.backends)])));
    // docs/cli.md "model ls": "-" is a version whose backends were not checked (pushed before the check, or encrypted).
    // docs/security.md "Key rotation and stored versions"
    if (r.versions.some((v) => v.bundleDropped)) ctx.stdout.write('SIZE dropped: its bundle was dropped, its history kept; deploys and downloads of it are refused (BUNDLE_DROPPED) until the same bundle is pushed again (docs/cli.md "model delete")\n');
    if (r.versions.some((v) => v.trusted === false)) ctx.stdout.write('TRUSTED no: no threshold of the hub\'s current release keys signed it; deploys and rollouts of it are refused (VERSION_NOT_TRUSTED): sign it with a current release key and push it as a new version (or "edgefleet model delete NAME VERSION" first, if nothing refers to it)\n');
    return 0;
  },
};

export const modelShow: Command = {
  summary: 'Show a model version (manifest, provenance, signatures, devices)', usage: 'NAME VERSION [--json]', options: HUB_OPTIONS,
  positionals: [{ name: 'NAME', description: 'model name', required: true }, { name: 'VERSION', description: 'version', required: true }],
  async run(args, ctx) {
    const [n, v] = args.positionals as [string, string];
    const d = await HubClient.from(args, ctx).request<ModelVersionDetail>('GET', `/models/${encodeURIComponent(n)}/versions/${encodeURIComponent(v)}`);
    ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify(d, null, 2)}\n`
      : escapeLines(`${d.name} ${d.version}${d.deprecated ? ` (deprecated: ${d.deprecatedReason ?? ''})` : ''}\nbundle: ${d.bundle.sha256} ${formatBytes(d.bundle.size)}${d.bundleDropped ? ` (dropped at ${d.bundleDropped.at} by ${d.bundleDropped.by}; history kept; push the same bundle again to restore it)` : ''}\nbackends: ${d.backends ? describeBackends(d.backends) : 'not checked (pushed before the hub checked backends, or encrypted)'}\nsigned by: ${d.signatures.map((s) => s.keyId.slice(0, 12)).join(', ')}\ndevices: ${d.devices.map((x) => `${x.id} (${x.status})`).join(', ') || 'none'}\nprovenance: ${JSON.stringify(d.provenance, null, 2)}\n`));
    return 0;
  },
};

export const modelDeprecate: Command = {
  summary: 'Deprecate a model version (kept, not assignable)', usage: 'NAME VERSION --reason TEXT [--json]',
  options: { ...HUB_OPTIONS, reason: { type: 'string', required: true, description: 'why (kept in the audit log)' } },
  positionals: [{ name: 'NAME', description: 'model name', required: true }, { name: 'VERSION', description: 'version', required: true }],
  async run(args, ctx) {
    const [n, v] = args.positionals as [string, string];
    const r = await HubClient.from(args, ctx).request<ModelVersionInfo>('POST', `/models/${encodeURIComponent(n)}/versions/${encodeURIComponent(v)}/deprecate`, { reason: reqString(args, 'reason') });
    ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify(r, null, 2)}\n` : escapeLines(`deprecated ${n} ${v}\n`));
    return 0;
  },
};

export const modelDelete: Command = {
  summary: 'Delete a model version nothing refers to (pushed by mistake); with --keep-history, drop only its bundle and keep its history; admin', usage: 'NAME VERSION --reason TEXT [--keep-history] [--json]',
  options: {
    ...HUB_OPTIONS, reason: { type: 'string', required: true, value: 'TEXT', description: 'why (kept in the audit log)' },
    'keep-history': { type: 'boolean', description: 'drop the bundle file only; the version, its windows, rollups and audit entries stay (refused while a device runs, is told to run or may roll back to it)' },
  },
  positionals: [{ name: 'NAME', description: 'model name', required: true }, { name: 'VERSION', description: 'version', required: true }],
  async run(args, ctx) {
    const [n, v] = args.positionals as [string, string];
    const q = new URLSearchParams({ reason: reqString(args, 'reason') });
    const path = `/models/${encodeURIComponent(n)}/versions/${encodeURIComponent(v)}`;
    const client = HubClient.from(args, ctx);
    if (optBool(args, 'keep-history')) {
      const d = await client.request<BundleDropped>('DELETE', `${path}/bundle?${q}`);
      ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify(d, null, 2)}\n`
        : `dropped the bundle of ${n} ${v} (${d.freedBytes ? `${formatBytes(d.freedBytes)} freed` : 'its file stays: another version is the same file'}); its history is kept; push the same bundle again to restore it\n`);
      return 0;
    }
    const r = await client.request<ModelDeleted>('DELETE', `${path}?${q}`);
    if (optBool(args, 'json')) ctx.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else ctx.stdout.write(`deleted ${n} ${v}${r.bundleDeleted ? ' and its bundle' : ' (its bundle stays: another version is the same file)'}\n`);
    return 0;
  },
};

export const modelTotals: Command = {
  summary: 'Merged totals of every summary window the hub stored for a model (predictions, errors by kind, bins per feature and output)',
  usage: 'NAME [--version V] [--since AGO|DATE|ISO] [--json]',
  options: { ...HUB_OPTIONS, version: { type: 'string', value: 'V', description: 'one version (needed when several have windows)' }, since: { type: 'string', value: 'AGO|DATE|ISO', description: 'windows starting at or after this time: a duration ago (7d), a date (2026-01-01) or an ISO time', check: timeCheck('--since') } },
  positionals: [{ name: 'NAME', description: 'model name', required: true }],
  async run(args, ctx) {
    const q = new URLSearchParams();
    const version = optString(args, 'version');
    if (version) q.set('version', version);
    const since = optString(args, 'since');
    if (since !== undefined) q.set('since', parseSince(since, ctx.now()));
    const name = args.positionals[0] as string;
    const t = await HubClient.from(args, ctx).request<ModelTotals>('GET', `/models/${encodeURIComponent(name)}/totals${q.size ? `?${q}` : ''}`);
    if (optBool(args, 'json')) {
      ctx.stdout.write(`${JSON.stringify(t, null, 2)}\n`);
      return 0;
    }
    // By kind: invalid input and shed load are reported apart from the model's own failures.
    const errors = formatErrorKinds(t.errors);
    const head = `${t.model}${t.version ? ` ${t.version}` : ''}: ${t.count} predictions in ${t.windows} windows from ${t.devices} devices; errors: ${errors}\n`
      + (t.inexact ? `not exact, past 2^53 - 1 (ask for fewer windows: --version, --since): ${t.inexact.join(', ')}\n` : '');
    const rows = Object.entries(t.features).map(([f, v]) => {
      const x = v as { kind: string; counts: number[] | Record<string, number> | null; under?: number; over?: number; other?: number };
      if (x.kind === 'categorical') return [f, `${Object.entries((x.counts ?? {}) as Record<string, number>).map(([c, n]) => `${c}:${n}`).join(' ')} other:${x.other ?? 0}`];
      return [f, `${x.under ?? 0} |${((x.counts ?? []) as number[]).join(' ')}| ${x.over ?? 0}`];
    });
    ctx.stdout.write(escapeLines(head) + (rows.length ? table(['FEATURE', 'BIN COUNTS (under |bins| over)'], rows) : ''));
    return 0;
  },
};
