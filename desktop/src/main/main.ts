// The desktop app's composition root (Electron main process): one window per hub profile, loading
// the console the hub serves. The profile's token stays here: it is added to the window's requests to
// that hub (never given to the page). Deep links (edgefleet://device/ID) open the device; a second
// instance hands its link to the first. Built with tsc; run with electron (not installed in CI: the
// logic is in window-options.ts, profiles.ts, ipc-handlers.ts, menu.ts and common/, unit-tested).
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, Menu, Notification, ipcMain, safeStorage, session, shell } from 'electron';
import { parseDeepLink, linkHash, type DeepLink } from '../common/deep-link.js';
import { NAVIGATE_CHANNEL } from '../common/ipc-channels.js';
import { guardContents, sameOrigin, windowOptions, withCsp } from './window-options.js';
import { ProfileStore } from './profiles.js';
import { registerIpc } from './ipc-handlers.js';
import { menuTemplate } from './menu.js';

const here = dirname(fileURLToPath(import.meta.url));
const PRELOAD = join(here, '..', 'preload.cjs');
const windows = new Map<string, BrowserWindow>();

function main(): void {
  if (!app.requestSingleInstanceLock()) { app.quit(); return; }
  app.setAsDefaultProtocolClient('edgefleet');
  const profiles = new ProfileStore(join(app.getPath('userData'), 'profiles.json'), safeStorage);
  const origins = () => profiles.list().map((p) => new URL(p.address).origin);

  const openProfile = (name: string, link?: DeepLink): void => {
    const p = profiles.open(name);
    const origin = new URL(p.address).origin;
    const existing = windows.get(name);
    if (existing && !existing.isDestroyed()) {
      if (link) existing.webContents.send(NAVIGATE_CHANNEL, linkHash(link));
      existing.focus();
      return;
    }
    const ses = session.fromPartition(`persist:hub-${name}`);
    // The token is added by main to requests to this hub only.
    ses.webRequest.onBeforeSendHeaders({ urls: [`${origin}/*`] }, (d, cb) => cb({ requestHeaders: { ...d.requestHeaders, Authorization: `Bearer ${p.token}` } }));
    ses.webRequest.onHeadersReceived({ urls: [`${origin}/*`] }, (d, cb) => cb({ responseHeaders: withCsp(d.responseHeaders) }));
    ses.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
    const win = new BrowserWindow({ ...windowOptions({ preload: PRELOAD, title: `edgefleet — ${name}` }), webPreferences: { ...windowOptions({ preload: PRELOAD }).webPreferences, session: ses } });
    guardContents(win.webContents, origin, (url) => { shell.openExternal(url).catch(() => undefined); });
    win.once('ready-to-show', () => win.show());
    win.on('closed', () => windows.delete(name));
    windows.set(name, win);
    win.loadURL(`${origin}/${link ? linkHash(link) : '#/fleet'}`).catch(() => undefined);
  };

  const onLink = (raw: string): void => {
    try {
      const link = parseDeepLink(raw);
      const name = link.profile ?? profiles.list()[0]?.name;
      if (name) openProfile(name, link);
    } catch (err) {
      new Notification({ title: 'edgefleet: link refused', body: (err as Error).message }).show();
    }
  };

  registerIpc(ipcMain, {
    profiles,
    notifications: { show: (title, body) => { if (!Notification.isSupported()) return false; new Notification({ title, body }).show(); return true; } },
    openProfile: (name) => openProfile(name),
    trustedSender: (url) => origins().some((o) => sameOrigin(url, o)),
  });
  app.on('second-instance', (_e, argv) => { const l = argv.find((a) => a.startsWith('edgefleet://')); if (l) onLink(l); });
  app.on('open-url', (e, url) => { e.preventDefault(); onLink(url); });
  app.on('web-contents-created', (_e, wc) => wc.on('will-attach-webview', (ev) => ev.preventDefault()));
  app.on('window-all-closed', () => { if (process.platform !== 'darwin') app.quit(); });
  app.whenReady().then(() => {
    const rebuild = () => Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate({
      profiles: profiles.list().map((p) => p.name),
      openProfile: (n) => openProfile(n),
      navigate: (hash) => BrowserWindow.getFocusedWindow()?.webContents.send(NAVIGATE_CHANNEL, hash),
      reload: () => BrowserWindow.getFocusedWindow()?.webContents.reload(),
    })));
    rebuild();
    const first = profiles.list()[0];
    const link = process.argv.find((a) => a.startsWith('edgefleet://'));
    if (link) onLink(link);
    else if (first) openProfile(first.name);
  }).catch((err: unknown) => { console.error(err); app.quit(); });
}

main();
