// The login form: one field labelled "Token" (a viewer, operator or admin API token). The token is
// checked against the hub before the session starts; it is kept for this tab only (sessionStorage).
// In the desktop app the token is the hub profile's, added by its main process (docs/console.md
// "Desktop app"): a token typed here would be replaced, so the view says how to give the profile a new
// one instead, and offers to try the profile's token again.
import { useState } from 'preact/hooks';
import { probeToken } from '../api.js';
import { loginError, signIn } from '../store.js';
import { desktopBridge } from '../desktop.js';
import { background } from '../background.js';

/** The desktop app's window: the hub refused the profile's token (main adds it; nothing typed here is sent). */
function DesktopRefused() {
  return (
    <main class="login">
      <div class="panel" aria-labelledby="login-h">
        <h1 id="login-h">edgefleet console</h1>
        <p class="error" role="alert">{loginError.value ?? 'the hub did not accept this hub profile\'s token'}</p>
        <p>This window signs in with the token saved in its hub profile, and the hub refused it (revoked, or the hub's data was reset).
          Give the profile a new token with <b>Hub → Add hub…</b> under the same profile name, then open it from the <b>Hub</b> menu.</p>
        <button type="button" onClick={() => signIn('')}>Try again</button>
      </div>
    </main>
  );
}

export function LoginView() {
  if (desktopBridge()) return <DesktopRefused />;
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
