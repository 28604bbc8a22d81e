// The desktop app's composition root (Electron main process): one window per hub profile, loading
// the console the hub serves. The profile's token stays here: it is added to the window's requests to
// that hub (never given to the page). Deep links (edgefleet://device/ID) open the device; a second
// instance hands its link to the first. Built with tsc; run with electron (not installed in CI: the
// logic is in window-options.ts, profiles.ts, ipc-handlers.ts, menu.ts and common/, unit-tested).
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, Menu, Notification, ipcMain, safeStorage, session, shell } from 'electron';
import { parseDeepLink, linkHash, type DeepLink } from '../common/deep-link.js';
import { NAVIGATE_CHANNEL } from '../common/ipc-channels.js';
import { guardContents, windowOptions, withCsp } from './window-options.js';
import { ProfileStore } from './profiles.js';
import { registerIpc } from './ipc-handlers.js';
import { menuTemplate } from './menu.js';
import { Notifier } from './notifier.js';
import { guardFirstRun, senderAllowed } from './first-run.js';

const here = dirname(fileURLToPath(import.meta.url));
const PRELOAD = join(here, '..', 'preload.cjs');
/** The first-run page, built by desktop/scripts/build-renderer.mjs next to the preload. */
const FIRST_RUN_URL = pathToFileURL(join(here, '..', 'first-run', 'index.html')).toString();
const windows = new Map<string, BrowserWindow>();
let firstRun: BrowserWindow | null = null;

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
    if (firstRun && !firstRun.isDestroyed()) firstRun.close();
  };

  // A local page with a form for a hub's address and token (main/first-run.ts): at start without a
  // profile, and from the menu's "Add hub…".
  const openFirstRun = (): void => {
    if (firstRun && !firstRun.isDestroyed()) { firstRun.focus(); return; }
    const win = new BrowserWindow({ ...windowOptions({ preload: PRELOAD, title: 'edgefleet — add a hub' }), width: 560, height: 640 });
    guardFirstRun(win.webContents, FIRST_RUN_URL, (url) => { shell.openExternal(url).catch(() => undefined); });
    win.once('ready-to-show', () => win.show());
    win.on('closed', () => { firstRun = null; });
    firstRun = win;
    win.loadURL(FIRST_RUN_URL).catch(() => undefined);
  };

  const onLink = (raw: string): void => {
    try {
      const link = parseDeepLink(raw);
      const name = link.profile ?? profiles.list()[0]?.name;
      if (name) openProfile(name, link);
      else openFirstRun();
    } catch (err) {
      new Notification({ title: 'edgefleet: link refused', body: (err as Error).message }).show();
    }
  };

  const notifier = new Notifier({
    show: (title, body, onClick) => {
      if (!Notification.isSupported()) return false;
      const n = new Notification({ title, body });
      n.on('click', onClick);
      n.show();
      return true;
    },
  });
  let rebuildMenu = (): void => undefined;
  registerIpc(ipcMain, {
    profiles,
    notifier,
    openProfile: (name) => { openProfile(name); rebuildMenu(); },
    trustedSender: (url, ch) => senderAllowed(url, ch, origins(), FIRST_RUN_URL),
  }, (e, link) => {
    // A notification's click: the window that asked comes to the front, on the alert.
    const win = BrowserWindow.fromWebContents(e.sender);
    if (!win || win.isDestroyed()) return;
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
    if (link) e.sender.send(NAVIGATE_CHANNEL, link);
  });
  app.on('second-instance', (_e, argv) => { const l = argv.find((a) => a.startsWith('edgefleet://')); if (l) onLink(l); });
  app.on('open-url', (e, url) => { e.preventDefault(); onLink(url); });
  app.on('web-contents-created', (_e, wc) => wc.on('will-attach-webview', (ev) => ev.preventDefault()));
  app.on('window-all-closed', () => { if (process.platform !== 'darwin') app.quit(); });
  app.whenReady().then(() => {
    rebuildMenu = () => Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate({
      profiles: profiles.list().map((p) => p.name),
      openProfile: (n) => openProfile(n),
      addHub: () => openFirstRun(),
      navigate: (hash) => BrowserWindow.getFocusedWindow()?.webContents.send(NAVIGATE_CHANNEL, hash),
      reload: () => BrowserWindow.getFocusedWindow()?.webContents.reload(),
    })));
    rebuildMenu();
    const first = profiles.list()[0];
    const link = process.argv.find((a) => a.startsWith('edgefleet://'));
    if (link) onLink(link);
    else if (first) openProfile(first.name);
    else openFirstRun();
  }).catch((err: unknown) => { console.error(err); app.quit(); });
}

main();
