// The console's entry point (bundled by desktop/scripts/build-renderer.mjs into assets/app.js).
import { render } from 'preact';
import { App } from './app.js';
import { go, startNav } from './nav.js';
import { savedToken, signIn } from './store.js';
import { desktopBridge } from './desktop.js';

/** Present in the desktop app (desktop/src/preload): its main process holds the token. */
const desktop = desktopBridge();

startNav();
const token = savedToken();
if (desktop) {
  desktop.onNavigate((h) => go(h));
  signIn('');
} else if (token) {
  signIn(token);
}
const root = document.getElementById('app');
if (root) {
  root.textContent = ''; // the static "Loading…" placeholder
  render(<App />, root);
}
