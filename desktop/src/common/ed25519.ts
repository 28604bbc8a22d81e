// Ed25519 signature verification for the console's own signature checks (docs/console.md "Signatures";
// desktop/src/renderer/verify.ts), by @noble/ed25519 with @noble/hashes' SHA-512: audited, dependency
// free, and small in the renderer bundle (decision 0108). It replaced tweetnacl there: 32.6 KiB of boxes,
// secret boxes, key generation and signing the console never used (docs/console.md "Building").
// RFC 8032's strict branch ({ zip215: false }): an S not below L, a point not encoded in its canonical
// form and a small-order key are refused; a bundle signed by `edgefleet` keys verifies as the hub's and
// the agent's check (shared/src/crypto/threshold.ts) verifies it. WebCrypto is not used: crypto.subtle
// exists only in a secure context, and a hub is often reached over plain HTTP on a LAN address.
import { hashes, verify } from '@noble/ed25519';
import { sha512 as nobleSha512 } from '@noble/hashes/sha2.js';

hashes.sha512 = nobleSha512;

/** SHA-512 of bytes (FIPS 180-4). */
export function sha512(bytes: Uint8Array): Uint8Array {
  return nobleSha512(bytes);
}

/** True when sig is a valid Ed25519 signature of message by publicKey; false for anything else,
 *  wrong lengths included (never throws). */
export function verifyEd25519(message: Uint8Array, sig: Uint8Array, publicKey: Uint8Array): boolean {
  if (sig.length !== 64 || publicKey.length !== 32) return false;
  try {
    return verify(sig, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
