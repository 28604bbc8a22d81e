// Hub profiles (a name, the hub's address and an API token), kept by the main process only: tokens are
// encrypted with Electron's safeStorage (the OS keychain / libsecret / DPAPI) before they touch disk,
// and never sent to the renderer. The cipher is injected so the store is unit-tested without Electron.
// Refuses to store a token when the OS offers no encryption, rather than write it in the clear.
import { existsSync, readFileSync } from 'node:fs';
import { AppError, writeFileAtomic } from '@edgefleet/shared';
import type { ProfileInfo } from '../common/ipc.js';

/** The part of Electron's safeStorage the store needs. */
export interface SecretCipher {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

interface StoredProfile { name: string; address: string; token: string }
interface StoredFile { schema: 'edgefleet.desktop-profiles/v1'; profiles: StoredProfile[] }

export const MAX_PROFILES = 50;

export class ProfileStore {
  constructor(private readonly file: string, private readonly cipher: SecretCipher) {}

  private read(): StoredFile {
    if (!existsSync(this.file)) return { schema: 'edgefleet.desktop-profiles/v1', profiles: [] };
    const f = JSON.parse(readFileSync(this.file, 'utf8')) as StoredFile;
    if (f.schema !== 'edgefleet.desktop-profiles/v1' || !Array.isArray(f.profiles)) {
      throw new AppError('CONFIG_INVALID', `${this.file}: not an edgefleet profiles file (expected schema edgefleet.desktop-profiles/v1)`);
    }
    return f;
  }

  private write(f: StoredFile): void {
    writeFileAtomic(this.file, `${JSON.stringify(f, null, 2)}\n`, 0o600);
  }

  list(): ProfileInfo[] {
    return this.read().profiles.map(({ name, address }) => ({ name, address }));
  }

  save(p: ProfileInfo & { token: string }): void {
    if (!this.cipher.isEncryptionAvailable()) {
      throw new AppError('NOT_READY', 'this system offers no secret storage (safeStorage): the token is not saved; on Linux, run a keyring (gnome-keyring or kwallet)');
    }
    const f = this.read();
    const rest = f.profiles.filter((x) => x.name !== p.name);
    if (rest.length >= MAX_PROFILES) throw new AppError('CONFLICT', `at most ${MAX_PROFILES} hub profiles; remove one first`);
    rest.push({ name: p.name, address: p.address, token: this.cipher.encryptString(p.token).toString('base64') });
    this.write({ ...f, profiles: rest });
  }

  remove(name: string): boolean {
    const f = this.read();
    const rest = f.profiles.filter((x) => x.name !== name);
    if (rest.length === f.profiles.length) return false;
    this.write({ ...f, profiles: rest });
    return true;
  }

  /** The profile with its token decrypted (main process only). */
  open(name: string): ProfileInfo & { token: string } {
    const p = this.read().profiles.find((x) => x.name === name);
    if (!p) throw new AppError('NOT_FOUND', `no hub profile "${name}"`);
    return { name: p.name, address: p.address, token: this.cipher.decryptString(Buffer.from(p.token, 'base64')) };
  }
}
