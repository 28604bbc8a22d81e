// The desktop app's bridge (desktop/src/preload), present only when the console runs in the Electron
// shell: its main process holds the token, opens deep links, and shows native notifications. The
// renderer asks for one notification per alert that fires while it is open (the main process dedupes
// and rate-limits again: desktop/src/main/notifier.ts).
import type { Alert } from '@edgefleet/shared';

export interface DesktopBridge {
  onNavigate(fn: (hash: string) => void): void;
  notify?(title: string, body: string, key?: string, link?: string): Promise<unknown>;
}

export function desktopBridge(): DesktopBridge | undefined {
  return (globalThis as { edgefleetDesktop?: DesktopBridge }).edgefleetDesktop;
}

/** Alert ids already handed to the bridge (the newest MAX_NOTIFIED; older ones are forgotten). */
const notified = new Set<number>();
const MAX_NOTIFIED = 1000;

/** Asks the desktop app to show a native notification for an alert that just fired (once per alert). */
export function notifyAlertFired(a: Alert): void {
  const bridge = desktopBridge();
  if (!bridge?.notify || a.state !== 'firing' || notified.has(a.id)) return;
  notified.add(a.id);
  if (notified.size > MAX_NOTIFIED) notified.delete(notified.values().next().value as number);
  const value = a.value === null ? 'no value' : `${round(a.value)} (threshold ${round(a.threshold)})`;
  const title = `${a.severity === 'critical' ? 'Critical' : 'Alert'}: ${a.rule}`.slice(0, 120);
  const body = `${a.metric} on ${a.key}: ${value}`.slice(0, 1000);
  bridge.notify(title, body, `alert:${a.id}`, `#/alerts/${a.id}`).catch(() => undefined);
}

function round(n: number): string {
  return String(Number(n.toPrecision(3)));
}
