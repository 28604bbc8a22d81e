// What changes on a view without this operator doing it (the hub's gate starting a wave, another operator pausing a
// rollout, an alert firing), said once to a screen reader in one polite live region (docs/console.md "Keyboard and
// screen readers", docs/decisions/0191-changes-said-once-in-a-polite-region.md): each value the view shows is compared
// with the last one accounted for; the first one drawn, and one that changes nothing said, says nothing. This
// operator's own write, whose answer its form says as a status, is accounted for by that answer and not said again.
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Announcer<T> {
  /** What was said last, and how many times something was said (a fresh node each time: the same words again are read again). */
  said: { text: string; n: number };
  /** Runs this operator's own write: nothing is said meanwhile, and what it shows (its answer, `run`'s value) counts as said. */
  own<R extends T | undefined>(run: () => Promise<R>): Promise<R>;
}

/**
 * `value` as the view shows it (null while none is); `what` names what it shows (an id, a filter): when it changes, the
 * next value drawn is a first draw again. `say` words what changed from `was` to `now`, or null when nothing worth saying did.
 */
export function useAnnounce<T>(value: T | null, what: unknown, say: (was: T, now: T) => string | null): Announcer<T> {
  // `stale`: the value still shown when `what` changed (the other id's, the other filter's), not this one's first draw.
  const base = useRef<{ what: unknown; v: T | null; stale: T | null }>({ what, v: null, stale: null });
  const [said, setSaid] = useState({ text: '', n: 0 });
  const [held, setHeld] = useState(0);
  useEffect(() => {
    if (base.current.what !== what) {
      base.current = { what, v: null, stale: value };
      setSaid((s) => (s.text ? { text: '', n: s.n } : s)); // the other one's news is not this one's
    }
    if (value === null || held > 0 || value === base.current.stale) return;
    const was = base.current.v;
    base.current = { what, v: value, stale: null };
    const text = was === null ? null : say(was, value);
    if (text) setSaid((s) => ({ text, n: s.n + 1 }));
  }, [value, what, held]);
  return {
    said,
    async own(run) {
      setHeld((n) => n + 1);
      try {
        const shown = await run();
        if (shown !== undefined) base.current = { what: base.current.what, v: shown as T, stale: null };
        return shown;
      } finally {
        setHeld((n) => n - 1);
      }
    },
  };
}

/** The live region: polite, drawn (empty) with the view so that what is put in it later is read; not shown on screen (the view shows the change). */
export function Said({ said }: { said: Announcer<unknown>['said'] }) {
  return <p role="status" class="said" data-testid="said">{said.text ? <span key={said.n}>{said.text}</span> : null}</p>;
}
