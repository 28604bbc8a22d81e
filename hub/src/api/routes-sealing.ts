// Sealed models over REST (docs/security.md "Sealed models"): the content key of an encrypted version,
// given once by whoever packed it and kept wrapped by the hub's keystore; never returned by any route.
import { AppError, ContentKeyPut, ContentKeyStored, CONTENT_KEY_BYTES } from '@edgefleet/shared';
import { afterCommit, audit, actor, jsonBody, param, transact, type RouteDef } from './http.js';

export const sealingRoutes: RouteDef[] = [
  {
    method: 'put', path: '/models/:name/versions/:version/content-key', access: 'operator', maxBodyBytes: 1024,
    summary: 'Store the content key of an encrypted version (checked against its manifest); entitled devices get it sealed to their device key in their desired documents',
    body: ContentKeyPut, response: ContentKeyStored,
    async handler(c, deps) {
      const name = param(c, 'name');
      const version = param(c, 'version');
      const b = await jsonBody(c, ContentKeyPut, 'content key');
      const sealing = deps.sealing;
      if (!sealing) throw new AppError('NOT_READY', 'this hub does not hold content keys (no keystore)');
      const raw = Buffer.from(b.key, 'base64');
      let r: ReturnType<typeof sealing.putContentKey>;
      try { // the key's bytes are zeroed whatever the outcome (refused, unknown version, a failed write)
        if (raw.length !== CONTENT_KEY_BYTES) throw new AppError('INVALID_INPUT', `key: expected ${CONTENT_KEY_BYTES} bytes of base64, got ${raw.length}`);
        const v = deps.store.models.get(name, version);
        r = transact(deps, () => {
          const put = sealing.putContentKey(v.manifest, raw, actor(c).name, deps.clock.now());
          if (put.outcome === 'created') audit(c, deps, 'model.content_key', `${name}@${version}`, null, { keyId: put.keyId });
          return put;
        });
      } finally {
        raw.fill(0);
      }
      // Devices already assigned this version were sent no key: their documents are issued again.
      const resend = deps.resendVersion;
      if (r.outcome === 'created' && resend) await afterCommit(c, deps, 'model.content_key', `${name}@${version}`, 'publish desired state', () => resend(name, version));
      return { model: name, version, keyId: r.keyId, outcome: r.outcome };
    },
  },
];
