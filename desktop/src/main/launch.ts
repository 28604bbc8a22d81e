// Which window the desktop app opens, at start, from the menu and for deep links (docs/console.md
// "Desktop app"), with Electron behind ports so it is unit-tested. Nothing here may throw into the
// main process: a profiles file that is not one is moved aside (ProfileStore.setAsideIfUnreadable), and
// a profile that cannot be opened (its token does not decrypt, it is gone) opens the first-run window
// showing the error's code and message, where the operator adds the hub again (a save under the same
// name replaces the profile).
import { toAppError } from '@edgefleet/shared';
import { parseDeepLink, type DeepLink } from '../common/deep-link.js';
import type { ProfileInfo } from '../common/ipc.js';
import type { ProfileStore } from './profiles.js';
import type { Notifier } from './notifier.js';

/** Why a hub could not be opened, as the first-run page shows it. */
export interface Problem { code: string; message: string }

export interface LaunchPorts {
  /** Opens (or focuses) the console window of a profile whose token was decrypted. */
  openWindow(p: ProfileInfo & { token: string }, link: DeepLink | undefined): void;
  /** Opens (or focuses) the first-run window; `problem`, when given, is shown above its form. */
  openFirstRun(problem: Problem | null): void;
  /** A deep link that is not one of ours (said in a native notification). */
  refuseLink(message: string): void;
  /** Brings an open window (a console's or the first-run page) to the front; false when none is open. */
  focusOpen(): boolean;
}

/** The deep link among a program's arguments: the scheme in any case, as URL reads it (`EDGEFLEET://…`). */
export function linkArg(argv: readonly string[]): string | undefined {
  return argv.find((a) => /^edgefleet:\/\//i.test(a));
}

function problemOf(err: unknown): Problem {
  const e = toAppError(err);
  return { code: e.code, message: e.message };
}

export class Launcher {
  constructor(private readonly profiles: Pick<ProfileStore, 'list' | 'open' | 'setAsideIfUnreadable'>, private readonly ports: LaunchPorts) {}

  /** At start: a deep link, else the first saved hub, else the first-run window (with what went wrong). */
  start(rawLink: string | undefined, now = new Date()): void {
    const problem = this.profiles.setAsideIfUnreadable(now);
    if (problem) { this.ports.openFirstRun(problemOf(problem)); return; }
    if (rawLink) { this.link(rawLink); return; }
    const first = this.names()[0];
    if (first) this.open(first);
    else this.ports.openFirstRun(null);
  }

  /** The saved hubs' names, for the menu; none when the file cannot be read (the error shows on open). */
  names(): string[] {
    try { return this.profiles.list().map((p) => p.name); } catch { return []; }
  }

  /** Opens a saved hub (the menu, the first-run page, a deep link); false when it could not be opened. */
  open(name: string, link?: DeepLink): boolean {
    try {
      this.ports.openWindow(this.profiles.open(name), link);
      return true;
    } catch (err) {
      this.ports.openFirstRun(problemOf(err));
      return false;
    }
  }

  /**
   * A console window whose page did not load (the hub is down, its address changed, a certificate the
   * system does not trust): the window is closed by main and the first-run page says why, so the app is
   * never left with an empty, hidden window.
   */
  loadFailed(p: ProfileInfo, error: string, code: number): void {
    this.ports.openFirstRun({
      code: 'IO_ERROR',
      message: `hub profile "${p.name}": the console at ${p.address} did not load (${error.slice(0, 200)}, ${code}): check that the hub is running and reachable from this machine, then open it from the Hub menu, or add it again under the name "${p.name}" with its new address`,
    });
  }

  /**
   * The app started again while running (Electron's second-instance, with that start's arguments): its
   * link opens here; without one the window already open comes to the front, or what a first start opens.
   */
  again(argv: readonly string[]): void {
    const raw = linkArg(argv);
    if (raw) this.link(raw);
    else if (!this.ports.focusOpen()) this.start(undefined);
  }

  /** An edgefleet:// link: its profile's window (the first saved hub's without one) opens on it. */
  link(raw: string): void {
    let link: DeepLink;
    try { link = parseDeepLink(raw); } catch (err) { this.ports.refuseLink(toAppError(err).message); return; }
    const name = link.profile ?? this.names()[0];
    if (name) this.open(name, link);
    else this.ports.openFirstRun(null);
  }
}

/**
 * How main says a deep link was refused: a native notification through the notifier (main/notifier.ts),
 * so a program sending a flood of bad links shows at most its rate, the rest counted.
 */
export function linkRefusals(notifier: Pick<Notifier, 'notify'>): (message: string) => void {
  return (message) => { notifier.notify({ title: 'edgefleet: link refused', body: message.slice(0, 1000) }, () => undefined, 'deep-link'); };
}
