// The agent's local admin commands on a data dir, without the daemon: trust set,
// install, models, activate, rollback, status (docs/agent.md). A running
// daemon picks up their switches from the database.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { AppError, canonicalJson, fileReadError, DEVICE_PUBKEY_SCHEMA, escapeText, readSealedKeyFile, verifyTrustDocument, verifyTrustRotation, writeFileAtomic } from '@edgefleet/shared';
import { checkOutFile, optBool, optString, progressOn, type CliContext, type Command, type ParsedArgs } from '@edgefleet/shared/cli';
import type { Store } from '../store/agent-store.js';
import { ModelManager } from '../install/manager.js';
import { pauseFromEnv } from '../install/pause.js';
import { createLogger } from '../log.js';
import { ModelRuntime } from '../runtime/runtime.js';
import { agentVersionFrom } from '../version.js';
import { configOf, dataDirOptions, warnOn, withStore } from './common.js';
import { loadOrCreateDeviceKey, publicPart } from '../keys/device-key.js';
import { agentStatus, formatStatus } from './status.js';
import { hubOverrideNote } from './hub-note.js';

/** A model manager on the data dir, with the runtime settings the daemon runs with (configOf: remote ones included). */
function withManager<T>(args: ParsedArgs, ctx: CliContext, fn: (m: ModelManager, s: Store, runtime: ModelRuntime) => Promise<T>, o: { existing?: boolean } = {}): Promise<T> {
  return withStore(args, ctx, async (s, config) => {
    const runtime = new ModelRuntime({ overrides: config.runtime, perModel: 1, queue: 0 });
    const env = ctx.env;
    const logger = createLogger(env.EDGEFLEET_AGENT_LOG ?? 'warn');
    const m = new ModelManager({ ...s, runtime, serving: false, agentVersion: agentVersionFrom(env), logger, pause: pauseFromEnv(env) });
    try {
      return await fn(m, s, runtime);
    } finally {
      await m.settled(); // the prune after an install or switch (install/prune.ts), before the store closes
      await runtime.stop(warnOn(ctx));
    }
  }, o);
}

const positional = (args: ParsedArgs, i: number): string => args.positionals[i] as string;

export const trustSet: Command = {
  summary: 'Provision the trust document, or rotate to a newer one that chains from it',
  positionals: [{ name: 'TRUST.json', description: 'the signed trust document (edgefleet trust init / rotate)', required: true }],
  options: dataDirOptions,
  async run(args, ctx) {
    const file = resolve(ctx.cwd, positional(args, 0));
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw fileReadError(err, 'trust document', file);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new AppError('SCHEMA_INVALID', `trust document ${file} is not JSON: ${(err as Error).message}`);
    }
    return withStore(args, ctx, (s) => {
      const now = ctx.now();
      const cur = s.trust.get();
      // The document stored already (a provisioning script run again): nothing to rotate, nothing to do.
      if (cur && canonicalJson(cur) === canonicalJson(doc)) {
        ctx.stdout.write(`trust version ${cur.signed.version} already stored (expires ${cur.signed.expires}): nothing changed\n`);
        return 0;
      }
      const body = cur ? verifyTrustRotation(cur.signed, doc, { now }) : verifyTrustDocument(doc, { now });
      s.trust.put(doc, body.version);
      if (cur) s.events.add({ kind: 'trust_rotated', message: `trust rotated from version ${cur.signed.version} to ${body.version}` });
      ctx.stdout.write(`trust version ${body.version} stored (expires ${body.expires})\n`);
      return 0;
    });
  },
};

export const install: Command = {
  summary: 'Verify a signed bundle against the trust document and install it, activating it',
  positionals: [{ name: 'BUNDLE.efb', description: 'the signed bundle (edgefleet model pack / sign)', required: true }],
  options: {
    ...dataDirOptions,
    'no-activate': { type: 'boolean', description: 'install without switching to it' },
    key: { type: 'string', value: 'SEALED.json', description: 'for an encrypted bundle: its content key sealed to this box ("edgefleet model seal")' },
  },
  async run(args, ctx) {
    const bundle = resolve(ctx.cwd, positional(args, 0));
    // A mistyped path is named before the data dir is opened (or made, with an agent.db in it).
    try {
      statSync(bundle);
    } catch (err) {
      throw fileReadError(err, 'bundle', bundle);
    }
    const keyPath = optString(args, 'key');
    const sealedKey = keyPath === undefined ? undefined : readSealedKeyFile(resolve(ctx.cwd, keyPath));
    // Seconds for a big model: bars over the bytes verified and copied, then a note for the load, on a terminal only
    // (docs/cli.md "Progress", docs/decisions/0182-progress-on-a-terminal-only.md).
    const progress = progressOn(ctx.stderr);
    const { r, backend, note } = await withManager(args, ctx, async (m, s, runtime) => {
      const r = await m.install(bundle, { activate: !optBool(args, 'no-activate'), progress, ...(sealedKey ? { sealedKey } : {}) });
      return { r, backend: runtime.backendInUse, note: r.activated ? hubOverrideNote(s, configOf(args, ctx).dataDir, r.name, r.version) : null };
    });
    ctx.stdout.write(`installed ${r.name}@${r.version}${r.activated ? ' (active)' : ` (not activated; active: ${r.active?.active ?? 'none'})`}\n`);
    if (note) ctx.stderr.write(note);
    // The backend the preflight ran on: runtime.backend, the local or the remote setting (docs/agent.md "Runtime").
    if (r.preflight) ctx.stdout.write(`preflight: ${r.preflight.samples} sample(s) passed${backend ? ` on the ${backend} backend` : ''}; latency p50 ${r.preflight.p50Ms} ms, p95 ${r.preflight.p95Ms} ms over ${r.preflight.runs} runs\n`);
    return 0;
  },
};

export const models: Command = {
  summary: 'List installed versions and which is active',
  options: { ...dataDirOptions, json: { type: 'boolean', description: 'print [{name, version, status, manifestSha256, installedAt}] as JSON' } },
  run: (args, ctx) => withStore(args, ctx, (s) => {
    const active = new Map(s.models.listActive().map((a) => [a.name, a]));
    const rows = s.models.listVersions().map((v) => {
      const a = active.get(v.name);
      const status = a?.active === v.version ? 'active' : a?.previous === v.version ? 'previous' : 'installed';
      return { name: v.name, version: v.version, status, manifestSha256: v.manifestSha256, installedAt: v.installedAt };
    });
    if (optBool(args, 'json')) ctx.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else if (rows.length === 0) ctx.stdout.write('no models installed\n');
    else for (const r of rows) ctx.stdout.write(`${escapeText(`${r.name.padEnd(24)} ${r.version.padEnd(12)} ${r.status.padEnd(9)} ${r.installedAt}`)}\n`);
    return 0;
  }, { existing: true }),
};

export const activate: Command = {
  summary: 'Switch a model to an installed version',
  positionals: [{ name: 'NAME', description: 'the model', required: true }, { name: 'VERSION', description: 'an installed version', required: true }],
  options: dataDirOptions,
  async run(args, ctx) {
    // A switch needs installed versions: a mistyped --data-dir is refused, not made empty.
    const { e, note } = await withManager(args, ctx, async (m, s) => {
      const e = await m.activate(positional(args, 0), positional(args, 1));
      return { e, note: hubOverrideNote(s, configOf(args, ctx).dataDir, e.name, e.active) };
    }, { existing: true });
    ctx.stdout.write(`${e.name}: active ${e.active}, previous ${e.previous ?? 'none'}\n`);
    if (note) ctx.stderr.write(note);
    return 0;
  },
};

export const rollback: Command = {
  summary: 'Switch a model back to its previous version',
  positionals: [{ name: 'NAME', description: 'the model', required: true }],
  options: dataDirOptions,
  async run(args, ctx) {
    const { e, note } = await withManager(args, ctx, async (m, s) => {
      const e = await m.rollback(positional(args, 0));
      return { e, note: hubOverrideNote(s, configOf(args, ctx).dataDir, e.name, e.active) };
    }, { existing: true });
    ctx.stdout.write(`${e.name}: rolled back to ${e.active}, previous ${e.previous ?? 'none'}\n`);
    if (note) ctx.stderr.write(note);
    return 0;
  },
};

export const status: Command = {
  summary: 'Models, hub link, last applied desired seq, outbox backlog, last refusal',
  options: { ...dataDirOptions, json: { type: 'boolean', description: 'print the status as JSON' } },
  run: (args, ctx) => withStore(args, ctx, (s, config) => {
    const st = agentStatus(s, config);
    ctx.stdout.write(optBool(args, 'json') ? `${JSON.stringify(st, null, 2)}\n` : formatStatus(st));
    return 0;
  }, { existing: true }),
};

export const keyShow: Command = {
  summary: "Print this box's public device key (for \"edgefleet model seal --to\"); made on first use",
  options: {
    ...dataDirOptions,
    out: { type: 'string', value: 'FILE', description: 'also write it to FILE (a device public key file)' },
    force: { type: 'boolean', description: 'replace FILE if it exists' },
  },
  run(args, ctx) {
    const config = configOf(args, ctx);
    // The key is this box's identity for sealed models: one is made in an existing data dir only, so a
    // mistyped --data-dir does not mint a key nobody's box holds (a model sealed to it opens nowhere).
    if (!existsSync(config.dataDir)) {
      throw new AppError('NOT_FOUND', `data dir ${config.dataDir} does not exist: expected this box's agent data dir (--data-dir, EDGEFLEET_AGENT_DATA or "dataDir" in --config); "trust set" or "enroll" makes it`);
    }
    const out = optString(args, 'out');
    const outPath = out === undefined ? undefined : resolve(ctx.cwd, out);
    if (outPath !== undefined) checkOutFile(outPath, '--out', { force: optBool(args, 'force') });
    const { pair, created } = loadOrCreateDeviceKey(config.dataDir);
    const doc = { schema: DEVICE_PUBKEY_SCHEMA, ...publicPart(pair) };
    const text = `${JSON.stringify(doc, null, 2)}\n`;
    if (outPath !== undefined) writeFileAtomic(outPath, text);
    if (created) ctx.stderr.write(`made a new device key in ${config.dataDir} (the private half stays there, mode 0600)\n`);
    ctx.stdout.write(text);
    return Promise.resolve(0);
  },
};
