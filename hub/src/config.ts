// Hub configuration: the HubConfig schema (zod) of every setting, with its defaults and limits. It is
// read from an optional JSON file (--config) overridden by the flags of `edgefleet-hub run` (RUN_FLAGS,
// parsed by the shared command line) in config-load.ts; a bad value is a CONFIG_INVALID AppError naming
// the field, where it came from and what was expected (the program exits 1 with it).
import { z } from 'zod';
import { FetchedPort, captureMessageBytes, chunkBytesWithin, MAX_CAPTURE_CHUNK_BYTES, MIN_CAPTURE_CHUNK_BYTES, MAX_TIMER_MS, MIN_OUTBOX_MESSAGE_BYTES, RingTags, sealedRowsBytes } from '@edgefleet/shared';
import { DEFAULT_EVENTS_DAYS, DEFAULT_HOURLY_ROLLUP_DAYS, DEFAULT_REVOKED_DAYS } from './rollups/retention.js';
import { MIN_HISTORY_DAYS } from './deployments/history-retention.js';
import { DEFAULT_STATE_PACING } from './mqtt/state-pacer.js';
import { STATEMENT_TIMEOUT_MS } from './store/pg/worker-link.js';

const PARKED_BYTES_EXPECTED = 'expected whole bytes, at least 1048576 (1 MiB)';
const PARKED_DAYS_EXPECTED = 'expected whole days from 1 to 3650';
const HISTORY_DAYS_EXPECTED = `expected whole days, at least ${MIN_HISTORY_DAYS} (or no historyDays: history kept)`;
/** Whole days from 1 to 36500 (a century: "kept"), `expected` saying so in every refusal. */
const wholeDays = (expected: string) => z.number({ error: expected }).int({ error: expected }).min(1, { error: expected }).max(36_500, { error: expected });
const EVENTS_DAYS = wholeDays(`expected whole days from 1 to 36500 (default ${DEFAULT_EVENTS_DAYS}: a year of each device's events)`);
const REVOKED_DAYS = wholeDays(`expected whole days from 1 to 36500 (default ${DEFAULT_REVOKED_DAYS} days after a device's revocation)`);

/** capture.maxChunkBytes at least: the largest chunk an agent seals (capture.chunkBytes at its maximum). */
const MIN_HUB_CHUNK_BYTES = sealedRowsBytes(MAX_CAPTURE_CHUNK_BYTES);

const Port = z.number().int().min(0).max(65535, 'expected a port from 0 to 65535 (0: any free one)');
/** A file named in the config or a flag; empty is refused, not read as the directory it is resolved against. */
const FilePath = z.string().min(1, 'expected a file path');
/**
 * A period or timeout that becomes a Node timer: above MAX_TIMER_MS Node fires it after 1 ms instead
 * (TimeoutOverflowWarning), which made alerts.evaluateEveryMs a busy loop, so it is refused.
 */
const TimerMs = (min = 1) => z.number().int().min(min).max(MAX_TIMER_MS, `expected at most ${MAX_TIMER_MS} ms (about 24.8 days, Node's longest timer)`);
/** How long a start waits for a server it cannot reach yet (the database, the external broker); 0: not at all. */
const StartWaitMs = z.number().int().min(0).max(3_600_000, 'expected at most 3600000 ms (an hour)').default(60_000);

export const HubConfig = z
  .object({
    dataDir: z.string({ error: 'expected the data directory: --data-dir DIR, or "dataDir" in the config file' }).min(1, 'expected the data directory (--data-dir DIR)'),
    /** The hub's tables in PostgreSQL instead of DATA/hub.db (docs/hub.md "Database"); blobs stay in DATA. */
    database: z.string().regex(/^postgres(ql)?:\/\/\S+$/i, 'expected a PostgreSQL URL, postgres://USER[:PASSWORD]@HOST:PORT/DB (leave it out for hub.db in the data directory)').optional(),
    /** How long a start waits for a PostgreSQL server it cannot reach yet (booting, restarting); 0: not at all. */
    databaseWaitMs: StartWaitMs,
    /**
     * The server cancels a statement of the hub's running longer (docs/hub.md "Stopping"): it bounds how long
     * SIGTERM waits, so at most STATEMENT_TIMEOUT_MS (the hub gone within 30 s); lower fails slow statements sooner.
     */
    databaseStatementTimeoutMs: z.number().int().min(1000, 'expected at least 1000 ms').max(STATEMENT_TIMEOUT_MS, `expected at most ${STATEMENT_TIMEOUT_MS} ms: a statement holds SIGTERM this long, and the hub must be gone within 30 s`).optional(),
    // Empty would listen on every interface (Node's listen("")), not on the loopback default.
    host: z.string().min(1, 'expected an address to listen on, e.g. 127.0.0.1 or 0.0.0.0 (leave it out for 127.0.0.1)').default('127.0.0.1'),
    /** Reached by fetch (the CLI, the console): a port fetch refuses is refused here (shared/src/fetch-ports.ts). */
    httpPort: FetchedPort('the CLI and the console').default(8700),
    mqttPort: Port.default(1883),
    mqttsPort: Port.optional(),
    tlsCert: FilePath.optional(),
    tlsKey: FilePath.optional(),
    wsPort: Port.optional(),
    /** The trust document to copy into DATA/trust.json (needed on first start). */
    trust: FilePath.optional(),
    /** A hub secret key file (edgefleet keys generate --role hub); otherwise one is created in DATA. */
    hubKey: FilePath.optional(),
    /**
     * The key file that wraps content keys at rest (docs/security.md "Sealed models"); it must exist.
     * Otherwise DATA/content-keys.key, created when missing. Several hubs on one database name copies of one file.
     */
    contentKeys: z.string().min(1).optional(),
    /** Broker URLs given to devices at enrollment; defaults to the addresses the hub listens on. */
    publicBrokers: z.array(z.string().url()).optional(),
    maxBundleBytes: z.number().int().positive().default(512 * 1024 * 1024),
    /** The largest MQTT publish a device may send; below what the agents are given it is refused at start (config/payload-limit.ts). */
    maxPayloadBytes: z.number().int().min(MIN_OUTBOX_MESSAGE_BYTES, { error: (iss) => `expected at least ${MIN_OUTBOX_MESSAGE_BYTES} bytes, the smallest sync.outbox.maxMessageBytes an agent takes (got ${String(iss.input)})` }).default(256 * 1024),
    /** MQTT connection attempts allowed per remote address per minute (a flood guard; devices behind one NAT share it). */
    connectsPerAddressPerMinute: z.number().int().positive().default(6000),
    /** MQTT connections from one address not yet answered with a CONNACK (default: connectsPerAddressPerMinute; docs/mqtt.md "Connection limits"). */
    connectsPendingPerAddress: z.number().int().positive().optional(),
    /** MQTT connections from all addresses together not yet answered with a CONNACK. */
    connectsPending: z.number().int().positive().default(10_000),
    /** Failed MQTT authentications per device id per minute before the id is locked (docs/mqtt.md "Connection limits"). */
    connectFailuresPerIdPerMinute: z.number().int().positive().default(10),
    /** Failed MQTT authentications per remote address per minute before the address is locked. */
    connectFailuresPerAddressPerMinute: z.number().int().positive().default(600),
    /** How long a locked device id or address stays locked. */
    connectLockMs: z.number().int().nonnegative().default(60_000),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
    /**
     * Reach devices through an external MQTT broker (Mosquitto, EMQX, …) as a client instead of the
     * embedded aedes broker. Several hubs share device traffic through `$share/<shareGroup>/…`.
     */
    externalBroker: z
      .object({
        url: z.string().regex(/^mqtts?:\/\//, 'expected an mqtt:// or mqtts:// URL'),
        username: z.string().min(1),
        password: z.string().min(1),
        clientId: z.string().min(1).optional(),
        shareGroup: z.string().default('edgefleet'),
        /** Mosquitto password file to append each new device's credentials to (then reload mosquitto with SIGHUP). */
        passwordFile: z.string().optional(),
        /** How long a start waits for a broker it cannot reach yet (down, booting); not for one that refuses the hub (mqtt/external.ts). */
        waitMs: StartWaitMs,
      })
      .strict()
      .optional(),
    /**
     * Several hub processes on one database behind one external broker (docs/hub.md "Several hubs"):
     * devices' traffic is shared through `$share/<externalBroker.shareGroup>/…`, and one hub at a time,
     * the holder of a database lease, runs the singleton jobs (rollouts, renewals, alerts, retention, fleet rows).
     */
    cluster: z
      .object({
        enabled: z.boolean().default(true),
        /** This hub's name in the lease and its broker client id; unique per hub process (default HOST-TAG-pid). */
        hubId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'expected 1-64 letters, digits, ".", "_" or "-"').optional(),
        /** How long the lease lasts without renewal: a killed holder's jobs move after at most this (with enabled false: the single hub's lease). */
        leaseTtlMs: TimerMs(1000).optional(),
        /** How often each hub takes or renews the lease (below leaseTtlMs). */
        renewEveryMs: TimerMs(100).optional(),
      })
      .strict()
      .optional(),
    /** Desired-state documents: lifetime and re-signing (milliseconds). */
    sync: z
      .object({
        desiredTtlMs: z.number().int().positive().optional(),
        renewBeforeMs: z.number().int().positive().optional(),
        renewEveryMs: TimerMs().optional(),
      })
      .strict()
      .optional(),
    /** Plausibility limits for what devices report (hub/src/ingest/plausibility.ts; docs/hub.md). */
    ingest: z
      .object({
        maxPredictionsPerSec: z.number().int().positive().optional(),
        futureToleranceMs: z.number().int().nonnegative().optional(),
        maxSeqGap: z.number().int().positive().optional(),
        maxLengthSec: z.number().int().positive().optional(),
        /** Seconds a device's windows of one version may claim again (hub/src/ingest/coverage.ts; docs/hub.md). */
        maxOverlapSec: z.number().int().nonnegative().optional(),
        /** Past this device clock offset the hub warns and places the device's windows by its own clock (docs/operations.md). */
        clockSkewMs: z.number().int().positive().optional(),
        /** Bytes of windows and events stored per device in hub.db; past it reports are acked and refused (storage_quota). */
        maxStoredBytesPerDevice: z.number().int().positive().optional(),
        /** Bytes of windows of versions the registry does not hold parked per device (hub/src/ingest/parked.ts); past it they are refused. */
        maxParkedBytesPerDevice: z.number().int().positive().optional(),
        /** Bytes of such parked windows of all devices together, per hub (hub/src/ingest/parked.ts; default 4 GiB); past it they are refused. */
        maxParkedBytes: z.number({ error: PARKED_BYTES_EXPECTED }).int({ error: PARKED_BYTES_EXPECTED }).min(1 << 20, { error: PARKED_BYTES_EXPECTED }).optional(),
        /** Days a window stays parked for its version to be pushed; older ones are deleted (hub/src/ingest/parked-expiry.ts; default 30). */
        parkedRetentionDays: z.number({ error: PARKED_DAYS_EXPECTED }).int({ error: PARKED_DAYS_EXPECTED }).min(1, { error: PARKED_DAYS_EXPECTED }).max(3650, { error: PARKED_DAYS_EXPECTED }).optional(),
        /** A device's state report larger than this is refused (docs/mqtt.md "State reports"; default 64 KiB). */
        maxStateBytes: z.number().int().min(1024, 'expected at least 1024 bytes: an agent\'s state report with one model is ~300 bytes').optional(),
        /** Bytes of state reports handled per device and second; past it the newest report waits (default 16 KiB). */
        stateBytesPerSec: z.number().int().min(1024, 'expected at least 1024 bytes a second').optional(),
      })
      .strict()
      .optional(),
    /** Per-device MQTT quotas (hub/src/mqtt/quota.ts; docs/mqtt.md "Quotas"), embedded broker only. */
    quotas: z
      .object({
        messagesPerSec: z.number().positive().optional(),
        burst: z.number().int().positive().optional(),
        bytesPerHour: z.number().int().positive().optional(),
        maxDelayMs: z.number().int().positive().optional(),
        disconnectAfterMs: z.number().int().positive().optional(),
        reportEveryMs: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    /** The web console served at / (hub/src/api/console.ts): the renderer's build directory (default desktop/dist/renderer). */
    console: z.object({ dir: z.string().min(1).optional(), enabled: z.boolean().optional() }).strict().optional(),
    /** Open HTTP connections (hub/src/server/http-connections.ts, docs/hub.md "HTTP connections"). */
    http: z
      .object({
        maxConnections: z.number().int().positive().optional(),
        maxConnectionsPerAddress: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    /** The live event stream (GET /api/v1/stream; hub/src/api/stream.ts, docs/hub.md "Live stream"). */
    stream: z
      .object({
        /** Recent events kept so a client can resume with Last-Event-ID. */
        bufferEvents: z.number().int().positive().max(1_000_000).optional(),
        perToken: z.number().int().positive().optional(),
        perAddress: z.number().int().positive().optional(),
        total: z.number().int().positive().optional(),
        maxQueuedBytes: z.number().int().positive().optional(),
        heartbeatMs: TimerMs().optional(),
      })
      .strict()
      .optional(),
    /** Raw summary windows are deleted this many days after they start (rollups stay; docs/drift.md "Retention"). Default: kept. */
    retention: z
      .object({
        windowsDays: z.number().positive().optional(),
        /** How often to delete expired windows (default hourly). */
        everyMs: TimerMs().optional(),
        /** Hourly rollups are deleted after this many whole days (default 35); older ranges read whole days. */
        hourlyRollupDays: z.number().int().min(2).optional(),
        /** Daily rollups are deleted after this many whole days (default: kept); older ranges are not answered. */
        dailyRollupDays: z.number().int().min(2).optional(),
        /** Deployments and rollouts no device uses are deleted this many days after their last activity (default: kept; decision 0067). */
        historyDays: z.number({ error: HISTORY_DAYS_EXPECTED }).int({ error: HISTORY_DAYS_EXPECTED }).min(MIN_HISTORY_DAYS, { error: HISTORY_DAYS_EXPECTED }).optional(),
        /** Device events are deleted this many whole days after they were stamped (default 365; decision 0132). */
        eventsDays: EVENTS_DAYS.optional(),
        /** A revoked device's raw windows and events are deleted this many whole days after its revocation (default 90; decision 0133). */
        revokedDays: REVOKED_DAYS.optional(),
      })
      .strict()
      .refine((r) => r.dailyRollupDays === undefined || r.dailyRollupDays >= (r.hourlyRollupDays ?? DEFAULT_HOURLY_ROLLUP_DAYS), {
        message: `dailyRollupDays must be at least hourlyRollupDays (default ${DEFAULT_HOURLY_ROLLUP_DAYS}): a day's hours cannot outlive the day`,
        path: ['dailyRollupDays'],
      })
      .optional(),
    /** Alert rules evaluation and webhook delivery (hub/src/alerts; docs/drift.md "Alerts"). */
    alerts: z
      .object({
        evaluateEveryMs: TimerMs().optional(),
        webhookTimeoutMs: TimerMs().optional(),
        webhookAttempts: z.number().int().positive().max(20).optional(),
        webhookBackoffMs: TimerMs().optional(),
        /** Deliveries delivered or failed for good are deleted this many days after they ended (default 30; pending ones never). */
        deliveriesDays: z.number({ error: 'expected whole days from 1 to 3650' }).int().min(1).max(3650).optional(),
        /** Resolved alerts are deleted, with their deliveries, this many days after they resolved (default 365; open ones never). */
        historyDays: z.number({ error: 'expected whole days from 1 to 3650' }).int().min(1).max(3650).optional(),
      })
      .strict()
      .optional(),
    /** Model delivery caps: concurrent transfers, bytes/s per device and in total (0 = no cap). */
    blobs: z
      .object({
        maxTransfers: z.number().int().nonnegative().optional(),
        perDeviceBytesPerSec: z.number().int().nonnegative().optional(),
        totalBytesPerSec: z.number().int().nonnegative().optional(),
      })
      .strict()
      .optional(),
    /** Staged rollouts (hub/src/rollouts/; docs/rollouts.md): step interval, desired documents a minute, tick jitter. */
    rollouts: z
      .object({
        tickMs: TimerMs().optional(),
        desiredPerMinute: z.number().positive().optional(),
        jitter: z.number().min(0).max(0.9).optional(),
        /** Refuse a rollout whose first wave is not a staging ring selecting these tags, e.g. {"env": "staging"}. */
        requireStagingRing: RingTags.optional(),
      })
      .strict()
      .optional(),
    /** Data capture (hub/src/capture; docs/hub.md "Data capture"): the operators' capture public key and storage bounds. */
    capture: z
      .object({
        /** X25519 public key, base64 (`edgefleet capture keygen` prints it); the private key stays with the operators. */
        publicKey: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'expected a 32-byte X25519 public key in base64 (edgefleet capture keygen prints it)').optional(),
        maxBytesPerDevice: z.number().int().positive().optional(),
        maxChunkBytes: z.number().int().min(MIN_HUB_CHUNK_BYTES, `expected at least ${MIN_HUB_CHUNK_BYTES} bytes: an agent's largest chunk (capture.chunkBytes ${MAX_CAPTURE_CHUNK_BYTES}) sealed, which a smaller limit would refuse, ending its capture`).optional(),
        /** A capture's sealed chunks are purged this many days after it ended (default 30). */
        keepDays: z.number().int().min(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.mqttsPort !== undefined && (!c.tlsCert || !c.tlsKey)) {
      ctx.addIssue({ code: 'custom', path: ['tlsCert'], message: 'mqttsPort needs tlsCert and tlsKey (--tls-cert F --tls-key F)' });
    }
    if (c.cluster?.enabled && !c.externalBroker) {
      ctx.addIssue({ code: 'custom', path: ['cluster'], message: 'cluster mode needs externalBroker: several hubs share devices through one external broker (docs/hub.md "Several hubs")' });
    }
    if (c.cluster?.enabled && c.externalBroker?.shareGroup === '') {
      ctx.addIssue({ code: 'custom', path: ['externalBroker', 'shareGroup'], message: 'cluster mode needs a $share group name: with none every hub would take every device message' });
    }
    // A state report the ingest takes must pass the broker first: refused there, it closes the device's connection.
    const maxState = c.ingest?.maxStateBytes ?? DEFAULT_STATE_PACING.maxStateBytes;
    if (c.maxPayloadBytes < maxState) {
      ctx.addIssue({ code: 'custom', path: ['maxPayloadBytes'], message: `expected at least ingest.maxStateBytes (${maxState}${c.ingest?.maxStateBytes === undefined ? ', its default' : ''}): a larger state report would be refused by the broker, closing the device's connection (got ${c.maxPayloadBytes})` });
    }
    // A capture chunk too is one device message: the boxes are asked for chunks that fit (docs/hub.md "Data capture").
    if (c.capture?.publicKey && chunkBytesWithin(c.maxPayloadBytes, MAX_CAPTURE_CHUNK_BYTES) < MIN_CAPTURE_CHUNK_BYTES) {
      ctx.addIssue({ code: 'custom', path: ['maxPayloadBytes'], message: `expected at least ${captureMessageBytes(MIN_CAPTURE_CHUNK_BYTES)} with capture.publicKey set: a capture chunk of ${MIN_CAPTURE_CHUNK_BYTES} bytes of rows, the least an agent seals, is that large as a message (got ${c.maxPayloadBytes})` });
    }
    const l = c.cluster;
    if (l?.leaseTtlMs !== undefined && l.renewEveryMs !== undefined && l.renewEveryMs >= l.leaseTtlMs) {
      ctx.addIssue({ code: 'custom', path: ['cluster', 'renewEveryMs'], message: `expected less than cluster.leaseTtlMs (${l.leaseTtlMs}): renewals well inside the lease` });
    }
  });
export type HubConfig = z.infer<typeof HubConfig>;
