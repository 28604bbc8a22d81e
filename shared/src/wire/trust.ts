// Trust document (edgefleet.trust/v1) and bundle signatures file (docs/architecture.md section 4).
import { z } from 'zod';
import { Base64, IsoTime, KeyId, Sha256Hex, schemaTag, signedEnvelope, Signature } from './common.js';

export const Role = z.enum(['root', 'release', 'hub']);
export type Role = z.infer<typeof Role>;

export const RoleSpec = z.object({
  keyIds: z.array(KeyId).min(1, 'expected at least one key in the role'),
  threshold: z.number().int().positive(),
});
export type RoleSpec = z.infer<typeof RoleSpec>;

export const PublicKeyEntry = z.object({ alg: z.literal('ed25519'), public: Base64 });

export const TRUST_SCHEMA = 'edgefleet.trust/v1' as const;
export const TrustBody = z
  .object({
    schema: schemaTag(TRUST_SCHEMA),
    version: z.number().int().positive(),
    expires: IsoTime,
    keys: z.record(KeyId, PublicKeyEntry),
    roles: z.object({ root: RoleSpec, release: RoleSpec, hub: RoleSpec }),
  })
  .superRefine((t, ctx) => {
    for (const role of ['root', 'release', 'hub'] as const) {
      const spec = t.roles[role];
      if (spec.threshold > spec.keyIds.length) {
        ctx.addIssue({ code: 'custom', path: ['roles', role, 'threshold'], message: `threshold ${spec.threshold} exceeds the role's ${spec.keyIds.length} keys` });
      }
      spec.keyIds.forEach((k, i) => {
        if (!t.keys[k]) ctx.addIssue({ code: 'custom', path: ['roles', role, 'keyIds', i], message: `key ${k} has no public key in keys` });
      });
    }
  });
export type TrustBody = z.infer<typeof TrustBody>;
export const TrustDocument = signedEnvelope(TrustBody);
export type TrustDocument = z.infer<typeof TrustDocument>;

/**
 * The message on ef/v1/trust (retained) is the newest trust document with, in `chain`, the versions before
 * it the hub kept (at most TRUST_CHAIN_MAX, oldest first): an agent offline through rotations that each
 * replaced the root keys verifies each step from what it holds (docs/hub.md "Trust rotation"). An older
 * agent reads the document and ignores `chain` (the signatures cover `signed` only).
 */
export const TRUST_CHAIN_MAX = 16;

export const SIGNATURES_SCHEMA = 'edgefleet.signatures/v1' as const;
export const SignaturesFile = z.object({
  schema: schemaTag(SIGNATURES_SCHEMA),
  manifestSha256: Sha256Hex,
  signatures: z.array(Signature),
});
export type SignaturesFile = z.infer<typeof SignaturesFile>;
