// A write action behind a button: opens a small form asking for a reason (and any other fields),
// sends it, says it is waiting for the hub meanwhile, and shows the hub's answer or error (its code and message; the reason stays typed for a retry,
// the focus in it). Done, the form closes with the answer beside its button, which has the focus. Only rendered for roles that may perform it.
// An action with `confirm` asks once more before it is sent: the first submit shows what it does and turns the
// button into "Confirm …"; typing in the reason again or Cancel takes the confirmation back.
// An action the view no longer offers (`gone`: another operator's change reached the page) is not taken away under
// an open form: it stays, what was typed kept, unsendable, saying why, until Cancel; its last answer stays too.
import { useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { errorText } from '../api.js';
import { background } from '../background.js';
import { useActionFocus } from './action-focus.js';
import { NotSentWhileDown, hubIsDown } from './hub-down.js';
import { Busy } from './states.js';

export function ActionForm(p: {
  label: string;
  /** Required reason (the hub refuses these writes without one). */
  reasonRequired?: boolean;
  /** What the text field is called when it is not a reason (a stored drift report's "Note"). */
  field?: string;
  danger?: boolean;
  extra?: ComponentChildren;
  /** What the action does, shown to be confirmed before it is sent (promote to the full fleet). */
  confirm?: ComponentChildren;
  /** Why the action no longer applies (the view changed under it): an open form says so and sends nothing; closed, only its last answer is drawn. */
  gone?: string;
  run(reason: string): Promise<string | void>;
}) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const focus = useActionFocus(open, () => setOpen(false));
  const said = msg ? <p class={msg.ok ? 'ok' : 'error'} role="status">{msg.text}</p> : null;
  if (!open) {
    if (p.gone) return said;
    // Done: the form closes and the focus is back on this button (ui/action-focus.ts), the hub's answer beside it.
    return <><button type="button" ref={focus.opener} class={p.danger ? 'danger' : ''} onClick={() => { setOpen(true); setMsg(null); setConfirming(false); }}>{p.label}</button>{said}</>;
  }
  const submit = async (e: Event) => {
    e.preventDefault();
    if (p.gone) return;
    if (p.reasonRequired && reason.trim() === '') { setMsg({ ok: false, text: 'a reason is required' }); return; }
    if (p.confirm && !confirming) { setConfirming(true); setMsg(null); return; }
    setBusy(true);
    setMsg(null); // the answer before this one is not this one's
    try {
      const text = await p.run(reason.trim());
      setMsg({ ok: true, text: text || 'done' });
      setReason('');
      setOpen(false);
    } catch (err) {
      setMsg({ ok: false, text: errorText(err) }); // the hub's code and message (CONFLICT: …)
      setConfirming(false);
      focus.form.current?.querySelector<HTMLElement>('input:not([disabled])')?.focus(); // the reason kept, to send again
    } finally {
      setBusy(false);
    }
  };
  const down = hubIsDown();
  const id = `reason-${p.label.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <form class="action" ref={focus.form} onKeyDown={focus.onKeyDown} onSubmit={(e) => background(submit(e))} aria-label={p.label}>
      {p.extra}
      <label for={id}>{p.field ?? 'Reason'}{p.reasonRequired ? '' : ' (optional)'}</label>
      <input id={id} value={reason} onInput={(e) => { setReason((e.currentTarget as HTMLInputElement).value); setConfirming(false); }} />
      {confirming ? <p class="warn" role="alert" data-testid="confirm">{p.confirm}</p> : null}
      <button type="submit" class={p.danger ? 'danger' : ''} disabled={busy || down || !!p.gone}>{confirming ? `Confirm: ${p.label}` : p.label}</button>
      <button type="button" onClick={() => { setOpen(false); setConfirming(false); }}>Cancel</button>
      {busy ? <Busy what={p.label} />
        : p.gone ? <><p class="warn" role="alert" data-testid="action-gone">{p.label}: not sent: {p.gone}</p>{said}</> : down ? <NotSentWhileDown label={p.label} /> : said}
    </form>
  );
}
