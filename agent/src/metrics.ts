// The agent's own Prometheus series beside the API's (read when /metrics is scraped): the outbox
// backlog, the size of agent.db's WAL and, on an enrolled box, the hub link.
import type { Db } from './store/db.js';
import { walBytes } from './store/wal.js';
import type { SyncClient } from './sync/client.js';

/** Prometheus series of the outbox and the hub link (read when /metrics is scraped). */
export function agentMetrics(db: Db, sync: SyncClient | undefined): string {
  const rows = db.prepare('SELECT kind, COUNT(*) AS n, MIN(created) AS oldest FROM outbox GROUP BY kind').all() as Array<{ kind: string; n: number; oldest: string }>;
  const l = [
    '# HELP edgefleet_agent_outbox_items Summary windows and events waiting for the hub to acknowledge them.',
    '# TYPE edgefleet_agent_outbox_items gauge',
    ...['window', 'event'].map((k) => `edgefleet_agent_outbox_items{kind="${k}"} ${rows.find((r) => r.kind === k)?.n ?? 0}`),
    '# HELP edgefleet_agent_outbox_oldest_seconds Age of the oldest item waiting in the outbox.',
    '# TYPE edgefleet_agent_outbox_oldest_seconds gauge',
    `edgefleet_agent_outbox_oldest_seconds ${rows.length ? Math.max(0, (Date.now() - Math.min(...rows.map((r) => Date.parse(r.oldest)))) / 1000) : 0}`,
    '# HELP edgefleet_agent_db_wal_bytes Size of agent.db\'s write-ahead log (grows while another connection holds a read open).',
    '# TYPE edgefleet_agent_db_wal_bytes gauge',
    `edgefleet_agent_db_wal_bytes ${walBytes(db)}`,
  ];
  if (sync) {
    l.push(
      '# HELP edgefleet_agent_hub_connected 1 while the MQTT link to the hub is up.',
      '# TYPE edgefleet_agent_hub_connected gauge',
      `edgefleet_agent_hub_connected ${sync.isConnected() ? 1 : 0}`,
      '# HELP edgefleet_agent_desired_seq The seq of the last desired-state document applied.',
      '# TYPE edgefleet_agent_desired_seq gauge',
      `edgefleet_agent_desired_seq ${sync.store.lastAppliedSeq()}`,
    );
  }
  return `${l.join('\n')}\n`;
}

