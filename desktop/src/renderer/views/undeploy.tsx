// The "Undeploy" action of a deployment (docs/hub.md "Undeploy"): a reason, then a dry run shows how many
// devices stop serving the model, and a second button confirms that count (sent as confirmDevices, so the
// hub refuses if it changed in between). Rendered for operators only. Each step says it waits for the hub until the
// answer comes (its button disabled: not sent twice); refused, the focus is back in the reason, kept, as ui/action.tsx does;
// while the hub is down its button is disabled and says so, as the action forms do (ui/hub-down.tsx NotSentWhileDown).
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { errorText } from '../api.js';
import type { Deployment, UndeployResult } from '@edgefleet/shared';
import { session } from '../store.js';
import { background } from '../background.js';
import { useActionFocus } from '../ui/action-focus.js';
import { formatCount } from '@edgefleet/shared/browser';
import { Busy } from '../ui/states.js';
import { NotSentWhileDown, hubIsDown } from '../ui/hub-down.js';

export function UndeployAction({ d, done }: { d: Deployment; done(): void }) {
  const api = session.value?.api;
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [count, setCount] = useState<UndeployResult | null>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const close = () => { setOpen(false); setCount(null); };
  const focus = useActionFocus(open, close);
  // The dry run disables the reason field (the focus's place): the confirming button takes it.
  const confirm = useRef<HTMLButtonElement>(null);
  useLayoutEffect(() => { if (count) confirm.current?.focus(); }, [count]);
  const field = useRef<HTMLInputElement>(null);
  useLayoutEffect(() => { if (msg && !msg.ok) field.current?.focus(); }, [msg]);
  if (!open) return <button type="button" ref={focus.opener} class="danger" onClick={() => { setOpen(true); setMsg(null); setCount(null); }}>Undeploy</button>;
  const path = (extra: string) => `/deployments/${d.id}?reason=${encodeURIComponent(reason.trim())}${extra}`;
  const step = async (e: Event) => {
    e.preventDefault();
    if (reason.trim() === '') { setMsg({ ok: false, text: 'a reason is required' }); return; }
    setBusy(true);
    try {
      if (!count) {
        setCount(await api!.send<UndeployResult>('DELETE', path('&dryRun=true')));
        setMsg(null);
      } else {
        const r = await api!.send<UndeployResult>('DELETE', path(`&confirmDevices=${count.devices}`));
        setMsg({ ok: true, text: `undeployed: ${formatCount(r.devices)} device(s) told to stop serving ${d.model}` });
        setCount(null);
        done();
      }
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) });
      setCount(null);
    } finally {
      setBusy(false);
    }
  };
  const down = hubIsDown();
  return (
    <form class="action" ref={focus.form} onKeyDown={focus.onKeyDown} onSubmit={(e) => background(step(e))} aria-label="Undeploy">
      <label for="undeploy-reason">Reason</label>
      <input id="undeploy-reason" ref={field} value={reason} disabled={count !== null} onInput={(e) => setReason((e.currentTarget as HTMLInputElement).value)} />
      {count ? <p role="status" data-testid="undeploy-count">Stops {d.model} on {formatCount(count.devices)} device(s){count.superseded ? ` (${formatCount(count.superseded)} moved on to a newer deployment: only marked)` : ''}.</p> : null}
      <button type="submit" ref={confirm} class="danger" disabled={busy || down}>{count ? `Undeploy from ${formatCount(count.devices)} device(s)` : 'Check devices'}</button>
      <button type="button" onClick={close}>Cancel</button>
      {busy ? <Busy what={count ? 'Undeploy' : 'Check devices'} /> : down ? <NotSentWhileDown label={count ? 'Undeploy' : 'Check devices'} /> : msg ? <p class={msg.ok ? 'ok' : 'error'} role="status">{msg.text}</p> : null}
    </form>
  );
}
