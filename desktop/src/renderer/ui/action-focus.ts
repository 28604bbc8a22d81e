// The keyboard in an action's small form (ui/action.tsx, views/undeploy.tsx; docs/console.md, Using it):
// opened, its first field takes the focus (the browser honours `autofocus` only while the page loads, so
// a form opened later left the focus nowhere: typed text was lost and a digit switched views); Escape
// closes it as Cancel does; closed (Cancel, Escape, or the action done), the focus returns to the button
// that opened it. An action that changes what can be done next (Pause, after which Resume is offered; an
// undeploy) takes its form and button away as the view redraws (or closes the form with no button drawn, an action
// no longer offered keeping its answer: ui/action.tsx `gone`): the focus then goes to the group of
// actions around it (`.actions`, or an element marked `data-action-home`), or the view's heading, never
// the page's body, so Tab goes on from where the operator was. Layout effects: they run as the form is
// drawn, so keys typed right after Enter reach the field (an effect runs after paint).
import { useLayoutEffect, useRef } from 'preact/hooks';

/** Where the focus goes when an action's form and button leave the page with the focus in them. */
function focusHome(from: Element): void {
  const home = from.closest<HTMLElement>('[data-action-home], .actions');
  const view = from.closest('main') ?? from.ownerDocument;
  // After the redraw that removed the form: the group stays when other actions do, else the view's heading.
  setTimeout(() => {
    const active = document.activeElement;
    if (active !== null && active !== document.body) return; // something took the focus meanwhile
    const to = home?.isConnected ? home : view.querySelector<HTMLElement>('h1, h2');
    if (!to) return;
    if (!to.hasAttribute('tabindex')) to.tabIndex = -1;
    to.focus();
  }, 0);
}

export function useActionFocus(open: boolean, close: () => void) {
  const form = useRef<HTMLFormElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const wasOpen = useRef(false);
  // What holds the open form: the focus goes there when it closes with no button to return to (an action gone, ui/action.tsx).
  const holder = useRef<HTMLElement | null>(null);
  useLayoutEffect(() => {
    if (open && !wasOpen.current) {
      holder.current = form.current?.parentElement ?? null;
      form.current?.querySelector<HTMLElement>('input:not([disabled]), select, textarea')?.focus();
    }
    if (!open && wasOpen.current) {
      if (opener.current) opener.current.focus();
      else if (holder.current?.isConnected) focusHome(holder.current);
    }
    wasOpen.current = open;
  }, [open]);
  // Unmounted with the focus in it (or lost to the body: its submit button was disabled while waiting), in
  // the same view: leaving the view (another address) is not an action's doing.
  const view = useRef(location.hash);
  useLayoutEffect(() => () => {
    const el = form.current ?? opener.current;
    const active = document.activeElement;
    if (el && location.hash === view.current && (active === null || active === document.body || el.contains(active))) focusHome(el);
  }, []);
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    close();
  };
  return { form, opener, onKeyDown };
}
