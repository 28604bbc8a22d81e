// The console's route table: one entry per view, matched against the address hash. A new view is one
// entry here; `menu(section)` puts it in the menu with its key (common/views.ts, shared with the desktop menu).
import type { VNode } from 'preact';
import { FleetView } from './views/fleet.js';
import { lazyView } from './ui/lazy.js';
import { menuView } from '../common/views.js';

// The fleet view, where the console opens, is in app.js; every other view's code is fetched after it is drawn, or when first opened
// (ui/lazy.tsx, docs/decisions/0190-views-load-in-chunks.md).
const DeviceView = lazyView('the device view', () => import('./views/device.js').then((m) => m.DeviceView));
const ModelsView = lazyView('the models view', () => import('./views/models.js').then((m) => m.ModelsView));
const DeploymentsView = lazyView('the deployments view', () => import('./views/deployments.js').then((m) => m.DeploymentsView));
const AuditView = lazyView('the audit log', () => import('./views/audit.js').then((m) => m.AuditView));
const DriftView = lazyView('the drift view', () => import('./views/drift.js').then((m) => m.DriftView));
const AlertsView = lazyView('the alerts view', () => import('./views/alerts.js').then((m) => m.AlertsView));
const RolloutsView = lazyView('the rollouts view', () => import('./views/rollouts.js').then((m) => m.RolloutsView));
const RolloutCreateView = lazyView('the rollout form', () => import('./views/rollout-create.js').then((m) => m.RolloutCreateView));
const ConfigRolloutCreateView = lazyView('the configuration rollout form', () => import('./views/rollout-config-create.js').then((m) => m.ConfigRolloutCreateView));
const CapturesView = lazyView('the captures view', () => import('./views/captures.js').then((m) => m.CapturesView));

export interface ViewRoute {
  pattern: RegExp;
  /** Menu label; absent for detail views. */
  nav?: string;
  /** The menu entry highlighted while this view is open. */
  section: string;
  href?: string;
  key?: string;
  /**
   * Routes with the same `keep` stay one mounted view while the address moves between them (a paged list
   * and its selected row: the older pages loaded stay shown); the view keys the selected row's panel by its id.
   */
  keep?: string;
  /** What the page's title names for a detail view, before its params (`Device` dev-a); a menu view's is its menu label. */
  title?: string;
  render(params: string[]): VNode;
}

const dec = (s: string | undefined) => decodeURIComponent(s ?? '');
const menu = (section: string) => { const v = menuView(section); return { nav: v.label, section, href: v.href, key: v.key }; };

export const ROUTES: ViewRoute[] = [
  { pattern: /^#\/(fleet)?$/, ...menu('fleet'), render: () => <FleetView /> },
  { pattern: /^#\/devices\/([^/]+)$/, section: 'fleet', title: 'Device', render: (p) => <DeviceView id={dec(p[0])} /> },
  { pattern: /^#\/models$/, ...menu('models'), render: () => <ModelsView /> },
  { pattern: /^#\/models\/([^/]+)$/, section: 'models', title: 'Model', render: (p) => <ModelsView name={dec(p[0])} /> },
  { pattern: /^#\/models\/([^/]+)\/([^/]+)$/, section: 'models', title: 'Model', render: (p) => <ModelsView name={dec(p[0])} version={dec(p[1])} /> },
  { pattern: /^#\/deployments$/, ...menu('deployments'), render: () => <DeploymentsView /> },
  { pattern: /^#\/deployments\/(\d+)$/, section: 'deployments', title: 'Deployment', render: (p) => <DeploymentsView id={p[0]} /> },
  { pattern: /^#\/audit(?:\?([^/]*))?$/, ...menu('audit'), render: (p) => <AuditView query={p[0]} /> },
  { pattern: /^#\/audit\/target\/([^/]+)$/, section: 'audit', title: 'Audit log of', render: (p) => <AuditView target={dec(p[0])} /> },
  { pattern: /^#\/rollouts$/, ...menu('rollouts'), keep: 'rollouts', render: () => <RolloutsView /> },
  { pattern: /^#\/rollouts\/new$/, section: 'rollouts', title: 'New rollout', render: () => <RolloutCreateView /> },
  { pattern: /^#\/rollouts\/new-config$/, section: 'rollouts', title: 'New configuration rollout', render: () => <ConfigRolloutCreateView /> },
  { pattern: /^#\/rollouts\/(ro-[0-9a-f]+)$/, section: 'rollouts', title: 'Rollout', keep: 'rollouts', render: (p) => <RolloutsView id={p[0]} /> },
  { pattern: /^#\/drift$/, ...menu('drift'), render: () => <DriftView /> },
  { pattern: /^#\/drift\/([^/]+)\/([^/]+)$/, section: 'drift', title: 'Drift of', render: (p) => <DriftView name={dec(p[0])} version={dec(p[1])} /> },
  { pattern: /^#\/alerts$/, ...menu('alerts'), render: () => <AlertsView /> },
  { pattern: /^#\/alerts\/(\d+)$/, section: 'alerts', title: 'Alert', render: (p) => <AlertsView id={p[0]} /> },
  { pattern: /^#\/captures$/, ...menu('captures'), keep: 'captures', render: () => <CapturesView /> },
  { pattern: /^#\/captures\/(\d+)$/, section: 'captures', title: 'Capture', keep: 'captures', render: (p) => <CapturesView id={p[0]} /> },
];

/**
 * The page's title for an address: what it shows, then the console (`Device dev-a · edgefleet console`,
 * `Audit log · edgefleet console`), so a tab, the window list and a screen reader name the page.
 */
export function pageTitle(hash: string): string {
  const m = match(hash);
  const what = m ? (m.route.title ? `${m.route.title}${m.params.length ? ` ${m.params.map(dec).join('@')}` : ''}` : m.route.nav) : 'No view';
  return `${what} · edgefleet console`;
}

/** The route an address opens; null for none, or for an address that is not valid percent-encoding. */
export function match(hash: string): { route: ViewRoute; params: string[] } | null {
  try {
    decodeURIComponent(hash); // a param is cut at "/", never inside a %XX: if the whole decodes, each does
  } catch {
    return null;
  }
  for (const route of ROUTES) {
    const m = route.pattern.exec(hash);
    if (m) return { route, params: m.slice(1).filter((x): x is string => x !== undefined && x !== 'fleet') };
  }
  return null;
}
