// Hub profiles (a name, the hub's address and an API token), kept by the main process only: tokens are
// encrypted with Electron's safeStorage (the OS keychain / libsecret / DPAPI) before they touch disk,
// and never sent to the renderer. The cipher is injected so the store is unit-tested without Electron.
// Refuses to store a token when the OS offers no encryption, rather than write it in the clear.
// A file that is not a profiles file is refused with CONFIG_INVALID naming it (setAsideIfUnreadable
// moves it aside at start), a token that does not decrypt with DECRYPT_FAILED naming the profile:
// main then shows the first-run page with the error (docs/console.md "Desktop app").
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { z } from 'zod';
import { AppError, toAppError, writeFileAtomic } from '@edgefleet/shared';
import { HubAddress, ProfileName, type ProfileInfo } from '../common/ipc.js';

/** The part of Electron's safeStorage the store needs. */
export interface SecretCipher {
  isEncryptionAvailable(): boolean;
  encryptString(plain: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

const SCHEMA = 'edgefleet.desktop-profiles/v1';
const StoredFile = z.object({
  schema: z.literal(SCHEMA),
  profiles: z.array(z.object({ name: ProfileName, address: HubAddress, token: z.string().min(1) })),
});
type StoredFile = z.infer<typeof StoredFile>;

export const MAX_PROFILES = 50;

export class ProfileStore {
  constructor(private readonly file: string, private readonly cipher: SecretCipher) {}

  private read(): StoredFile {
    if (!existsSync(this.file)) return { schema: SCHEMA, profiles: [] };
    const text = readFileSync(this.file, 'utf8');
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      throw new AppError('CONFIG_INVALID', `${this.file}: not an edgefleet profiles file (not JSON: ${(err as Error).message})`, { cause: err });
    }
    const r = StoredFile.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new AppError('CONFIG_INVALID', `${this.file}: not an edgefleet profiles file (expected schema ${SCHEMA}; ${i?.path.join('.') || 'file'}: ${i?.message ?? 'invalid'})`);
    }
    return r.data;
  }

  private write(f: StoredFile): void {
    writeFileAtomic(this.file, `${JSON.stringify(f, null, 2)}\n`, 0o600);
  }

  /**
   * At start: a file that is not a profiles file (CONFIG_INVALID) is renamed to
   * `profiles.json.unreadable-TIME` (kept for the operator, never deleted), so the app starts without
   * it and new profiles can be saved. Returns what happened, or null when the file reads (or is absent).
   * Other errors (a file that cannot be read at all) are returned and the file is left in place.
   */
  setAsideIfUnreadable(now = new Date()): AppError | null {
    try {
      this.read();
      return null;
    } catch (err) {
      const e = toAppError(err);
      if (e.code !== 'CONFIG_INVALID') return e;
      const aside = `${this.file}.unreadable-${now.toISOString().replace(/[:.]/g, '-')}`;
      renameSync(this.file, aside);
      return new AppError('CONFIG_INVALID', `${e.message}. It was kept as ${aside}; the saved hubs in it are not loaded: add them again`, { cause: err });
    }
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
    let token: string;
    try {
      // safeStorage throws when the keyring changed or is locked, or the file came from another machine.
      token = this.cipher.decryptString(Buffer.from(p.token, 'base64'));
    } catch (err) {
      throw new AppError('DECRYPT_FAILED', `hub profile "${name}" (${p.address}): its token could not be decrypted with this system's secret storage (${(err as Error).message}); add the hub again under the name "${name}" to replace it`, { cause: err });
    }
    return { name: p.name, address: p.address, token };
  }
}
