// Tests' composition of the data-flow parts as server/hub.ts wires them: ingest (device reports in),
// deployments (desired documents out, status from ingest's reports). start() and stop() in hub order.
import type { DesiredCapture, KeyPair, TrustBody } from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { FleetLink, LoggerPort, MetricsPort } from '../mqtt/ports.js';
import type { Clock } from '../clock.js';
import { IngestService, type IngestOptions } from '../ingest/service.js';
import { DeploymentService, type DeploymentOptions } from '../deployments/service.js';
import type { IngestLimits } from '../ingest/plausibility.js';
import type { Sealing } from '../sealing/service.js';
import { ConfigService } from '../config/service.js';

export interface PartsOptions {
  store: Store;
  link: FleetLink;
  hubKey: KeyPair;
  clock: Clock;
  logger: LoggerPort;
  metrics?: MetricsPort;
  deployments?: Partial<DeploymentOptions>;
  ingest?: Partial<IngestOptions>;
  limits?: Partial<IngestLimits>;
  sealing?: Sealing;
  desiredCapture?: (deviceId: string) => DesiredCapture[];
  /** The hub's current trust, for the deployments part's check of each version it sends. */
  trust?: () => TrustBody;
}

export interface Parts {
  ingest: IngestService;
  deployments: DeploymentService;
  /** Remote agent configuration, layered into the desired documents. */
  config: ConfigService;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function makeParts(o: PartsOptions): Parts {
  const ingest = new IngestService({
    store: o.store, link: o.link, clock: o.clock, logger: o.logger,
    ...(o.metrics ? { metrics: o.metrics } : {}), ...(o.ingest ? { options: o.ingest } : {}), ...(o.limits ? { limits: o.limits } : {}),
  });
  const config = new ConfigService(o.store);
  const deployments = new DeploymentService({ store: o.store, link: o.link, hubKey: o.hubKey, clock: o.clock, logger: o.logger, reports: ingest, config, ...(o.sealing ? { sealing: o.sealing } : {}), ...(o.desiredCapture ? { desiredCapture: o.desiredCapture } : {}), ...(o.trust ? { trust: o.trust } : {}), ...(o.deployments ? { options: o.deployments } : {}) });
  return {
    ingest, deployments, config,
    async start() {
      await ingest.start();
      await deployments.start();
    },
    async stop() {
      await deployments.stop();
      await ingest.stop();
    },
  };
}
