// Remote agent configuration (docs/hub.md "Agent configuration", docs/decisions/0036-agent-config-in-desired-state.md):
// documents per scope (fleet default, tag KEY=VALUE, device), layered in that order for each device
// (later wins per setting; tags in order of key then value), each stored versioned. A device's layered
// settings travel in its hub-signed desired document (deployments/service.ts) with their sha256, and the
// agent reports which configuration it runs and whether the last one applied.
import {
  AppError, notFound, DeviceId, REMOTE_SETTINGS, TagKey, checkRemoteSettings, layerSettings, settingsHash,
  type ConfigDeviceList, type ConfigDocumentInfo, type DesiredConfig, type DeviceConfigView, type RemoteSettings, type SettingsLayer,
} from '@edgefleet/shared';
import type { Store } from '../store/index.js';
import type { DevicePageQuery } from '../store/devices-repo.js';
import { ConfigRepo, type ConfigRow } from './repo.js';
import { checkOutboxPut } from './payload-limit.js';
import { refuseRolloutDevices } from '../deployments/target.js';

/** ConfigService.desiredReader's: what is read once for the devices of one call. */
export interface SeenScopes { documents: ReadonlySet<string>; held: ReadonlySet<string>; latest(scope: string): ConfigRow | undefined }

export type ConfigScope = { kind: 'fleet' } | { kind: 'tag'; key: string; value: string } | { kind: 'device'; deviceId: string };

/** "fleet", "tag/KEY=VALUE" or "device/ID", checked; INVALID_INPUT naming what was expected. */
export function parseScope(s: string): ConfigScope {
  if (s === 'fleet') return { kind: 'fleet' };
  const [kind, ...rest] = s.split('/');
  const arg = rest.join('/');
  if (kind === 'device' && DeviceId.safeParse(arg).success) return { kind: 'device', deviceId: arg };
  if (kind === 'tag') {
    const eq = arg.indexOf('=');
    const key = arg.slice(0, eq);
    const value = arg.slice(eq + 1);
    if (eq > 0 && TagKey.safeParse(key).success && value.length > 0 && value.length <= 256) return { kind: 'tag', key, value };
  }
  throw new AppError('INVALID_INPUT', `scope "${s}": expected "fleet", "tag/KEY=VALUE" or "device/ID"`);
}

export const scopeName = (s: ConfigScope): string => (s.kind === 'fleet' ? 'fleet' : s.kind === 'tag' ? `tag/${s.key}=${s.value}` : `device/${s.deviceId}`);

export interface ConfigServiceOptions {
  /**
   * The largest MQTT message this hub accepts from a device (the hub's maxPayloadBytes): a larger
   * sync.outbox.maxMessageBytes would have the boxes' batches refused by the broker. Absent: not checked.
   */
  maxPayloadBytes?: number | undefined;
}

export class ConfigService {
  readonly repo: ConfigRepo;

  constructor(private readonly store: Store, private readonly opts: ConfigServiceOptions = {}) {
    this.repo = new ConfigRepo(store.db);
  }

  /** A scope's document (the newest version, or `version`); version 0 and no settings when never set. */
  document(scope: ConfigScope, version?: number): ConfigDocumentInfo {
    const name = scopeName(scope);
    const r = version === undefined ? this.repo.latest(name) : this.repo.version(name, version);
    if (!r && version !== undefined) throw notFound('config_version', `${name}@${version}`, `${name} has no configuration version ${version}`);
    // As PUT: a device the hub does not know (a typo) is not answered "nothing set"; one removed keeps its history.
    if (!r && scope.kind === 'device' && !this.store.devices.exists(scope.deviceId)) throw notFound('device', scope.deviceId, `no device "${scope.deviceId}"`);
    return r ? { scope: name, version: r.version, settings: r.settings, at: r.at, by: r.by, reason: r.reason } : { scope: name, version: 0, settings: {}, at: null, by: null, reason: null };
  }

  /** The scope's newest document when `settings` are exactly what it holds (version 0: no settings), else null. */
  unchanged(scope: ConfigScope, settings: RemoteSettings): ConfigDocumentInfo | null {
    const cur = this.document(scope);
    return settingsHash(cur.settings) === settingsHash(settings) ? cur : null;
  }

  /**
   * Stores the next version of a scope's document after checking every setting as the agent would
   * (CONFIG_NOT_REMOTE / CONFIG_INVALID naming the field), and sync.outbox.maxMessageBytes against what
   * this hub's MQTT accepts per message. Run it in the caller's transaction; returns the
   * version and the devices it reaches (their desired documents are to be issued in the same transaction).
   */
  put(scope: ConfigScope, settings: RemoteSettings, by: string, reason: string, at: Date, viaRollout = false): { version: number; devices: string[] } {
    checkRemoteSettings(settings);
    // Batches larger than this hub's MQTT accepts would be refused by its broker (payload-limit.ts).
    if (this.opts.maxPayloadBytes !== undefined) checkOutboxPut(scopeName(scope), settings, this.opts.maxPayloadBytes);
    const rolling = viaRollout ? undefined : this.rolloutOf(scope);
    if (rolling) throw new AppError('CONFLICT', `${scopeName(scope)} is being rolled out by rollout ${rolling}: wait for it to finish, or roll it back or abort it first`, { details: { rollout: rolling } });
    if (scope.kind === 'device' && !this.store.devices.exists(scope.deviceId)) throw notFound('device', scope.deviceId, `no device "${scope.deviceId}"`);
    const devices = this.reach(scope);
    // A device is one configuration rollout's at a time, whatever the scope (docs/decisions/0088-one-configuration-rollout-per-device.md):
    // a document of another scope reaching a device a rollout holds would change what that rollout judges.
    if (!viaRollout) refuseRolloutDevices(this.store, { model: `config:${scopeName(scope)}`, config: true }, devices, scopeName(scope), 'set the other devices by a scope that leaves those out');
    const version = this.repo.put(scopeName(scope), settings, by, reason, at);
    return { version, devices };
  }

  /** The devices (not revoked) a scope's document reaches. */
  reach(scope: ConfigScope): string[] {
    return this.store.devices.targetable().filter((d) => scope.kind === 'fleet' || (scope.kind === 'tag' ? d.tags[scope.key] === scope.value : d.id === scope.deviceId)).map((d) => d.id);
  }

  /** The running or paused configuration rollout of a scope, if any (decision 0045). */
  rolloutOf(scope: ConfigScope): string | undefined {
    const r = this.store.db.prepare("SELECT id FROM rollouts WHERE state IN ('running', 'paused') AND model = ? AND config IS NOT NULL LIMIT 1").get(`config:${scopeName(scope)}`) as { id: string } | undefined;
    return r?.id;
  }

  /**
   * The documents that apply to a device, in layering order: each scope's newest version, or the version a
   * configuration rollout of that scope holds the device at until its wave is told (decision 0045).
   */
  private layers(deviceId: string, tags: Record<string, string>, seen?: SeenScopes): SettingsLayer[] {
    const names = ['fleet', ...Object.keys(tags).sort().map((k) => `tag/${k}=${tags[k]}`), `device/${deviceId}`];
    return names.flatMap((scope) => {
      if (seen && !seen.documents.has(scope) && !seen.held.has(scope)) return []; // no document and no rollout: no layer
      const held = seen && !seen.held.has(scope) ? undefined : this.repo.heldVersion(scope, deviceId);
      const r = held === undefined ? (seen ? seen.latest(scope) : this.repo.latest(scope)) : held === 0 ? undefined : this.repo.version(scope, held);
      return r ? [{ scope, version: r.version, settings: r.settings }] : [];
    });
  }

  /**
   * What a device's desired document carries: its layered settings; none at all on a hub that never had a
   * document (an agent then changes nothing), empty settings when no document reaches it any more (the
   * agent goes back to its local config).
   */
  desiredFor(deviceId: string, tags: Record<string, string> = this.repo.tagsOf(deviceId), seen?: SeenScopes): DesiredConfig | undefined {
    const layers = this.layers(deviceId, tags, seen);
    if (!layers.length && !(seen ? seen.documents.size > 0 : this.repo.any())) return undefined;
    const { settings } = layerSettings(layers);
    return { sha256: settingsHash(settings), sources: layers.map((l) => ({ scope: l.scope, version: l.version })), settings };
  }

  /**
   * desiredFor for the many devices of one call, in its transaction (deployments/desired.ts): the scopes that have
   * documents, those a configuration rollout holds and each scope's newest document are read once, not for each device
   * (docs/decisions/0188-deployment-commit-set-based.md).
   */
  desiredReader(): (deviceId: string, tags?: Record<string, string>) => DesiredConfig | undefined {
    const newest = new Map<string, ConfigRow | undefined>();
    const seen: SeenScopes = {
      ...this.repo.scopes(),
      latest: (scope) => (newest.has(scope) ? newest.get(scope) : newest.set(scope, this.repo.latest(scope)).get(scope)),
    };
    return (deviceId, tags) => this.desiredFor(deviceId, tags, seen);
  }

  /** GET /config/devices: a page of the devices not revoked, the configuration each is sent and what it reports. */
  deviceStatuses(q: DevicePageQuery): ConfigDeviceList {
    const page = this.store.devices.targetablePage(q);
    const devices = page.rows.map((d) => {
      const desired = this.desiredFor(d.id, d.tags);
      const rc = this.repo.reportedConfig(d.id) ?? null;
      return {
        deviceId: d.id, tags: d.tags, sha256: desired?.sha256 ?? null, sources: desired?.sources ?? [], reported: rc,
        applied: desired ? rc?.sha256 === desired.sha256 && rc.status === 'applied' : true,
      };
    });
    return { devices, next: page.next };
  }

  /** GET /devices/{id}/config: each setting with the document it came from, and what the device reports. */
  deviceView(deviceId: string): DeviceConfigView {
    const dev = this.store.devices.get(deviceId);
    const layers = this.layers(deviceId, dev.tags);
    const { settings, from } = layerSettings(layers);
    const sha256 = settingsHash(settings);
    const view: DeviceConfigView['settings'] = {};
    for (const [k, v] of Object.entries(settings)) view[k] = { value: v, ...from[k]!, apply: REMOTE_SETTINGS[k] ?? 'restart' };
    const rc = this.repo.reportedConfig(deviceId) ?? null;
    return { deviceId, sha256, sources: layers.map((l) => ({ scope: l.scope, version: l.version })), settings: view, reported: rc, applied: rc?.sha256 === sha256 && rc.status === 'applied' };
  }
}
