// The preload (sandboxed; bundled to CommonJS by desktop/scripts/build-renderer.mjs): a few typed calls
// over the allow-listed channels, exposed as window.edgefleetDesktop. It relays only; the main process
// validates every payload (common/ipc.ts). No Node API and no token ever reach the page.
import { contextBridge, ipcRenderer } from 'electron';
import { INVOKE_CHANNELS, NAVIGATE_CHANNEL, PROBLEM_CHANNEL, type InvokeChannel } from '../common/ipc-channels.js';

const invoke = (ch: InvokeChannel, payload: unknown): Promise<unknown> => {
  if (!INVOKE_CHANNELS.includes(ch)) return Promise.reject(new Error(`ipc: ${ch} is not allowed`));
  return ipcRenderer.invoke(ch, payload);
};

contextBridge.exposeInMainWorld('edgefleetDesktop', {
  listProfiles: () => invoke('profiles:list', {}),
  saveProfile: (name: string, address: string, token: string) => invoke('profiles:save', { name, address, token }),
  openProfile: (name: string) => invoke('profiles:open', { name }),
  notify: (title: string, body: string, key?: string, link?: string) => invoke('notify', { title, body, ...(key ? { key } : {}), ...(link ? { link } : {}) }),
  onNavigate: (fn: (hash: string) => void) => {
    ipcRenderer.on(NAVIGATE_CHANNEL, (_e, hash: unknown) => { if (typeof hash === 'string' && hash.startsWith('#/')) fn(hash); });
  },
  /** The first-run page: why a saved hub could not be opened (main/launch.ts). */
  onProblem: (fn: (p: { code: string; message: string }) => void) => {
    ipcRenderer.on(PROBLEM_CHANNEL, (_e, p: unknown) => {
      const { code, message } = (p ?? {}) as { code?: unknown; message?: unknown };
      if (typeof code === 'string' && typeof message === 'string') fn({ code, message });
    });
  },
});
