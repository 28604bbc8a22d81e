// A view (or a heavy part of one) whose code loads on first use: esbuild puts each `import()` in a chunk of
// its own under assets/ (desktop/scripts/build-renderer.mjs), so app.js holds only what the console needs to
// start (docs/decisions/0190-views-load-on-first-use.md). Until the chunk is in, the place shows a loading state;
// if it cannot be loaded (the hub restarted with a new build, whose chunks have other names; the network),
// an error naming it with Retry, which loads the console again: this page's app.js knows only the old names.
import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorBox, Loading } from './states.js';

type View<P extends object> = (props: P) => JSX.Element;

/**
 * A component that renders the one `load` resolves to, loaded once, when first rendered. `what` names it in
 * the loading state and the error ("the audit log").
 */
export function lazyView<P extends object>(what: string, load: () => Promise<View<P>>): View<P> {
  let loaded: View<P> | null = null;
  let loading: Promise<View<P>> | null = null;
  return function Lazy(props: P): JSX.Element {
    const [error, setError] = useState<string | null>(null);
    const [, setReady] = useState(false);
    useEffect(() => {
      if (loaded) return;
      let shown = true;
      loading ??= load().then((c) => (loaded = c));
      loading.then(() => { if (shown) setReady(true); }, (err: unknown) => {
        loading = null;
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
