// The console's entry point (bundled by desktop/scripts/build-renderer.mjs into assets/app.js).
import { render } from 'preact';
import { App } from './app.js';
import { startNav } from './nav.js';
import { savedToken, signIn } from './store.js';

startNav();
const token = savedToken();
if (token) signIn(token);
const root = document.getElementById('app');
if (root) render(<App />, root);
