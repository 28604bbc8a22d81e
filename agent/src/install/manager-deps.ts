// What the model manager (manager.ts, docs/agent.md) is built from: the agent's stores, the device key,
// the runtime it swaps versions into, the switch listener; and what it reports: a switch, an install.
import type { BoxKeyPair, PreflightResult } from '@edgefleet/shared/core';
import type { Logger } from '../log.js';
import type { BlobStore } from '../store/blobs.js';
import type { ContentKeysRepo } from '../store/content-keys-repo.js';
import type { EventsRepo } from '../store/events-repo.js';
import type { ActiveEntry, ModelsRepo } from '../store/models-repo.js';
import type { RemovalsRepo } from '../store/removals-repo.js';
import type { TrustRepo } from '../store/trust-repo.js';
import type { ModelRuntime } from '../runtime/runtime.js';
import type { Pause } from './pause.js';

/** A switch the serving runtime adopted: `reason` is 'install', 'rollback', 'reconcile' (committed by the CLI) or the caller's. */
export interface Switched { name: string; version: string; previous: string | undefined; reason: string }

export interface ModelManagerDeps {
  models: ModelsRepo;
  trust: TrustRepo;
  events: EventsRepo;
  blobs: BlobStore;
  /** Content keys of encrypted bundles, sealed to `deviceKey` (docs/decisions/0029-sealed-models.md). */
  contentKeys: ContentKeysRepo;
  /** Models the hub removed (removal.ts). */
  removals: RemovalsRepo;
  deviceKey: () => BoxKeyPair;
  runtime: ModelRuntime;
  /** True in the daemon (swap loaded sessions in); false in the CLI (test-load only, the daemon picks the change up). */
  serving: boolean;
  agentVersion: string;
  logger: Logger;
  pause?: Pause;
  /** Told after every switch the serving runtime adopted (the policy guard watches new versions). */
  onSwitch?: (s: Switched) => void;
  /** The box clock for the trust expiry check (tests inject one); default the wall clock. */
  now?: () => Date;
}

export interface InstallResult {
  name: string;
  version: string;
  manifestSha256: string;
  activated: boolean;
  active: ActiveEntry | undefined;
  /** Sample latency measured by preflight; undefined when the bundle has no samples. */
  preflight: PreflightResult | undefined;
}
