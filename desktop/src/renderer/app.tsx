// The console shell: login until a token is accepted, then the menu (from the route table), the live
// indicator, the role, and the current view. Keys: 1–8 switch views, / focuses the search; every
// control is reachable with Tab.
import { Fragment } from 'preact';
import { useEffect, useLayoutEffect } from 'preact/hooks';
import { hash, go } from './nav.js';
import { ROUTES, match, pageTitle } from './routes.js';
import { liveRefusal, liveState, role, session, signOut } from './store.js';
import { LoginView } from './views/login.js';
import { Empty } from './ui/states.js';
import { HubDownBanner, StaleNote } from './ui/hub-down.js';
import { hubDown } from './hub-health.js';
import { preloadViews } from './ui/lazy.js';

const LIVE_TEXT = { live: '● live', connecting: '○ connecting', offline: '○ offline (retrying)', paused: '○ paused (tab hidden)' } as const;

/** The stream's state; when the hub refused it (429 too many streams, 503), its code and message. */
function liveText(): string {
  const why = liveState.value === 'offline' ? liveRefusal.value : null;
  return why ? `${LIVE_TEXT.offline}: ${why}` : LIVE_TEXT[liveState.value];
}

function onKey(e: KeyboardEvent): void {
  const t = e.target as HTMLElement | null;
  if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT')) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.key === '/') {
    const s = document.querySelector<HTMLInputElement>('input[type=search]');
    if (s) { e.preventDefault(); s.focus(); }
    return;
  }
  const r = ROUTES.find((x) => x.key === e.key);
  if (r?.href) go(r.href);
}

/**
 * The page's title names the view (routes.tsx `pageTitle`); when the view changed under a focus it took away (a key
 * 1–8 pressed on the page, a link of the menu or a view followed), the new view's heading takes the focus, once it is
 * drawn (a device's, after its read), so a screen reader says where the operator is and Tab goes on from there
 * (docs/console.md "Keyboard and screen readers"). A focus put anywhere meanwhile is left there.
 */
function useViewChange(h: string, signedIn: boolean): void {
  useEffect(() => {
    document.title = signedIn ? pageTitle(h) : 'Sign in · edgefleet console';
    if (!signedIn) return;
    /** True once there is nothing left to do: the heading took the focus, or something else has it. */
    const take = (): boolean => {
      const a = document.activeElement;
      if (a && a !== document.body && !a.closest('nav')) return true;
      const heading = document.querySelector<HTMLElement>('main h1');
      if (!heading) return false;
      heading.tabIndex = -1;
      heading.focus();
      return true;
    };
    if (take()) return;
    const o = new MutationObserver(() => { if (take()) o.disconnect(); });
    o.observe(document.body, { childList: true, subtree: true });
    return () => o.disconnect();
  }, [h, signedIn]);
}

export function App() {
  // Before the first paint (a layout effect, not useEffect, which preact runs after a frame): a key pressed as soon
  // as the first view shows is not lost.
  useLayoutEffect(() => {
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
  // The other views' code, once the first view is drawn: they open while the hub is unreachable (ui/lazy.tsx).
  useEffect(preloadViews, []);
  useViewChange(hash.value, !!session.value);
  if (!session.value) return <LoginView />;
  const m = match(hash.value);
  const live = liveState.value;
  return (
    <div class="shell">
      <header>
        <span class="brand">edgefleet</span>
        <nav aria-label="Views">
          {ROUTES.filter((r) => r.nav).map((r) => (
            <a key={r.href} href={r.href} aria-current={m?.route.section === r.section ? 'page' : undefined} title={`key ${r.key}`}>{r.nav}</a>
          ))}
        </nav>
        <span class={`live is-${live}`} role="status" aria-live="polite" data-testid="live">{liveText()}</span>
        <span class="role" data-testid="role">{role.value ?? '…'}</span>
        <button type="button" onClick={() => signOut(null)}>Sign out</button>
      </header>
      <HubDownBanner retryNow={() => session.value?.live.retryNow()} />
      {/* Keyed by the address: another device (or rollout, ...) is a new view, so no form, typed text or
          shown secret of the one before stays on screen (a `keep` route keys its selected row's panel instead). */}
      <StaleNote />
      <main class={hubDown.value ? 'is-stale' : undefined}>{m ? <Fragment key={m.route.keep ?? hash.value}>{m.route.render(m.params)}</Fragment> : <Empty>No view at {hash.value}. <a href="#/fleet">Fleet</a></Empty>}</main>
    </div>
  );
}
