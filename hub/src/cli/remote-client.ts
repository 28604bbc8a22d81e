// How the operator CLI talks to a hub: --hub URL --token T (or EDGEFLEET_HUB /
// EDGEFLEET_TOKEN), JSON in and out, hub errors rethrown as AppError with the
// hub's code and message (exit 1).
import { AppError, isErrorCode } from '@edgefleet/shared';
import { UsageError, optString, type OptionSpec, type ParsedArgs } from './args.js';
import type { CliContext } from './output.js';

export const HUB_OPTIONS: Record<string, OptionSpec> = {
  hub: { type: 'string', value: 'URL', description: 'hub URL (default $EDGEFLEET_HUB)' },
  token: { type: 'string', value: 'T', description: 'API token (default $EDGEFLEET_TOKEN)' },
  json: { type: 'boolean', description: 'print JSON for scripts' },
};

export class HubClient {
  constructor(private readonly base: string, private readonly token: string) {}

  static from(args: ParsedArgs, ctx: CliContext): HubClient {
    const hub = optString(args, 'hub') ?? ctx.env['EDGEFLEET_HUB'];
    const token = optString(args, 'token') ?? ctx.env['EDGEFLEET_TOKEN'];
    if (!hub) throw new UsageError('missing --hub URL (or set EDGEFLEET_HUB)');
    if (!token) throw new UsageError('missing --token T (or set EDGEFLEET_TOKEN)');
    return new HubClient(hub.replace(/\/$/, ''), token);
  }

  /** Opens the hub's live stream (Server-Sent Events), resuming after `lastEventId` if given. */
  openStream(lastEventId: string | null, signal: AbortSignal): Promise<Response> {
    return fetch(`${this.base}/api/v1/stream`, {
      headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      signal,
    });
  }

  async request<T>(method: string, path: string, body?: unknown, raw?: Uint8Array): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(raw ? { 'content-type': 'application/octet-stream' } : body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(raw ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new AppError('IO_ERROR', `cannot reach the hub at ${this.base}: ${(err as Error).message}`, { cause: err });
    }
    const data = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    if (!res.ok) {
      const code = data?.error?.code;
      throw new AppError(isErrorCode(code) ? code : 'INTERNAL', `hub: ${data?.error?.message ?? `HTTP ${res.status}`}`);
    }
    return data as T;
  }
}
