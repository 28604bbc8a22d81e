// The console's views in the menu, one list for the page's menu and keys (renderer/routes.tsx) and the
// desktop app's View menu accelerators (main/menu.ts): a view added here is in both.

export interface MenuView {
  /** The menu entry highlighted while one of its views is open. */
  section: string;
  label: string;
  href: string;
  /** The key that opens it in the page (Ctrl/Cmd + the key in the desktop app). */
  key: string;
}

export const MENU_VIEWS: readonly MenuView[] = [
  { section: 'fleet', label: 'Fleet', href: '#/fleet', key: '1' },
  { section: 'models', label: 'Models', href: '#/models', key: '2' },
  { section: 'deployments', label: 'Deployments', href: '#/deployments', key: '3' },
  { section: 'audit', label: 'Audit log', href: '#/audit', key: '4' },
  { section: 'rollouts', label: 'Rollouts', href: '#/rollouts', key: '5' },
  { section: 'drift', label: 'Drift', href: '#/drift', key: '6' },
  { section: 'alerts', label: 'Alerts', href: '#/alerts', key: '7' },
  { section: 'captures', label: 'Captures', href: '#/captures', key: '8' },
];

/** The menu entry of a section (throws for a section not in MENU_VIEWS: a typo in the route table). */
export function menuView(section: string): MenuView {
  const v = MENU_VIEWS.find((m) => m.section === section);
  if (!v) throw new Error(`no menu view "${section}": expected one of ${MENU_VIEWS.map((m) => m.section).join(', ')}`);
  return v;
}
