// Signature checks in the console itself (docs/console.md "Signatures"): the hub's word that a model is
// signed is not taken. The trust document's root signatures are checked (and its root keys pinned on
// first sight, per hub, in this browser), then each bundle's manifest.json and signatures.json are read
// from the bundle's first bytes (bundles put them first) and a threshold of release signatures is
// checked over the canonical manifest (common/ed25519.ts). Mirrors shared/src/crypto/threshold.ts.
import { verifyEd25519 } from '../common/ed25519.js';
import { AppError, canonicalJson } from '@edgefleet/shared/browser';
import type { Signature, TrustBody, TrustDocument } from '@edgefleet/shared';
import { ANSWER_DEADLINE_MS } from './api.js';

const utf8 = new TextEncoder();

function b64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export interface ThresholdCheck {
  ok: boolean;
  valid: string[];
  invalid: string[];
  ignored: string[];
  threshold: number;
}

export function checkThreshold(trust: TrustBody, role: 'root' | 'release' | 'hub', bytes: Uint8Array, signatures: readonly Signature[]): ThresholdCheck {
  const spec = trust.roles[role];
  const inRole = new Set(spec.keyIds);
  const valid = new Set<string>();
  const invalid = new Set<string>();
  const ignored = new Set<string>();
  for (const s of signatures) {
    if (!inRole.has(s.keyId)) { ignored.add(s.keyId); continue; }
    const entry = trust.keys[s.keyId];
    let ok = false;
    try {
      const pub = entry ? b64(entry.public) : null;
      ok = s.alg === 'ed25519' && !!pub && pub.length === 32 && verifyEd25519(bytes, b64(s.sig), pub);
    } catch {
      ok = false;
    }
    if (ok) valid.add(s.keyId);
    else invalid.add(s.keyId);
  }
  for (const k of valid) invalid.delete(k);
  return { ok: valid.size >= spec.threshold, valid: [...valid], invalid: [...invalid], ignored: [...ignored], threshold: spec.threshold };
}

export interface TrustCheck {
  body: TrustBody;
  root: ThresholdCheck;
  expired: boolean;
  /** The root keys differ from the ones this browser saw first for this hub. */
  rootChanged: boolean;
}

const PIN_KEY = 'edgefleet.rootKeys';

/** Checks the trust document's root threshold and the pinned root keys (trust on first use). */
export function checkTrust(doc: TrustDocument, now = new Date()): TrustCheck {
  const body = doc.signed;
  const root = checkThreshold(body, 'root', utf8.encode(canonicalJson(body)), doc.signatures);
  const rootKeys = body.roles.root.keyIds.map((k) => body.keys[k]?.public ?? '').sort().join(',');
  let rootChanged = false;
  try {
    const pinned = localStorage.getItem(PIN_KEY);
    if (pinned === null && root.ok) localStorage.setItem(PIN_KEY, rootKeys);
    else if (pinned !== null && pinned !== rootKeys) rootChanged = true;
  } catch {
    /* storage off: no pin */
  }
  return { body, root, expired: Date.parse(body.expires) < now.getTime(), rootChanged };
}

/** Bytes read from a bundle's start before giving up on finding its manifest and signatures. */
export const MAX_HEAD_BYTES = 8 * 1024 * 1024;

/** Said when the head did not arrive in time once the answer had started (a hub or proxy that stalls mid-download). */
export const headLateText = (ms: number): string => `the hub started sending the bundle but its manifest and signatures did not arrive within ${ms / 1000} s ` +
  '(the hub, or a proxy in front of it, stalled mid-download)';

/**
 * manifest.json and signatures.json from the first entries of a bundle (ustar), without reading the rest; by
 * `deadlineMs` after the answer started or TIMEOUT (docs/console.md "Signatures": without it a stalled download
 * left the page checking until the stream's watchdog restarted it).
 */
export async function readBundleHead(body: ReadableStream<Uint8Array>, deadlineMs = ANSWER_DEADLINE_MS): Promise<{ manifest: unknown; signatures: { manifestSha256: string; signatures: Signature[] } }> {
  const reader = body.getReader();
  let buf = new Uint8Array(0);
  const found = new Map<string, string>();
  let pos = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new AppError('TIMEOUT', headLateText(deadlineMs))), deadlineMs); });
  late.catch(() => undefined); // raced below; unobserved when the head came in time
  try {
    while (found.size < 2) {
      if (buf.length >= pos + 512) {
        const h = buf.subarray(pos, pos + 512);
        if (h.every((b) => b === 0)) break;
        const name = new TextDecoder().decode(h.subarray(0, 100)).replace(/\0.*$/s, '');
        const size = parseInt(new TextDecoder().decode(h.subarray(124, 136)).replace(/\0.*$/s, '').trim(), 8);
        if (!Number.isFinite(size)) throw new AppError('BUNDLE_INVALID', 'bundle: bad tar header');
        const dataEnd = pos + 512 + size;
        if (name !== 'manifest.json' && name !== 'signatures.json') {
          if (found.size === 0 && pos > 0) break;
          pos = dataEnd + ((512 - (size % 512)) % 512);
          if (pos > MAX_HEAD_BYTES) break;
          continue;
        }
        if (buf.length >= dataEnd) {
          found.set(name, new TextDecoder().decode(buf.subarray(pos + 512, dataEnd)));
          pos = dataEnd + ((512 - (size % 512)) % 512);
          continue;
        }
      }
      if (buf.length > MAX_HEAD_BYTES) break;
      const { done, value } = await Promise.race([reader.read(), late]);
      if (done) break;
      const next = new Uint8Array(buf.length + value.length);
      next.set(buf);
      next.set(value, buf.length);
      buf = next;
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
  const m = found.get('manifest.json');
  const s = found.get('signatures.json');
  if (!m || !s) throw new AppError('BUNDLE_INVALID', 'bundle: manifest.json and signatures.json not found at its start');
  return { manifest: JSON.parse(m) as unknown, signatures: JSON.parse(s) as { manifestSha256: string; signatures: Signature[] } };
}

/** The release threshold over the bundle's own canonical manifest. */
export function checkBundle(trust: TrustBody, head: { manifest: unknown; signatures: { signatures: Signature[] } }): ThresholdCheck {
  return checkThreshold(trust, 'release', utf8.encode(canonicalJson(head.manifest)), head.signatures.signatures);
}
