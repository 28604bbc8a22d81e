// The hub link's state as the running daemon sees it, for `edgefleet-agent status` (a separate
// process reading agent.db; docs/agent.md "CLI"): up or down, since when, the broker actually
// used, and a heartbeat `at` so a value left by a dead daemon shows as stale. Also logs a drop and
// a recovery once each ("hub link down" / "hub link up"), whatever the MQTT client reports meanwhile.
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';

export interface LinkRecord {
  state: 'up' | 'down';
  broker: string;
  /** When the link entered this state. */
  since: string;
  /** Last time the daemon confirmed this record (heartbeat). */
  at: string;
  /** Why it is down (e.g. "agent stopped"). */
  reason?: string;
}

/** How often the daemon refreshes `at`; a record older than 3 of these is from a daemon that is gone. */
export const LINK_HEARTBEAT_MS = 10_000;
const KEY = 'link';

/** The last record a daemon wrote, or undefined (never enrolled or never started). */
export function readLink(db: Db): LinkRecord | undefined {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_kv'").get();
  if (!exists) return undefined;
  const v = (db.prepare('SELECT value FROM sync_kv WHERE key = ?').get(KEY) as { value: string } | undefined)?.value;
  return v ? (JSON.parse(v) as LinkRecord) : undefined;
}

export class LinkState {
  private rec: LinkRecord;
  private timer: NodeJS.Timeout | null = null;
  /** A drop was logged and no recovery yet. */
  private droppedLogged = false;

  constructor(private readonly db: Db, broker: string, private readonly logger: Logger, private readonly now: () => Date = () => new Date()) {
    const t = now().toISOString();
    this.rec = { state: 'down', broker, since: t, at: t, reason: 'connecting' };
  }

  start(): void {
    this.save();
    if (this.timer) return;
    this.timer = setInterval(() => this.save(), LINK_HEARTBEAT_MS);
    this.timer.unref();
  }

  /** Stops the heartbeat and records the link as down because the agent stopped. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.set('down', 'agent stopped');
  }

  up(): void {
    if (this.droppedLogged) this.logger.info({ broker: this.rec.broker, downSince: this.rec.since }, 'hub link up');
    this.droppedLogged = false;
    this.set('up');
  }

  /** The connection closed (a drop, a failed reconnect attempt, or a keepalive timeout). */
  down(reason: string): void {
    if (this.rec.state === 'up') {
      this.logger.warn({ broker: this.rec.broker, reason }, 'hub link down');
      this.droppedLogged = true;
    }
    if (this.rec.state === 'down' && this.rec.reason === reason) return;
    this.set('down', reason);
  }

  private set(state: 'up' | 'down', reason?: string): void {
    const changed = state !== this.rec.state;
    const t = this.now().toISOString();
    this.rec = { state, broker: this.rec.broker, since: changed ? t : this.rec.since, at: t, ...(reason ? { reason } : {}) };
    this.save();
  }

  private save(): void {
    this.rec.at = this.now().toISOString();
    try {
      this.db.prepare('INSERT INTO sync_kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(KEY, JSON.stringify(this.rec));
    } catch (err) {
      // Status is informational: a full disk must not break the link.
      this.logger.warn({ err: (err as Error).message }, 'recording the hub link state failed');
    }
  }
}
