// A view (or a heavy part of one) whose code is a chunk of its own: esbuild puts each `import()` in one under assets/
// (desktop/scripts/build-renderer.mjs), so what the console loads before it shows its first view is app.js and what
// it imports (docs/decisions/0190-views-load-in-chunks.md). The chunks are fetched in the background once the
// first view is drawn (`preloadViews`), so a view still opens while the hub is unreachable, or when first opened if
// that comes sooner. Until its chunk is in, the place shows a loading state; if it cannot be loaded (the hub
// restarted with a new build, whose chunks have other names; the network), an error naming it with Retry, which
// loads the console again: this page's app.js knows only the old names.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorBox, Loading } from './states.js';

type View<P extends object> = (props: P) => JSX.Element;

/** Start loading each lazy view's chunk, until `preloadViews` is called; after, a lazy view starts as it is made (Try it, in the models view's chunk). */
const preloads: Array<() => void> = [];
let preloading = false;

/**
 * A component that renders the one `load` resolves to, loaded once: by `preloadViews` or when first rendered.
 * `what` names it in the loading state and the error ("the audit log").
 */
export function lazyView<P extends object>(what: string, load: () => Promise<View<P>>): View<P> {
  let loaded: View<P> | null = null;
  let loading: Promise<View<P>> | null = null;
  const start = () => (loading ??= load().then((c) => (loaded = c), (err: unknown) => {
    loading = null; // tried again when the view is opened
    throw err;
  }));
  // A chunk that fails in the background is said where the view is opened, when it fails again.
  const preload = () => { start().catch(() => undefined); };
  if (preloading) preload();
  else preloads.push(preload);
  return function Lazy(props: P): JSX.Element {
    const [error, setError] = useState<string | null>(null);
    const [, setReady] = useState(false);
    // Whether this place's first draw was the view. If not, it waits for the chunk, even one that came in between
    // that draw and this effect (a background load finishing then): asking `loaded` here instead left the place
    // "Loading…" for good, as a view opened just after a reload did now and then (test/src/console/lazy-views.test.ts).
    const drawn = loaded !== null;
    useEffect(() => {
      if (drawn) return;
      let shown = true;
      start().then(() => { if (shown) setReady(true); }, (err: unknown) => {
        if (shown) setError(err instanceof Error ? err.message : String(err));
      });
      return () => { shown = false; };
    }, []);
    if (loaded) { const V = loaded; return <V {...props} />; }
    if (error !== null) {
      return <ErrorBox error={`could not load the code of ${what} from the hub (${error}): the hub may have been updated since this page was loaded; Retry loads the console again`} retry={() => location.reload()} />;
    }
    return <Loading what={what} />;
  };
}

/** Fetches every lazy view's chunk in the background (the console calls it once its first view is drawn). */
export function preloadViews(): void {
  preloading = true;
  for (const p of preloads.splice(0)) p();
}
