// The console's route table: one entry per view, matched against the address hash. A new view is one
// entry here; `nav` puts it in the menu and `key` gives it a keyboard shortcut.
import type { VNode } from 'preact';
import { FleetView } from './views/fleet.js';
import { DeviceView } from './views/device.js';
import { ModelsView } from './views/models.js';
import { DeploymentsView } from './views/deployments.js';
import { AuditView } from './views/audit.js';
import { DriftView } from './views/drift.js';
import { AlertsView } from './views/alerts.js';
import { RolloutsView } from './views/rollouts.js';
import { RolloutCreateView } from './views/rollout-create.js';
import { CapturesView } from './views/captures.js';

export interface ViewRoute {
  pattern: RegExp;
  /** Menu label; absent for detail views. */
  nav?: string;
  /** The menu entry highlighted while this view is open. */
  section: string;
  href?: string;
  key?: string;
  render(params: string[]): VNode;
}

const dec = (s: string | undefined) => decodeURIComponent(s ?? '');

export const ROUTES: ViewRoute[] = [
  { pattern: /^#\/(fleet)?$/, nav: 'Fleet', section: 'fleet', href: '#/fleet', key: '1', render: () => <FleetView /> },
  { pattern: /^#\/devices\/([^/]+)$/, section: 'fleet', render: (p) => <DeviceView id={dec(p[0])} /> },
  { pattern: /^#\/models$/, nav: 'Models', section: 'models', href: '#/models', key: '2', render: () => <ModelsView /> },
  { pattern: /^#\/models\/([^/]+)\/([^/]+)$/, section: 'models', render: (p) => <ModelsView name={dec(p[0])} version={dec(p[1])} /> },
  { pattern: /^#\/deployments$/, nav: 'Deployments', section: 'deployments', href: '#/deployments', key: '3', render: () => <DeploymentsView /> },
  { pattern: /^#\/deployments\/(\d+)$/, section: 'deployments', render: (p) => <DeploymentsView id={p[0]} /> },
  { pattern: /^#\/audit$/, nav: 'Audit log', section: 'audit', href: '#/audit', key: '4', render: () => <AuditView /> },
  { pattern: /^#\/rollouts$/, nav: 'Rollouts', section: 'rollouts', href: '#/rollouts', key: '5', render: () => <RolloutsView /> },
  { pattern: /^#\/rollouts\/new$/, section: 'rollouts', render: () => <RolloutCreateView /> },
  { pattern: /^#\/rollouts\/(ro-[0-9a-f]+)$/, section: 'rollouts', render: (p) => <RolloutsView id={p[0]} /> },
  { pattern: /^#\/drift$/, nav: 'Drift', section: 'drift', href: '#/drift', key: '6', render: () => <DriftView /> },
  { pattern: /^#\/drift\/([^/]+)\/([^/]+)$/, section: 'drift', render: (p) => <DriftView name={dec(p[0])} version={dec(p[1])} /> },
  { pattern: /^#\/alerts$/, nav: 'Alerts', section: 'alerts', href: '#/alerts', key: '7', render: () => <AlertsView /> },
  { pattern: /^#\/alerts\/(\d+)$/, section: 'alerts', render: (p) => <AlertsView id={p[0]} /> },
  { pattern: /^#\/captures$/, nav: 'Captures', section: 'captures', href: '#/captures', key: '8', render: () => <CapturesView /> },
  { pattern: /^#\/captures\/(\d+)$/, section: 'captures', render: (p) => <CapturesView id={p[0]} /> },
];

export function match(hash: string): { route: ViewRoute; params: string[] } | null {
  for (const route of ROUTES) {
    const m = route.pattern.exec(hash);
    if (m) return { route, params: m.slice(1).filter((x): x is string => x !== undefined && x !== 'fleet') };
  }
  return null;
}
