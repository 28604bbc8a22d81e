// The login form: one field labelled "Token" (a viewer, operator or admin API token). The token is
// checked against the hub before the session starts; it is kept for this tab only (sessionStorage).
import { useState } from 'preact/hooks';
import { probeToken } from '../api.js';
import { loginError, signIn } from '../store.js';
import { background } from '../background.js';

export function LoginView() {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    if (!t) { setError('enter an API token (edgefleet tokens create, or DATA/admin.token)'); return; }
    setBusy(true);
    const why = await probeToken(t);
    setBusy(false);
    if (why) { setError(why); return; }
    signIn(t);
  };
  const shown = error ?? loginError.value;
  return (
    <main class="login">
      <form onSubmit={(e) => background(submit(e))} aria-labelledby="login-h">
        <h1 id="login-h">edgefleet console</h1>
        <label for="token">Token</label>
        <input id="token" type="password" autoComplete="off" autoFocus value={token} onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)} />
        <button type="submit" disabled={busy}>{busy ? 'Checking…' : 'Sign in'}</button>
        {shown ? <p class="error" role="alert">{shown}</p> : null}
        <p class="muted">A viewer token shows the fleet; operator and admin tokens also show the actions their role allows.</p>
      </form>
    </main>
  );
}
