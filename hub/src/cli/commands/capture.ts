// `edgefleet capture keygen|start|ls|show|stop|fetch|purge` (docs/hub.md "Data capture"): the operators'
// capture key pair (made here, the private half never goes to the hub), capture requests to a cohort,
// their per-device progress, and fetching the sealed chunks, opened locally into JSON lines.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  AppError, escapeLines, newCaptureKeyFile, openRows, parseCaptureKeyFile, writeFileAtomic,
  type Capture, type CaptureChunkPage, type CaptureDevice,
} from '@edgefleet/shared';
import { UsageError, optBool, optInt, optString, optStrings, reqString, type Command } from '../args.js';
import { ProgressBar, endProgressLine, table, type Writer } from '../output.js';
import { HUB_OPTIONS, HubClient } from '../remote-client.js';
import { TARGET_OPTIONS, describeTarget, targetFrom, targetProblems } from './remote-deploy.js';
import { numberProblem } from './parse.js';
import { HISTORY_OPTIONS, HISTORY_USAGE, readHistory } from './history-page.js';

type CaptureSummary = Omit<Capture, 'devices'>;

const ID: Command['positionals'] = [{ name: 'ID', description: 'capture id (edgefleet capture ls)', required: true }];

function idArg(raw: string): number {
  if (!/^[1-9]\d{0,9}$/.test(raw)) throw new UsageError(`capture id "${raw}": expected a positive integer (see edgefleet capture ls)`);
  return Number(raw);
}

const print = (out: Writer, json: boolean, value: unknown, text: () => string) =>
  out.write(json ? `${JSON.stringify(value, null, 2)}\n` : escapeLines(text()));

/** The hub's state (docs/hub.md "Data capture"), saying why a capture ended before its `until`. */
function state(c: CaptureSummary, now: Date): string {
  return c.state === 'ended' && Date.parse(c.until) > now.getTime() ? 'ended on every device' : c.state;
}

export function renderCapture(c: Capture, now: Date): string {
  const st = state(c, now);
  return `capture ${c.id}: ${c.model}${c.version ? ` ${c.version}` : ''} on ${describeTarget(c.target)} (${st})\n`
    + `rate ${c.rate}, up to ${c.maxRows} rows per device, until ${c.until}; features ${c.features?.join(',') ?? 'all'}; sealed to key ${c.keyId.slice(0, 12)}\n`
    + `by ${c.createdBy} at ${c.created}; reason: ${c.reason}\n`
    + (c.stopped ? `stopped by ${c.stopped.by} at ${c.stopped.at}: ${c.stopped.reason}\n` : '')
    + (c.purged ? `purged by ${c.purged.by} at ${c.purged.at} (${c.purged.bytes} bytes of chunks deleted): ${c.purged.reason}\n` : '')
    + `${c.rows} rows in ${c.bytes} bytes of ciphertext from ${c.devices.length} device(s)\n\n`
    + table(['DEVICE', 'STATUS', 'ROWS', 'CHUNKS', 'BYTES', 'UPDATED', 'REASON'],
      c.devices.map((d: CaptureDevice) => [d.deviceId, d.status, String(d.rows), String(d.chunks), String(d.bytes), d.updated, d.reason ?? '']));
}

export const captureKeygen: Command = {
  summary: 'Make the operators\' capture key pair (the hub gets only the public key)',
  usage: '--out FILE',
  details: 'Writes FILE (mode 0600; keep it off the hub) and prints the public key for the hub config\n'
    + '("capture": {"publicKey": "..."}). Existing files are never overwritten.',
  options: { out: { type: 'string', required: true, value: 'FILE', description: 'where to write the key file' } },
  async run(args, ctx) {
    const path = resolve(ctx.cwd, reqString(args, 'out'));
    if (existsSync(path)) throw new AppError('CONFLICT', `${path} already exists (keys are never overwritten)`);
    const k = newCaptureKeyFile();
    writeFileAtomic(path, `${JSON.stringify(k, null, 2)}\n`, 0o600);
    ctx.stdout.write(`${k.public}\n`);
    ctx.stderr.write(`wrote ${path} (secret, mode 0600); key id ${k.keyId}; put the public key above in the hub config as capture.publicKey\n`);
    return 0;
  },
};

export const captureStart: Command = {
  summary: 'Ask devices (ids, tags or all) to capture a share of a model\'s requests',
  usage: 'MODEL (--devices ID,ID... | --tag k=v | --all) --rate R --max-rows N --duration-sec S --reason TEXT [--version V] [--features a,b] [--json]',
  details: 'Each device samples about R of its requests to MODEL (every version, or --version), keeps at most N rows,\n'
    + 'for S seconds, and uploads them sealed to the operators\' capture key. Follow it with `edgefleet capture show ID`.',
  positionals: [{ name: 'MODEL', description: 'model name', required: true }],
  options: {
    ...HUB_OPTIONS,
    ...TARGET_OPTIONS,
    version: { type: 'string', value: 'V', description: 'only requests served by this version' },
    rate: { type: 'string', required: true, value: 'R', description: 'share of requests to capture, in (0, 1]', check: numberProblem },
    'max-rows': { type: 'string', required: true, value: 'N', description: 'rows per device at most', check: numberProblem },
    'duration-sec': { type: 'string', required: true, value: 'S', description: 'how long the capture runs, in seconds', check: numberProblem },
    features: { type: 'string', value: 'a,b', description: 'the features (or input tensors) to keep; default all' },
    reason: { type: 'string', required: true, value: 'TEXT', description: 'why (kept in the audit log)' },
  },
  // With the parser's checks of each value, one usage error names every mistake (docs/cli.md "Exit codes and errors").
  check: targetProblems,
  async run(args, ctx) {
    const [model] = args.positionals as [string];
    // The parser checked each is a number (numberProblem); the hub checks their ranges.
    const num = (name: string) => Number(reqString(args, name));
    const features = optString(args, 'features')?.split(',').map((s) => s.trim()).filter(Boolean);
    const version = optString(args, 'version');
    const body = {
      model, ...(version ? { version } : {}), target: targetFrom(optString(args, 'devices'), optStrings(args, 'tag'), optBool(args, 'all')),
      rate: num('rate'), maxRows: num('max-rows'), durationSec: num('duration-sec'), ...(features ? { features } : {}), reason: reqString(args, 'reason'),
    };
    const c = await HubClient.from(args, ctx).request<Capture>('POST', '/captures', body);
    print(ctx.stdout, optBool(args, 'json'), c, () => `capture ${c.id}: ${c.model}${c.version ? ` ${c.version}` : ''} on ${c.devices.length} device(s) (${describeTarget(c.target)}) until ${c.until}\n`
      + `follow it: edgefleet capture show ${c.id}; fetch it: edgefleet capture fetch ${c.id} --key KEYFILE > rows.jsonl\n`);
    return 0;
  },
};

export const captureLs: Command = {
  summary: 'List captures, newest first, with their state and rows received', usage: HISTORY_USAGE, options: { ...HUB_OPTIONS, ...HISTORY_OPTIONS },
  async run(args, ctx) {
    const r = await readHistory<CaptureSummary>(args, ctx, '/captures', 'captures', 'capture ls');
    const now = ctx.now();
    print(ctx.stdout, optBool(args, 'json'), r.json, () => table(['ID', 'MODEL', 'TARGET', 'STATE', 'RATE', 'ROWS', 'BYTES', 'UNTIL', 'BY', 'REASON'],
      r.rows.map((c) => [String(c.id), c.model, describeTarget(c.target), state(c, now), String(c.rate), String(c.rows), String(c.bytes), c.until, c.createdBy, c.reason])));
    return 0;
  },
};

export const captureShow: Command = {
  summary: 'One capture with every device\'s progress', usage: 'ID [--json]', positionals: ID, options: HUB_OPTIONS,
  async run(args, ctx) {
    const c = await HubClient.from(args, ctx).request<Capture>('GET', `/captures/${idArg(args.positionals[0] as string)}`);
    print(ctx.stdout, optBool(args, 'json'), c, () => renderCapture(c, ctx.now()));
    return 0;
  },
};

/** `capture stop|purge ID --reason TEXT`: one request on the capture, with the reason, answered by the capture. */
function reasonedCommand(summary: string, send: (hub: HubClient, id: number, reason: string) => Promise<Capture>, line: (c: Capture) => string): Command {
  return {
    summary, usage: 'ID --reason TEXT [--json]', positionals: ID,
    options: { ...HUB_OPTIONS, reason: { type: 'string', required: true, value: 'TEXT', description: 'why (kept in the audit log)' } },
    async run(args, ctx) {
      const id = idArg(args.positionals[0] as string);
      const c = await send(HubClient.from(args, ctx), id, reqString(args, 'reason'));
      print(ctx.stdout, optBool(args, 'json'), c, () => line(c));
      return 0;
    },
  };
}

export const captureStop = reasonedCommand('Stop a capture (rows captured before still upload)',
  (hub, id, reason) => hub.request<Capture>('DELETE', `/captures/${id}?reason=${encodeURIComponent(reason)}`),
  (c) => `capture ${c.id} stopped; ${c.rows} rows received so far\n`);

export const capturePurge = reasonedCommand('Delete an ended capture\'s sealed chunks on the hub (after fetching them); frees its devices\' capture storage',
  (hub, id, reason) => hub.request<Capture>('POST', `/captures/${id}/purge`, { reason }),
  (c) => `capture ${c.id} purged: ${c.purged?.bytes ?? 0} bytes of sealed chunks deleted (${c.rows} rows were received)\n`);

export const captureFetch: Command = {
  summary: 'Fetch a capture\'s sealed chunks and write the decrypted rows as JSON lines on stdout',
  usage: 'ID --key FILE [--max-chunks N]',
  details: 'Opens each chunk with the capture key file (edgefleet capture keygen) on this machine: the hub holds ciphertext only.\n'
    + 'One line per captured request: {device, time, model, version, inputs, outputs}.',
  positionals: ID,
  options: {
    hub: HUB_OPTIONS.hub!, token: HUB_OPTIONS.token!,
    key: { type: 'string', required: true, value: 'FILE', description: 'the capture key file (private key)' },
    'max-chunks': { type: 'integer', positive: true, value: 'N', description: 'stop after N chunks (default all)' },
  },
  async run(args, ctx) {
    const id = idArg(args.positionals[0] as string);
    const keyPath = resolve(ctx.cwd, reqString(args, 'key'));
    let text: string;
    try {
      text = readFileSync(keyPath, 'utf8');
    } catch (err) {
      throw new AppError('IO_ERROR', `cannot read the key file ${keyPath}: ${(err as Error).message}`);
    }
    const key = parseCaptureKeyFile(text, keyPath);
    const max = optInt(args, 'max-chunks') ?? Number.MAX_SAFE_INTEGER;
    const client = HubClient.from(args, ctx);
    // Another key file opens none of it: said before any chunk is fetched.
    const { keyId, rows: received } = await client.request<CaptureSummary>('GET', `/captures/${id}`);
    if (keyId !== key.keyId) {
      throw new AppError('DECRYPT_FAILED', `capture ${id} is sealed to capture key ${keyId.slice(0, 12)}…, ${keyPath} is key ${key.keyId.slice(0, 12)}…: `
        + 'expected the key file whose public key was the hub\'s capture.publicKey when the capture started');
    }
    let after: number | null = 0;
    let chunks = 0;
    let rows = 0;
    const failed: string[] = [];
    // A count of the rows written of those the hub received, on stderr on a terminal (stdout holds the rows). A
    // counter, not a bar: rows of a chunk that does not open are never written.
    const bar = new ProgressBar(ctx.stderr, { label: `fetching capture ${id}:`, total: 0, format: (n) => `${n} of ${received} rows` });
    while (after !== null && chunks + failed.length < max) {
      const page: CaptureChunkPage = await client.request<CaptureChunkPage>('GET', `/captures/${id}/chunks${after ? `?after=${after}` : ''}`);
      for (const c of page.chunks) {
        if (chunks + failed.length >= max) break;
        // A chunk that does not open (altered, or a device sealing garbage) is named and skipped: the
        // other devices' rows are still written.
        let plain: Buffer;
        try {
          plain = openRows(c.sealed, key, `chunk ${c.seq} of ${c.deviceId}`);
        } catch (err) {
          failed.push((err as Error).message);
          endProgressLine(ctx.stderr); // the count goes on below
          ctx.stderr.write(`capture ${id}: skipped ${(err as Error).message}\n`);
          continue;
        }
        const lines = plain.toString('utf8');
        plain.fill(0);
        ctx.stdout.write(lines);
        rows += lines ? lines.split('\n').length - 1 : 0;
        bar.update(rows);
        chunks++;
      }
      after = page.next;
    }
    bar.done();
    ctx.stderr.write(`capture ${id}: ${rows} rows from ${chunks} chunk(s)${failed.length ? `; ${failed.length} chunk(s) did not open (named above)` : ''}\n`);
    return failed.length ? 1 : 0;
  },
};
