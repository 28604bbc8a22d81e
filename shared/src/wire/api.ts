// REST bodies and responses of the hub's /api/v1 (issue 4): roles, the error body, a device's facts and
// the reason an action carries, enrollment and device credentials, API tokens. Devices, the registry and
// the audit log have theirs beside it (api-devices.ts, api-models.ts, api-audit.ts). The OpenAPI
// document is generated from these schemas; the CLI and the agent's enroll command parse responses with
// them too.
import { z } from 'zod';
import { DevicePublicKey } from './sealed.js';
import { Count, DeviceId, IsoTime, SemVer, Tags, schemaTag } from './common.js';
import { TrustDocument } from './trust.js';
import { NotFoundKind } from './not-found.js';

export const ApiRole = z.enum(['viewer', 'operator', 'admin']);
export type ApiRole = z.infer<typeof ApiRole>;

// `details` differs by code; a NOT_FOUND for a missing thing always has NotFoundDetails (not-found.ts).
const ERROR_DETAILS = 'What the code is about, for programs; its shape depends on the code. NOT_FOUND for a missing thing: '
  + `{kind, id, ids?}, kind one of ${NotFoundKind.options.join(', ')}; id the one asked for (NAME@VERSION for model_version `
  + 'and config_version), ids the first 100 missing when several were asked for.';

export const ApiErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional().describe(ERROR_DETAILS) }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;

export const DeviceFacts = z.object({
  os: z.string().min(1).max(64),
  arch: z.string().min(1).max(32),
  cpus: z.number().int().positive(),
  memoryMb: z.number().int().nonnegative(),
  agentVersion: SemVer,
});
export type DeviceFacts = z.infer<typeof DeviceFacts>;

/** A reason is required for actions that change what a device may do. */
export const Reason = z.string().trim().min(1, 'expected a reason').max(1000);

// --- enrollment ---------------------------------------------------------------
export const EnrollmentTokenCreate = z.object({
  tags: Tags.default({}),
  ttlSec: z.number().int().positive().max(366 * 86400).default(86400),
  maxUses: z.number().int().positive().max(1_000_000).default(1),
  note: z.string().max(200).optional(),
}).strict();
export type EnrollmentTokenCreate = z.infer<typeof EnrollmentTokenCreate>;

export const EnrollmentTokenInfo = z.object({
  id: z.string(),
  tags: Tags,
  expires: IsoTime,
  maxUses: Count,
  uses: Count,
  created: IsoTime,
  createdBy: z.string(),
  note: z.string().nullable(),
  /** When and by whom it was revoked (POST /enrollment-tokens/{id}/revoke); null while it may enroll. */
  revoked: z.object({ at: IsoTime, by: z.string() }).nullable(),
});
export type EnrollmentTokenInfo = z.infer<typeof EnrollmentTokenInfo>;
/** GET /enrollment-tokens: a page, newest first; `next` is the cursor to pass as `?before=` for the older page (CreatedCursor), null after the last. */
export const EnrollmentTokenList = z.object({ tokens: z.array(EnrollmentTokenInfo), next: z.string().nullable() });
export type EnrollmentTokenList = z.infer<typeof EnrollmentTokenList>;
/** POST /enrollment-tokens/{id}/revoke: the token stops enrolling at once; the reason goes to the audit log. */
export const EnrollmentTokenRevoke = z.object({ reason: Reason }).strict();
export const EnrollmentTokenCreated = EnrollmentTokenInfo.extend({ token: z.string() });
export type EnrollmentTokenCreated = z.infer<typeof EnrollmentTokenCreated>;

export const EnrollRequest = z.object({
  token: z.string().min(1, 'expected the enrollment token'),
  deviceId: DeviceId.optional(),
  facts: DeviceFacts,
  /** The box's X25519 public key for sealed models (docs/security.md "Sealed models"). */
  deviceKey: DevicePublicKey.optional(),
});
export type EnrollRequest = z.infer<typeof EnrollRequest>;

/** What a device needs to connect: written by `edgefleet-agent enroll` and by `edgefleet devices add`. */
export const CREDENTIALS_SCHEMA = 'edgefleet.credentials/v1' as const;
export const DeviceCredentials = z.object({
  schema: schemaTag(CREDENTIALS_SCHEMA),
  deviceId: DeviceId,
  secret: z.string().min(16),
  brokers: z.array(z.string().url()).min(1, 'expected at least one broker URL'),
  trust: TrustDocument,
});
export type DeviceCredentials = z.infer<typeof DeviceCredentials>;

// --- api tokens --------------------------------------------------------------------
export const TokenCreate = z.object({ name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'expected a token name of letters, digits, ".", "_", "@" or "-"'), role: ApiRole }).strict();
export type TokenCreate = z.infer<typeof TokenCreate>;
export const TokenInfo = z.object({ id: z.string(), name: z.string(), role: ApiRole, created: IsoTime, createdBy: z.string(), revoked: z.boolean() });
export type TokenInfo = z.infer<typeof TokenInfo>;
/** GET /tokens: a page, newest first, paged as GET /enrollment-tokens. */
export const TokenList = z.object({ tokens: z.array(TokenInfo), next: z.string().nullable() });
export type TokenList = z.infer<typeof TokenList>;
export const TokenCreated = TokenInfo.extend({ token: z.string() });
export type TokenCreated = z.infer<typeof TokenCreated>;

