// The desktop app's composition root (Electron main process): one window per hub profile, loading
// the console the hub serves. The profile's token stays here: it is added to the window's requests to
// that hub (never given to the page). Deep links (edgefleet://device/ID) open the device; a second
// instance hands its link to the first. A hub that cannot be opened (an unreadable profiles file, a
// token that does not decrypt, a console that did not load) opens the first-run window saying why
// (launch.ts); a profile is saved only once its hub accepted the token (hub-check.ts). Built with tsc; run
// with electron (not installed in CI: the logic is in window-options.ts, profiles.ts, launch.ts,
// ipc-handlers.ts, menu.ts and common/, unit-tested).
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, Menu, Notification, ipcMain, net, safeStorage, session, shell } from 'electron';
import { linkHash, type DeepLink } from '../common/deep-link.js';
import { NAVIGATE_CHANNEL, PROBLEM_CHANNEL } from '../common/ipc-channels.js';
import type { ProfileInfo } from '../common/ipc.js';
import { denyPermissions, guardContents, guardSession, windowOptions } from './window-options.js';
import { ProfileStore } from './profiles.js';
import { registerIpc } from './ipc-handlers.js';
import { menuTemplate } from './menu.js';
import { Notifier } from './notifier.js';
import { guardFirstRun, senderAllowed } from './first-run.js';
import { Launcher, linkArg, linkRefusals, type Problem } from './launch.js';
import { HubChecker } from './hub-check.js';

const here = dirname(fileURLToPath(import.meta.url));
const PRELOAD = join(here, '..', 'preload.cjs');
/** The first-run page, built by desktop/scripts/build-renderer.mjs next to the preload. */
const FIRST_RUN_URL = pathToFileURL(join(here, '..', 'first-run', 'index.html')).toString();
/** The open console windows by profile name, with the address and token each was opened with. */
const windows = new Map<string, { win: BrowserWindow; address: string; token: string }>();
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
    if (existing && !existing.win.isDestroyed()) {
      if (existing.address === p.address && existing.token === p.token) {
        if (link) existing.win.webContents.send(NAVIGATE_CHANNEL, linkHash(link));
        existing.win.focus();
        return;
      }
      // The profile was saved again (a new token or address): its window would go on with the old one.
      existing.win.destroy();
    }
    const ses = session.fromPartition(`persist:hub-${name}`);
    // The token is added by main to requests to this hub only (window-options.ts).
    guardSession(ses, origin, p.token);
    const win = new BrowserWindow({ ...windowOptions({ preload: PRELOAD, title: `edgefleet — ${name}` }), webPreferences: { ...windowOptions({ preload: PRELOAD }).webPreferences, session: ses } });
    guardContents(win.webContents, origin, (url) => { shell.openExternal(url).catch(() => undefined); });
    win.once('ready-to-show', () => win.show());
    // The first load failing (the hub down or moved) would leave a hidden, empty window: say why instead.
    let loaded = false;
    win.webContents.once('did-finish-load', () => { loaded = true; });
    win.webContents.on('did-fail-load', (_e, code, description, _url, mainFrame) => {
      if (loaded || !mainFrame || code === -3 /* ERR_ABORTED: replaced by another navigation */) return;
      win.destroy();
      launcher.loadFailed(p, description, code);
    });
    win.on('closed', () => { if (windows.get(name)?.win === win) windows.delete(name); });
    windows.set(name, { win, address: p.address, token: p.token });
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

  const notifier = new Notifier({
    show: (title, body, onClick) => {
      if (!Notification.isSupported()) return false;
      const n = new Notification({ title, body });
      n.on('click', onClick);
      n.show();
      return true;
    },
  });
  // A refused deep link is a notification through the notifier: a flood of them is rate-limited.
  // A second start without a link brings the window the operator used last to the front.
  const focusOpen = (): boolean => {
    const win = BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows().find((w) => !w.isDestroyed());
    if (!win) return false;
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
    return true;
  };
  const launcher = new Launcher(profiles, { openWindow, openFirstRun, refuseLink: linkRefusals(notifier), focusOpen });
  // The hub checks of the first-run page (hub-check.ts): Chromium's network stack, as the windows use.
  const checker = new HubChecker({ fetch: (url, init) => net.fetch(url, init) });
  app.on('before-quit', () => checker.stop());
  let rebuildMenu = (): void => undefined;
  registerIpc(ipcMain, {
    profiles,
    notifier,
    openProfile: (name) => { launcher.open(name); rebuildMenu(); },
    checkHub: (address, token) => checker.check(address, token),
    trustedSender: (url, ch) => senderAllowed(url, ch, origins(), FIRST_RUN_URL),
  }, (e, link) => {
    // A notification's click: the window that asked comes to the front, on the alert (if still open:
    // a destroyed sender's methods throw into the main process).
    if (e.sender.isDestroyed()) return;
    const win = BrowserWindow.fromWebContents(e.sender);
    if (!win || win.isDestroyed()) return;
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
    if (link) e.sender.send(NAVIGATE_CHANNEL, link);
  });
  app.on('second-instance', (_e, argv) => launcher.again(argv));
  app.on('open-url', (e, url) => { e.preventDefault(); launcher.link(url); });
  app.on('web-contents-created', (_e, wc) => wc.on('will-attach-webview', (ev) => ev.preventDefault()));
  app.on('window-all-closed', () => { if (process.platform !== 'darwin') app.quit(); });
  app.whenReady().then(() => {
    denyPermissions(session.defaultSession); // the first-run window's
    rebuildMenu = () => Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate({
      profiles: launcher.names(),
      openProfile: (n) => launcher.open(n),
      addHub: () => openFirstRun(null),
      navigate: (hash) => BrowserWindow.getFocusedWindow()?.webContents.send(NAVIGATE_CHANNEL, hash),
      reload: () => BrowserWindow.getFocusedWindow()?.webContents.reload(),
    })));
    launcher.start(linkArg(process.argv));
    rebuildMenu();
  }).catch((err: unknown) => { console.error(err); app.quit(); });
}

main();
