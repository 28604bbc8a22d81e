// The application menu: hub profiles and "Add hub…", view shortcuts (the renderer's keys 1–7 as accelerators), and
// the usual edit/window roles. A pure function of its actions, so it is testable without Electron.
import type { MenuItemConstructorOptions } from 'electron';

export interface MenuActions {
  profiles: string[];
  openProfile(name: string): void;
  /** Opens the first-run window to add a hub profile. */
  addHub(): void;
  navigate(hash: string): void;
  reload(): void;
}

export function menuTemplate(a: MenuActions, platform: NodeJS.Platform = process.platform): MenuItemConstructorOptions[] {
  const view = (label: string, hash: string, key: string): MenuItemConstructorOptions => ({ label, accelerator: `CmdOrCtrl+${key}`, click: () => a.navigate(hash) });
  return [
    ...(platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'Hub',
      submenu: [
        ...(a.profiles.length ? a.profiles.map((name) => ({ label: name, click: () => a.openProfile(name) })) : [{ label: 'No saved hubs', enabled: false }]),
        { type: 'separator' },
        { label: 'Add hub…', click: () => a.addHub() },
        { label: 'Reload', accelerator: 'CmdOrCtrl+R', click: () => a.reload() },
        ...(platform === 'darwin' ? [] : [{ role: 'quit' as const }]),
      ],
    },
    { role: 'editMenu' },
    { label: 'View', submenu: [view('Fleet', '#/fleet', '1'), view('Models', '#/models', '2'), view('Deployments', '#/deployments', '3'), view('Audit log', '#/audit', '4'), view('Rollouts', '#/rollouts', '5'), view('Drift', '#/drift', '6'), view('Alerts', '#/alerts', '7'), { type: 'separator' }, { role: 'togglefullscreen' }] },
    { role: 'windowMenu' },
  ];
}
