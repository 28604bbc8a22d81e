// The names of the desktop app's IPC channels: the only ones the preload exposes and the main process
// listens on. Kept free of zod so the sandboxed preload bundle stays small; payload schemas are in ipc.ts.
export const INVOKE_CHANNELS = ['profiles:list', 'profiles:save', 'profiles:remove', 'profiles:open', 'notify'] as const;
export type InvokeChannel = (typeof INVOKE_CHANNELS)[number];
/** Main → renderer: open a view (a deep link arrived). */
export const NAVIGATE_CHANNEL = 'navigate' as const;
