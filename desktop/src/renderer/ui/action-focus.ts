// The keyboard in an action's small form (ui/action.tsx, views/undeploy.tsx; docs/console.md, Using it):
// opened, its first field takes the focus (the browser honours `autofocus` only while the page loads, so
// a form opened later left the focus nowhere: typed text was lost and a digit switched views); Escape
// closes it as Cancel does; closed, the focus returns to the button that opened it. A layout effect: it
// runs as the form is drawn, so keys typed right after Enter reach the field (an effect runs after paint).
import { useLayoutEffect, useRef } from 'preact/hooks';

export function useActionFocus(open: boolean, close: () => void) {
  const form = useRef<HTMLFormElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const wasOpen = useRef(false);
  useLayoutEffect(() => {
    if (open && !wasOpen.current) form.current?.querySelector<HTMLElement>('input:not([disabled]), select, textarea')?.focus();
    if (!open && wasOpen.current) opener.current?.focus();
    wasOpen.current = open;
  }, [open]);
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    close();
  };
  return { form, opener, onKeyDown };
}
