// The first-run page (main/first-run.ts opens it when no hub profile exists): checks the form with the
// same schema main applies (common/profile-form.ts), then saves the profile and opens it through the
// preload's `profiles:save` and `profiles:open` calls; main saves only once the hub accepted the token
// (main/hub-check.ts), and a refusal is shown as code and message. When main could not open a saved hub (an
// unreadable profiles file, a token that does not decrypt: main/launch.ts), it says why above the form,
// code and message. Plain DOM: no framework for one form.
import { checkProfileForm, suggestName, type ProfileField } from '../common/profile-form.js';

type Result = { ok: true } | { ok: false; error: { code: string; message: string } };
interface Bridge {
  saveProfile(name: string, address: string, token: string): Promise<Result>;
  openProfile(name: string): Promise<Result>;
  onProblem?(fn: (p: { code: string; message: string }) => void): void;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const bridge = (globalThis as { edgefleetDesktop?: Bridge }).edgefleetDesktop;
const form = $<HTMLFormElement>('hub-form');
const fields: ProfileField[] = ['address', 'token', 'name'];
const status = $<HTMLParagraphElement>('status');
let nameEdited = false;

bridge?.onProblem?.((p) => { $('problem').textContent = `${p.code}: ${p.message}`; });

$<HTMLInputElement>('name').addEventListener('input', () => { nameEdited = true; });
$<HTMLInputElement>('address').addEventListener('input', (e) => {
  if (!nameEdited) $<HTMLInputElement>('name').value = suggestName((e.currentTarget as HTMLInputElement).value);
});

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const input = { name: $<HTMLInputElement>('name').value, address: $<HTMLInputElement>('address').value, token: $<HTMLInputElement>('token').value };
  const r = checkProfileForm(input);
  for (const f of fields) {
    const msg = r.ok ? '' : r.errors[f] ?? '';
    $(`${f}-error`).textContent = msg;
    $<HTMLInputElement>(f).setAttribute('aria-invalid', msg ? 'true' : 'false');
  }
  if (!r.ok) { status.textContent = ''; return; }
  if (!bridge) { status.textContent = 'This page works only inside the edgefleet desktop app.'; return; }
  status.textContent = `Checking the token with ${r.value.address}…`;
  $<HTMLButtonElement>('save').disabled = true;
  const { name, address, token } = r.value;
  void (async () => {
    const saved = await bridge.saveProfile(name, address, token);
    if (!saved.ok) { status.textContent = `Not saved: ${saved.error.code}: ${saved.error.message}`; return; }
    const opened = await bridge.openProfile(name);
    status.textContent = opened.ok ? `Saved; opening ${address}…` : `Saved, but not opened: ${opened.error.code}: ${opened.error.message}`;
  })().catch((err: unknown) => { status.textContent = `Not saved: ${(err as Error).message}`; })
    .finally(() => { $<HTMLButtonElement>('save').disabled = false; });
});
