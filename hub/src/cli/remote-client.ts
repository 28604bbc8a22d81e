// How the operator CLI talks to a hub: --hub URL --token T (or EDGEFLEET_HUB /
// EDGEFLEET_TOKEN), JSON in and out, hub errors rethrown as AppError with the
// hub's code and message (exit 1). Files (model bundles) are uploaded streamed with
// their Content-Length, never read whole: a bundle may be larger than a Buffer (2 GiB).
import { createReadStream } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AppError, HUB_ANSWER_MS, hubUnreachable, hubUrlProblem, isErrorCode, notAHub, pagePath, readPages } from '@edgefleet/shared';
import { UsageError, optString, type Command, type CommandTable, type OptionSpec, type ParsedArgs } from './args.js';
import type { CliContext } from './output.js';
import { notFoundHint } from './not-found.js';

export const HUB_OPTIONS: Record<string, OptionSpec> = {
  hub: { type: 'string', value: 'URL', description: 'hub URL (default $EDGEFLEET_HUB)' },
  token: { type: 'string', value: 'T', description: 'API token (default $EDGEFLEET_TOKEN)' },
  json: { type: 'boolean', description: 'print JSON for scripts' },
};

/**
 * What is wrong with the hub and token a remote command would use (--hub/--token, else EDGEFLEET_HUB/EDGEFLEET_TOKEN
 * of `env`, the CliContext's): each missing one, a hub address of the wrong form. The command's check names them with
 * its other problems (checkingHub), and HubClient.from says the same words.
 */
export function hubProblems(args: ParsedArgs, env: CliContext['env']): string[] {
  const hub = optString(args, 'hub') ?? env['EDGEFLEET_HUB'];
  const token = optString(args, 'token') ?? env['EDGEFLEET_TOKEN'];
  const fromEnv = optString(args, 'hub') === undefined;
  // The API's own URL (".../api/v1") would be asked for /api/v1/api/v1/...: the hub's 404 names no option.
  const apiUrl = (text: string) => (/\/api\/v1\/?$/i.test(new URL(text).pathname)
    ? `${fromEnv ? 'EDGEFLEET_HUB=' : '--hub '}${text}: expected the hub's address without /api/v1, e.g. http://127.0.0.1:8700` : undefined);
  return [
    !hub ? 'missing --hub URL (or set EDGEFLEET_HUB)' : hubUrlProblem(hub, fromEnv) ?? apiUrl(hub),
    !token ? 'missing --token T (or set EDGEFLEET_TOKEN)' : undefined,
  ].filter((p): p is string => p !== undefined);
}

/**
 * `table` with each command that talks to a hub (its --hub is HUB_OPTIONS's) naming hubProblems in its check, so one
 * usage error names a missing --hub or --token with the command line's other mistakes
 * (docs/decisions/0148-usage-errors-name-every-problem.md).
 */
export function checkingHub(table: CommandTable): CommandTable {
  return Object.fromEntries(Object.entries(table).map(([name, cmd]): [string, Command] => [name, cmd.options['hub'] !== HUB_OPTIONS['hub'] ? cmd : {
    ...cmd, check: (args, env) => [...hubProblems(args, env), ...(cmd.check?.(args, env) ?? [])],
  }]));
}

export class HubClient {
  /** `tokenFrom` names where the token came from ("--token" or "EDGEFLEET_TOKEN"), for a refusal of it. */
  /** `answerMs`: how long one request waits for the hub's answer (HUB_ANSWER_MS), then IO_ERROR. */
  constructor(private readonly base: string, private readonly token: string, private readonly tokenFrom = '--token', private readonly answerMs = HUB_ANSWER_MS) {}

  static from(args: ParsedArgs, ctx: CliContext): HubClient {
    const problems = hubProblems(args, ctx.env);
    if (problems.length) throw new UsageError(problems.join('; '));
    const hub = (optString(args, 'hub') ?? ctx.env['EDGEFLEET_HUB']) as string;
    return new HubClient(hub.replace(/\/$/, ''), (optString(args, 'token') ?? ctx.env['EDGEFLEET_TOKEN']) as string, optString(args, 'token') === undefined ? 'EDGEFLEET_TOKEN' : '--token');
  }

  /** Opens the hub's live stream (Server-Sent Events), resuming after `lastEventId` if given. */
  openStream(lastEventId: string | null, signal: AbortSignal): Promise<Response> {
    return fetch(`${this.base}/api/v1/stream`, {
      headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      signal,
    });
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.answerMs),
      });
    } catch (err) {
      throw hubUnreachable(this.base, err, this.answerMs);
    }
    return this.result<T>(res.status, res.headers.get('content-type'), await res.text().catch(() => ''), `${method} /api/v1${path}`);
  }

  /**
   * POSTs the file at `file` (`size` bytes) as the raw body, streamed. The hub answers a body over its limit
   * from the declared length before reading it (docs/hub.md "REST API"); to see that answer rather than a
   * failed write, the body waits for "100 Continue" (RFC 9110 section 10.1.1), or 1 s as curl does.
   * node:http rather than fetch, which reports an early answer as a failed write. Resolves to the answer
   * and its status (a model push answers 201 for a new version, 200 for one held already).
   */
  upload<T>(path: string, file: string, size: number, onBytes?: (n: number) => void): Promise<{ value: T; status: number }> {
    const url = new URL(`${this.base}/api/v1${path}`);
    return new Promise<{ value: T; status: number }>((resolve, reject) => {
      let answered = false;
      let sending = false;
      const src = createReadStream(file, { highWaterMark: 1 << 20 });
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/octet-stream', 'content-length': String(size), expect: '100-continue' },
      });
      const send = () => {
        if (sending || answered) return;
        sending = true;
        src.on('data', (c) => onBytes?.(c.length));
        src.pipe(req);
      };
      const timer = setTimeout(send, 1000);
      const fail = (err: unknown) => {
        clearTimeout(timer);
        src.destroy();
        req.destroy();
        reject(err);
      };
      req.on('continue', send);
      req.on('response', (res: IncomingMessage) => {
        answered = true;
        clearTimeout(timer);
        src.destroy();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          try {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ value: this.result<T>(res.statusCode ?? 0, res.headers['content-type'] ?? null, text, `POST /api/v1${path}`), status: res.statusCode ?? 0 });
          } catch (err) {
            reject(err);
          }
        });
      });
      // After an answer, a write the hub no longer reads fails (EPIPE); the answer is what counts.
      req.on('error', (err) => {
        if (!answered) fail(hubUnreachable(this.base, err));
      });
      src.on('error', (err) => fail(new AppError('NOT_FOUND', `cannot read ${file}: ${err.message}`, { cause: err })));
      req.flushHeaders();
    });
  }

  /**
   * The hub's JSON answer, or its error rethrown with the hub's code and message. An answer that is not
   * the hub's (no JSON, or an error without the hub's {error: {code, message}}: another server at that
   * address, or a proxy's page) is IO_ERROR naming the URL and what came back.
   */
  private result<T>(status: number, type: string | null, text: string, what: string): T {
    let data: { error?: { code?: string; message?: string; details?: unknown } } | null;
    let json = true;
    try {
      data = JSON.parse(text) as { error?: { code?: string; message?: string; details?: unknown } } | null;
    } catch {
      data = null;
      json = text === '';
    }
    const ok = status >= 200 && status <= 299;
    if (!json || (!ok && typeof data?.error?.message !== 'string')) throw notAHub(this.base, what, status, type);
    if (!ok) {
      const code = data?.error?.code;
      // A refused token: which one (not its value) and what is expected in its place.
      const which = code === 'UNAUTHENTICATED' ? ` (the token in ${this.tokenFrom}; expected an API token of the hub at ${this.base}: `
        + 'its DATA/admin.token or one from edgefleet tokens create)' : '';
      const message = code === 'NOT_FOUND' ? notFoundHint(data?.error?.message ?? '', data?.error?.details) : data?.error?.message;
      throw new AppError(isErrorCode(code) ? code : 'INTERNAL', `hub: ${message}${which}`);
    }
    return data as T;
  }
}

/**
 * Every row of a list the hub pages by id with `?after=` (GET /devices, /config/devices: docs/hub.md
 * "REST API"), its rows under `key`, read page by page to the last.
 */
export async function everyPage<R>(hub: HubClient, path: string, key: string): Promise<R[]> {
  const all = await readPages(async (after) => {
    const p = await hub.request<Record<string, unknown> & { next: string | null }>('GET', pagePath(path, after));
    return { rows: p[key] as R[], next: p.next };
  });
  return all.rows;
}
