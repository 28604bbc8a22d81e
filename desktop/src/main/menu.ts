// The application menu: hub profiles and "Add hub…", view shortcuts (the page's view keys as accelerators, common/views.ts), and
// the usual edit/window roles. A pure function of its actions, so it is testable without Electron.
import type { MenuItemConstructorOptions } from 'electron';
import { MENU_VIEWS } from '../common/views.js';

export interface MenuActions {
  profiles: string[];
  openProfile(name: string): void;
  /** Opens the first-run window to add a hub profile. */
  addHub(): void;
  navigate(hash: string): void;
  reload(): void;
}

export function menuTemplate(a: MenuActions, platform: NodeJS.Platform = process.platform): MenuItemConstructorOptions[] {
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
    { label: 'View', submenu: [...MENU_VIEWS.map((v): MenuItemConstructorOptions => ({ label: v.label, accelerator: `CmdOrCtrl+${v.key}`, click: () => a.navigate(v.href) })), { type: 'separator' }, { role: 'togglefullscreen' }] },
    { role: 'windowMenu' },
  ];
}
