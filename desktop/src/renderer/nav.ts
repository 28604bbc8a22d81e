// Hash routing: the address after # names the view (#/devices/ID), so the hub serves one page and
// links, the back button and desktop deep links all work without a reload.
import { signal } from '@preact/signals';

export const hash = signal(typeof location === 'undefined' ? '#/' : location.hash || '#/');

export function go(to: string): void {
  if (location.hash === to) return;
  location.hash = to;
}

export function startNav(): void {
  addEventListener('hashchange', () => { hash.value = location.hash || '#/'; });
}
