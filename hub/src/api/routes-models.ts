// The model registry over REST: push a bundle (raw body, streamed, verified
// before anything is stored), list, show, download, deprecate and delete versions.
import { Readable } from 'node:stream';
import { z } from 'zod';
import { AppError, notFound, BundleDropped, ModelDeleteQuery, ModelDeleted, ModelDeprecate, ModelVersionDetail, ModelVersionInfo, ModelVersionList, ModelVersionQuery } from '@edgefleet/shared';
import { Registry, type BundleVerifier } from '../registry.js';
import { actor, audit, jsonBody, param, queryOf, transact, type ApiDeps, type Ctx, type RouteDef } from './http.js';
import { deleteVersion } from '../store/model-delete.js';
import { bundleWanted, dropBundle } from '../store/bundle-drop.js';
import { bundleDropped } from '../store/models-repo.js';
import { withTrusted } from '../deployments/trusted.js';
import { HUB_WASM_CHECK_MAX_BYTES } from '../model-backends.js';

const ListQuery = z.object({ name: z.string().optional() });

/** Each version with whether the hub's current trust still accepts its signers. */
const trusted = <T extends ModelVersionInfo>(deps: ApiDeps, versions: readonly T[]) => withTrusted(deps.store, () => deps.trust().signed, versions);

async function detail(deps: ApiDeps, name: string, version: string, limit?: number): Promise<z.infer<typeof ModelVersionDetail>> {
  const stored = deps.store.models.get(name, version);
  const [v = stored] = await trusted(deps, [stored]);
  const devices = deps.store.devices.runningVersion(name, version, limit);
  return {
    ...v, manifest: v.manifest as unknown as Record<string, unknown>, provenance: v.manifest.provenance, devices,
    ...(limit !== undefined ? { devicesTotal: devices.length < limit ? devices.length : deps.store.devices.countRunningVersion(name, version) } : {}),
  };
}

async function push(c: Ctx, deps: ApiDeps, verify: BundleVerifier): Promise<Response> {
  // A declared size over maxBundleBytes was refused before this, by the route's body cap (app.ts).
  const body = c.req.raw.body;
  if (!body) throw new AppError('BAD_REQUEST', 'empty body: expected a bundle (.efb) as application/octet-stream');
  const r = await new Registry(deps.store, verify, { maxBytes: HUB_WASM_CHECK_MAX_BYTES }).push(body as unknown as AsyncIterable<Uint8Array>, {
    maxBytes: deps.maxBundleBytes, pushedBy: actor(c).name, at: deps.clock.now(),
    // Runs inside the push's transaction: the version and its audit entry commit together. The same bundle
    // again is audited too (model.repush), so every accepted push leaves a trace (docs/hub.md "REST API").
    record: (v) => audit(c, deps, v.outcome === 'created' ? 'model.push' : 'model.repush', `${v.manifest.name}@${v.manifest.version}`, null, { bundleSha256: v.bundleSha256, size: v.bundleSize, manifestSha256: v.manifestSha256, signers: v.signatures.map((s) => s.keyId) }),
  });
  const { name, version } = r.manifest;
  return c.json(deps.store.models.list(name).find((v) => v.version === version), r.outcome === 'created' ? 201 : 200);
}

/** The version a DELETE names and its ?reason=. */
function removal(c: Ctx, what: string): { name: string; version: string; reason: string } {
  return { name: param(c, 'name'), version: param(c, 'version'), reason: queryOf(c, ModelDeleteQuery, what).reason };
}

export function modelRoutes(verify: BundleVerifier): RouteDef[] {
  return [
    {
      method: 'post', path: '/models', access: 'operator', rawBody: 'application/octet-stream', status: 201,
      summary: 'Push a signed bundle (.efb); verified against the trust document before it is stored. The same bundle again is a 200; other content under an existing version is a 409',
      response: ModelVersionInfo,
      handler: (c, deps) => push(c, deps, verify),
    },
    {
      method: 'get', path: '/models', access: 'viewer', summary: 'List model versions', response: ModelVersionList,
      query: ListQuery,
      async handler(c, deps) {
        return { versions: await trusted(deps, deps.store.models.list(queryOf(c, ListQuery, 'models query').name || undefined)) };
      },
    },
    {
      method: 'get', path: '/models/:name', access: 'viewer', summary: 'List the versions of one model', response: ModelVersionList,
      async handler(c, deps) {
        const name = param(c, 'name');
        const versions = deps.store.models.list(name);
        if (versions.length === 0) throw notFound('model', name, `no model "${name}" in the registry`);
        return { versions: await trusted(deps, versions) };
      },
    },
    {
      method: 'get', path: '/models/:name/versions/:version', access: 'viewer',
      summary: 'Show a version: manifest, provenance, signatures, size and the devices that run it (?devices=N: the first N by id, with devicesTotal)',
      query: ModelVersionQuery, response: ModelVersionDetail,
      async handler(c, deps) {
        return detail(deps, param(c, 'name'), param(c, 'version'), queryOf(c, ModelVersionQuery, 'model version query').devices);
      },
    },
    {
      method: 'get', path: '/models/:name/versions/:version/bundle', access: 'viewer', rawResponse: 'application/octet-stream',
      summary: 'Download the bundle file',
      async handler(c, deps) {
        const v = deps.store.models.get(param(c, 'name'), param(c, 'version'));
        if (v.bundleDropped) throw bundleDropped(v);
        const stream = deps.store.blobs.open(v.bundle.sha256);
        return new Response(Readable.toWeb(stream) as ReadableStream, {
          status: 200,
          headers: {
            'content-type': 'application/octet-stream',
            'content-length': String(v.bundle.size),
            'content-disposition': `attachment; filename="${v.name}-${v.version}.efb"`,
            etag: `"${v.bundle.sha256}"`,
          },
        });
      },
    },
    {
      method: 'post', path: '/models/:name/versions/:version/deprecate', access: 'operator',
      summary: 'Deprecate a version (kept and downloadable, no longer assignable); needs a reason', body: ModelDeprecate, response: ModelVersionInfo,
      async handler(c, deps) {
        const name = param(c, 'name');
        const version = param(c, 'version');
        const b = await jsonBody(c, ModelDeprecate, 'deprecation');
        transact(deps, () => {
          deps.store.models.deprecate(name, version, b.reason, deps.clock.now());
          audit(c, deps, 'model.deprecate', `${name}@${version}`, b.reason);
        });
        const { manifest: _m, signatures: _s, ...info } = deps.store.models.get(name, version);
        return info;
      },
    },
    {
      method: 'delete', path: '/models/:name/versions/:version', access: 'admin', query: ModelDeleteQuery, response: ModelDeleted,
      summary: 'Delete a version nothing refers to (?reason=): one pushed by mistake, never deployed, reported or measured; else 409 naming what refers to it (deprecate it instead)',
      async handler(c, deps) {
        const { name, version, reason } = removal(c, 'delete query');
        const { orphanBlob } = transact(deps, () => {
          const r = deleteVersion(deps.store.db, name, version);
          audit(c, deps, 'model.delete', `${name}@${version}`, reason, { bundleDeleted: r.orphanBlob !== null });
          return r;
        });
        deps.store.rollups.forget(name, version);
        if (orphanBlob) deps.store.blobs.removeFile(orphanBlob);
        return { name, version, bundleDeleted: orphanBlob !== null };
      },
    },
    {
      method: 'delete', path: '/models/:name/versions/:version/bundle', access: 'admin', query: ModelDeleteQuery, response: BundleDropped,
      summary: 'Drop a version\'s bundle, keeping its history (?reason=); 409 BUNDLE_IN_USE naming the devices, deployments, rollouts or shadows that run, are told to run or may roll back to it. Pushing the same bundle again restores it',
      async handler(c, deps) {
        const { name, version, reason } = removal(c, 'drop query');
        const by = actor(c).name;
        const at = deps.clock.now();
        const r = transact(deps, () => {
          const d = dropBundle(deps.store.db, deps.store.deployments, name, version, by, at);
          audit(c, deps, 'model.bundle_drop', `${name}@${version}`, reason, { bundleSha256: deps.store.models.get(name, version).bundle.sha256, freedBytes: d.freedBytes });
          return d;
        });
        // Another hub sharing the data dir may have pushed the same bytes again since the commit (docs/hub.md "Several hubs"): a whole version keeps the file.
        if (r.orphanBlob && !bundleWanted(deps.store.db, r.orphanBlob)) deps.store.blobs.removeFile(r.orphanBlob);
        return { name, version, freedBytes: r.freedBytes, at: at.toISOString(), by };
      },
    },
  ];
}
