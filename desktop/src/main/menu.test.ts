import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MenuItemConstructorOptions } from 'electron';
import { menuTemplate } from './menu.js';

const sub = (items: MenuItemConstructorOptions[], label: string) => (items.find((i) => i.label === label)?.submenu ?? []) as MenuItemConstructorOptions[];
const click = (i: MenuItemConstructorOptions | undefined) => (i?.click as unknown as () => void)();

test('the menu: saved hubs, "Add hub…", and every view with its key', () => {
  const calls: string[] = [];
  const actions = { profiles: ['prod', 'lab'], openProfile: (n: string) => calls.push(`open ${n}`), addHub: () => calls.push('add'), navigate: (h: string) => calls.push(`nav ${h}`), reload: () => calls.push('reload') };
  const m = menuTemplate(actions, 'linux');
  const hub = sub(m, 'Hub');
  click(hub.find((i) => i.label === 'lab'));
  click(hub.find((i) => i.label === 'Add hub…'));
  const views = sub(m, 'View').filter((i) => i.accelerator);
  assert.deepEqual(views.map((v) => `${v.label} ${v.accelerator}`), ['Fleet CmdOrCtrl+1', 'Models CmdOrCtrl+2', 'Deployments CmdOrCtrl+3', 'Audit log CmdOrCtrl+4', 'Rollouts CmdOrCtrl+5', 'Drift CmdOrCtrl+6', 'Alerts CmdOrCtrl+7', 'Captures CmdOrCtrl+8']);
  click(views[6]);
  assert.deepEqual(calls, ['open lab', 'add', 'nav #/alerts']);
  const none = sub(menuTemplate({ ...actions, profiles: [] }, 'linux'), 'Hub');
  assert.equal(none[0]?.label, 'No saved hubs');
  assert.equal(none[0]?.enabled, false);
  assert.ok(none.some((i) => i.label === 'Add hub…'), 'a hub can be added when none is saved');
});
