#!/usr/bin/env node
// edgefleet-agent: the daemon (`run`) and the local admin commands on a data dir.
// Exit codes: 0 ok, 1 failure (message names what was wrong), 2 usage error.
import { readFileSync } from 'node:fs';
import { AppError, toAppError } from '@edgefleet/shared/core';
import { openStore, type Store } from '../agent.js';
import type { AgentConfig } from '../config.js';
import { ModelManager, pauseFromEnv } from '../install/manager.js';
import { createLogger } from '../log.js';
import { runDaemon } from '../main.js';
import { ModelRuntime } from '../runtime/runtime.js';
import { AGENT_VERSION } from '../version.js';
import { parseArgs, str, type Parsed } from './args.js';
import { loadWire } from '../wire.js';
import { isEntryPoint, runMain } from '@edgefleet/shared/launch';

const USAGE = `edgefleet-agent ${AGENT_VERSION}

Usage: edgefleet-agent <command> [--data-dir DIR] [--config agent.json] ...

Commands:
  run [--api-host 127.0.0.1] [--api-port 8701] [--log-level info] [--broker URL]
                                       run the daemon (local OIP v2 API; the hub link when enrolled)
  enroll --hub URL --token T [--id DEVICE_ID]   join a hub: stores credentials.json and trust.json
  status [--json]                      models, hub link, last applied desired seq, outbox backlog, last refusal
  trust set TRUST.json                 provision (or rotate) the trust document
  install BUNDLE.efb [--no-activate]   verify and install a signed bundle, activating it
  models [--json]                      list installed versions and which is active
  activate NAME VERSION                switch NAME to an installed VERSION
  rollback NAME                        switch NAME back to its previous version
  summaries [--model m] [--since T] [--json]   show prediction summaries
  batch --model NAME [--version V] --input FILE.jsonl|FILE.csv --output OUT.jsonl   run a batch job

--data-dir defaults to "dataDir" in the config file or $EDGEFLEET_AGENT_DATA.
Exit codes: 0 ok, 1 failure, 2 usage error.
`;

type Out = (s: string) => void;

const COMMON = ['data-dir', 'config'];

/** The config schema (zod) is loaded by the admin commands only; `run` checks with config-fast.ts first. */
async function configOf(p: Parsed, env: NodeJS.ProcessEnv): Promise<AgentConfig> {
  const { loadConfig } = await import('../config.js');
  return loadConfig(env, { dataDir: str(p, 'data-dir'), config: str(p, 'config') });
}

async function withStore<T>(p: Parsed, env: NodeJS.ProcessEnv, fn: (s: Store, config: AgentConfig) => Promise<T> | T): Promise<T> {
  const config = await configOf(p, env);
  const s = openStore(config.dataDir);
  try {
    return await fn(s, config);
  } finally {
    s.db.close();
  }
}

async function withManager<T>(p: Parsed, env: NodeJS.ProcessEnv, fn: (m: ModelManager, s: Store) => Promise<T>): Promise<T> {
  return withStore(p, env, async (s, config) => {
    const runtime = new ModelRuntime({ overrides: config.runtime, perModel: 1, queue: 0 });
    const logger = createLogger(env.EDGEFLEET_AGENT_LOG ?? 'warn');
    const m = new ModelManager({ ...s, runtime, serving: false, agentVersion: env.EDGEFLEET_AGENT_VERSION_OVERRIDE ?? AGENT_VERSION, logger, pause: pauseFromEnv(env) });
    try {
      return await fn(m, s);
    } finally {
      await runtime.stop();
    }
  });
}

function need(p: Parsed, n: number, usage: string): string[] {
  if (p.positionals.length !== n) throw new AppError('BAD_REQUEST', `usage: edgefleet-agent ${usage}`);
  return p.positionals;
}

async function trustSet(argv: string[], env: NodeJS.ProcessEnv, out: Out): Promise<void> {
  const p = parseArgs(argv, COMMON);
  const [sub, file] = p.positionals;
  if (sub !== 'set' || !file || p.positionals.length !== 2) throw new AppError('BAD_REQUEST', 'usage: edgefleet-agent trust set TRUST.json');
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AppError('SCHEMA_INVALID', `cannot read trust document ${file}: ${(err as Error).message}`);
  }
  const { verifyTrustDocument, verifyTrustRotation } = await loadWire();
  await withStore(p, env, (s) => {
    const now = new Date();
    const cur = s.trust.get();
    const body = cur ? verifyTrustRotation(cur.signed, doc, { now }) : verifyTrustDocument(doc, { now });
    s.trust.put(doc, body.version);
    if (cur) s.events.add({ kind: 'trust_rotated', message: `trust rotated from version ${cur.signed.version} to ${body.version}` });
    out(`trust version ${body.version} stored (expires ${body.expires})\n`);
  });
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const out: Out = (s) => void process.stdout.write(s);
  const [cmd, ...rest] = argv;
  try {
    // The admin commands parse wire documents (trust, manifests, credentials); `run` loads the
    // schemas only when it needs them, for a smaller daemon (docs/performance.md).
    if (cmd !== 'run') await loadWire();
    switch (cmd) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        out(USAGE);
        return cmd === undefined ? 2 : 0;
      case 'run': {
        const p = parseArgs(rest, [...COMMON, 'api-host', 'api-port', 'log-level', 'broker']);
        need(p, 0, 'run --data-dir DIR [--config agent.json] [--api-host H] [--api-port P] [--broker URL]');
        await runDaemon(env, {
          dataDir: str(p, 'data-dir'), config: str(p, 'config'), apiHost: str(p, 'api-host'), apiPort: str(p, 'api-port'),
          logLevel: str(p, 'log-level'), broker: str(p, 'broker'),
        });
        return -1; // keep running until a signal
      }
      case 'trust':
        await trustSet(rest, env, out);
        return 0;
      case 'install': {
        const p = parseArgs(rest, COMMON, ['no-activate']);
        const [bundle] = need(p, 1, 'install BUNDLE.efb [--no-activate]');
        const r = await withManager(p, env, (m) => m.install(bundle!, { activate: !p.flags.has('no-activate') }));
        out(`installed ${r.name}@${r.version}${r.activated ? ' (active)' : ` (not activated; active: ${r.active?.active ?? 'none'})`}\n`);
        return 0;
      }
      case 'models': {
        const p = parseArgs(rest, COMMON, ['json']);
        need(p, 0, 'models [--json]');
        return await withStore(p, env, (s) => {
          const active = new Map(s.models.listActive().map((a) => [a.name, a]));
          const rows = s.models.listVersions().map((v) => {
            const a = active.get(v.name);
            const status = a?.active === v.version ? 'active' : a?.previous === v.version ? 'previous' : 'installed';
            return { name: v.name, version: v.version, status, manifestSha256: v.manifestSha256, installedAt: v.installedAt };
          });
          if (p.flags.has('json')) out(`${JSON.stringify(rows, null, 2)}\n`);
          else if (rows.length === 0) out('no models installed\n');
          else for (const r of rows) out(`${r.name.padEnd(24)} ${r.version.padEnd(12)} ${r.status.padEnd(9)} ${r.installedAt}\n`);
          return 0;
        });
      }
      case 'activate': {
        const p = parseArgs(rest, COMMON);
        const [name, version] = need(p, 2, 'activate NAME VERSION');
        const e = await withManager(p, env, (m) => m.activate(name!, version!));
        out(`${e.name}: active ${e.active}, previous ${e.previous ?? 'none'}\n`);
        return 0;
      }
      case 'rollback': {
        const p = parseArgs(rest, COMMON);
        const [name] = need(p, 1, 'rollback NAME');
        const e = await withManager(p, env, (m) => m.rollback(name!));
        out(`${e.name}: rolled back to ${e.active}, previous ${e.previous ?? 'none'}\n`);
        return 0;
      }
      case 'summaries':
      case 'batch':
        return await delegate(cmd, rest, env);
      case 'enroll': {
        const { enrollCommand } = await import('./enroll.js');
        return await enrollCommand(rest, { stdout: process.stdout, stderr: process.stderr, env });
      }
      case 'status': {
        const p = parseArgs(rest, COMMON, ['json']);
        need(p, 0, 'status [--json]');
        const { agentStatus, formatStatus } = await import('./status.js');
        return await withStore(p, env, (s, config) => {
          const st = agentStatus(s, config);
          out(p.flags.has('json') ? `${JSON.stringify(st, null, 2)}\n` : formatStatus(st));
          return 0;
        });
      }
      default:
        throw new AppError('BAD_REQUEST', `unknown command "${cmd}": expected run, enroll, status, trust, install, models, activate, rollback, summaries or batch (see --help)`);
    }
  } catch (err) {
    const e = toAppError(err);
    process.stderr.write(`edgefleet-agent ${cmd ?? ''}: ${e.code}: ${e.message}\n`);
    return e.code === 'BAD_REQUEST' ? 2 : 1;
  }
}

/**
 * summaries and batch parse their own flags (../summaries/cli.ts, ../batch/cli.ts); they get the data
 * dir resolved here like every other command (--data-dir, the config file's dataDir, or the env).
 */
async function delegate(cmd: 'summaries' | 'batch', argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const rest: string[] = [];
  let dataDir: string | undefined;
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--(data-dir|config)(?:=(.*))?$/.exec(a);
    if (!m) {
      rest.push(a);
      continue;
    }
    const v = m[2] ?? argv[++i];
    if (v === undefined) throw new AppError('BAD_REQUEST', `option --${m[1]} needs a value`);
    if (m[1] === 'data-dir') dataDir = v;
    else config = v;
  }
  const { loadConfig } = await import('../config.js');
  const dir = loadConfig(env, { dataDir, config }).dataDir;
  const ctx = { dataDir: dir, stdout: process.stdout, stderr: process.stderr };
  return cmd === 'summaries' ? (await import('../summaries/cli.js')).summariesCommand(rest, ctx) : (await import('../batch/cli.js')).batchCommand(rest, ctx);
}

if (isEntryPoint(import.meta.url)) void runMain('edgefleet-agent', main);
