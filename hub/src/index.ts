// @edgefleet/hub: the hub as a library (the programs are server/main.ts and cli/main.ts).
export { Hub, type HubAddresses } from './server/hub.js';
export { HubConfig } from './config.js';
export { loadConfig } from './config-load.js';
export { Store } from './store/index.js';
export { DeploymentService, DEFAULT_DEPLOYMENT_OPTIONS, type DeploymentOptions } from './deployments/service.js';
export { IngestService, DEFAULT_INGEST_OPTIONS, type IngestOptions, type DeviceReports } from './ingest/service.js';
export { checkWindow, DEFAULT_INGEST_LIMITS, type DeviceContext, type IngestLimits, type RefusalReason } from './ingest/plausibility.js';
export { RolloutEngine, DEFAULT_ROLLOUT_OPTIONS, type RolloutOptions } from './rollouts/engine.js';
export { BlobServer, DEFAULT_BLOB_OPTIONS, type BlobServerOptions } from './delivery/blob-server.js';
export { createEmbeddedBroker } from './mqtt/embedded.js';
export { createExternalLink } from './mqtt/external.js';
export type { FleetLink, DeviceAuthPort, LoggerPort, MetricsPort } from './mqtt/ports.js';
export { systemClock, type Clock } from './clock.js';
export { operatorCli } from './cli/main.js';
export { hubServerCli } from './server/main.js';
export { HUB_MIGRATIONS } from './schema.js';
export { noopLogger } from './mqtt/ports.js';
// Test support: a real Mosquitto configured by `mosquitto-config` (scenario tests of several hubs in test/).
export { MOSQUITTO, startMosquitto } from './mqtt/testing/mosquitto.js';
