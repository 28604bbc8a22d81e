// Remote agent configuration over REST (docs/hub.md "Agent configuration"): a document per scope (fleet,
// tag/KEY=VALUE, device/ID), each PUT a new version checked with the agent's own schema and audited with
// its reason; the devices it reaches get new desired documents (published after commit). A device's
// layered configuration shows where each setting came from and whether the device reports it applied.
import { z } from 'zod';
import { AppError, QueryId, ConfigDeviceList, ConfigDocumentInfo, ConfigPut, DeviceConfigView, DevicePageQuery } from '@edgefleet/shared';
import type { ConfigService } from '../config/service.js';
import { parseScope, scopeName } from '../config/service.js';
import { actor, afterCommit, audit, jsonBody, param, queryOf, transact, type ApiDeps, type Ctx, type RouteDef } from './http.js';

const need = (deps: ApiDeps): ConfigService => {
  if (!deps.config) throw new AppError('NOT_READY', 'this hub serves no agent configuration');
  return deps.config;
};

const VersionQuery = z.object({ version: QueryId('version', 'configuration document version').optional() });

/** The scope a route names: "fleet", or tag/device with its path parameter. */
const scopeOf = (c: Ctx, kind: 'fleet' | 'tag' | 'device'): string => (kind === 'fleet' ? 'fleet' : `${kind}/${param(c, kind === 'tag' ? 'tag' : 'id')}`);

function scopeRoutes(kind: 'fleet' | 'tag' | 'device', path: string, what: string): RouteDef[] {
  return [
    {
      method: 'get', path, access: 'viewer', query: VersionQuery, response: ConfigDocumentInfo,
      summary: `The agent configuration document of ${what} (the newest version, or ?version=N)`,
      async handler(c, deps) {
        const q = queryOf(c, VersionQuery, 'query');
        return need(deps).document(parseScope(scopeOf(c, kind)), q.version);
      },
    },
    {
      method: 'put', path, access: 'operator', maxBodyBytes: 64 * 1024, body: ConfigPut,
      response: ConfigDocumentInfo.extend({ devices: z.number().int().nonnegative(), unchanged: z.boolean() }),
      summary: `Replace the agent configuration document of ${what} (a new version; remote settings only, checked with the agent's schema; needs a reason; the settings the newest version holds already: unchanged, nothing stored or sent)`,
      async handler(c, deps) {
        const config = need(deps);
        const scope = parseScope(scopeOf(c, kind));
        const name = scopeName(scope);
        const b = await jsonBody(c, ConfigPut, 'configuration document');
        const same = transact(deps, () => config.unchanged(scope, b.settings));
        if (same) return { ...same, devices: 0, unchanged: true };
        const { version, devices, docs } = transact(deps, () => {
          const before = config.document(scope);
          const r = config.put(scope, b.settings, actor(c).name, b.reason, deps.clock.now());
          audit(c, deps, 'config.set', name, b.reason, { version: r.version, before: before.settings, after: b.settings, devices: r.devices.length });
          return { ...r, docs: deps.deployments?.storeDesired(r.devices) ?? [] };
        });
        const deployments = deps.deployments;
        if (deployments && docs.length) await afterCommit(c, deps, 'config.set', name, 'publish desired state', () => deployments.publishDesired(docs));
        return { ...config.document(scope, version), devices: devices.length, unchanged: false };
      },
    },
  ];
}

export const configRoutes: RouteDef[] = [
  ...scopeRoutes('fleet', '/config/fleet', 'the fleet (every device)'),
  ...scopeRoutes('tag', '/config/tag/:tag', 'devices with a tag (KEY=VALUE)'),
  ...scopeRoutes('device', '/config/device/:id', 'one device'),
  {
    method: 'get', path: '/config/devices', access: 'viewer', query: DevicePageQuery, response: ConfigDeviceList,
    summary: 'The devices not revoked a page at a time by id, as GET /devices: the sha256 and sources of the configuration each is sent, what it reports, and whether it applied',
    async handler(c, deps) {
      return need(deps).deviceStatuses(queryOf(c, DevicePageQuery, 'devices query'));
    },
  },
  {
    method: 'get', path: '/devices/:id/config', access: 'viewer', response: DeviceConfigView,
    summary: "A device's layered agent configuration: each setting with the document it came from, and what the device reports in effect",
    async handler(c, deps) {
      return need(deps).deviceView(param(c, 'id'));
    },
  },
];
