// The desktop app's composition root (Electron main process): one window per hub profile, loading
// the console the hub serves. The profile's token stays here: it is added to the window's requests to
// that hub (never given to the page). Deep links (edgefleet://device/ID) open the device; a second
// instance hands its link to the first. A hub that cannot be opened (an unreadable profiles file, a
// token that does not decrypt) opens the first-run window saying why (launch.ts). Built with tsc; run
// with electron (not installed in CI: the logic is in window-options.ts, profiles.ts, launch.ts,
// ipc-handlers.ts, menu.ts and common/, unit-tested).
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, Menu, Notification, ipcMain, safeStorage, session, shell } from 'electron';
import { linkHash, type DeepLink } from '../common/deep-link.js';
import { NAVIGATE_CHANNEL, PROBLEM_CHANNEL } from '../common/ipc-channels.js';
import type { ProfileInfo } from '../common/ipc.js';
import { guardContents, windowOptions, withCsp } from './window-options.js';
import { ProfileStore } from './profiles.js';
import { registerIpc } from './ipc-handlers.js';
import { menuTemplate } from './menu.js';
import { Notifier } from './notifier.js';
import { guardFirstRun, senderAllowed } from './first-run.js';
import { Launcher, type Problem } from './launch.js';

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
  let firstRunProblem: Problem | null = null;

  const openWindow = (p: ProfileInfo & { token: string }, link: DeepLink | undefined): void => {
    const { name } = p;
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
  // profile, from the menu's "Add hub…", and when a saved hub could not be opened (it shows why).
  const openFirstRun = (problem: Problem | null): void => {
    firstRunProblem = problem;
    if (firstRun && !firstRun.isDestroyed()) {
      if (problem) firstRun.webContents.send(PROBLEM_CHANNEL, problem);
      firstRun.focus();
      return;
    }
    const win = new BrowserWindow({ ...windowOptions({ preload: PRELOAD, title: 'edgefleet — add a hub' }), width: 560, height: 640 });
    guardFirstRun(win.webContents, FIRST_RUN_URL, (url) => { shell.openExternal(url).catch(() => undefined); });
    win.once('ready-to-show', () => win.show());
    // After load, so the page's listener (first-run.ts) is registered.
    win.webContents.on('did-finish-load', () => { if (firstRunProblem) win.webContents.send(PROBLEM_CHANNEL, firstRunProblem); });
    win.on('closed', () => { firstRun = null; });
    firstRun = win;
    win.loadURL(FIRST_RUN_URL).catch(() => undefined);
  };

  const launcher = new Launcher(profiles, {
    openWindow,
    openFirstRun,
    refuseLink: (message) => new Notification({ title: 'edgefleet: link refused', body: message }).show(),
  });

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
    openProfile: (name) => { launcher.open(name); rebuildMenu(); },
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
  app.on('second-instance', (_e, argv) => { const l = argv.find((a) => a.startsWith('edgefleet://')); if (l) launcher.link(l); });
  app.on('open-url', (e, url) => { e.preventDefault(); launcher.link(url); });
  app.on('web-contents-created', (_e, wc) => wc.on('will-attach-webview', (ev) => ev.preventDefault()));
  app.on('window-all-closed', () => { if (process.platform !== 'darwin') app.quit(); });
  app.whenReady().then(() => {
    rebuildMenu = () => Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate({
      profiles: launcher.names(),
      openProfile: (n) => launcher.open(n),
      addHub: () => openFirstRun(null),
      navigate: (hash) => BrowserWindow.getFocusedWindow()?.webContents.send(NAVIGATE_CHANNEL, hash),
      reload: () => BrowserWindow.getFocusedWindow()?.webContents.reload(),
    })));
    launcher.start(process.argv.find((a) => a.startsWith('edgefleet://')));
    rebuildMenu();
  }).catch((err: unknown) => { console.error(err); app.quit(); });
}

main();
