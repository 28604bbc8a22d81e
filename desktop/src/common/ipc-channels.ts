// The names of the desktop app's IPC channels: the only ones the preload exposes and the main process
// listens on. Kept free of zod so the sandboxed preload bundle stays small; payload schemas are in ipc.ts.
// Which sender may call which channel: main/first-run.ts (the profile calls only from the first-run page).
export const INVOKE_CHANNELS = ['profiles:list', 'profiles:save', 'profiles:open', 'notify'] as const;
export type InvokeChannel = (typeof INVOKE_CHANNELS)[number];
/** Main → renderer: open a view (a deep link arrived). */
export const NAVIGATE_CHANNEL = 'navigate' as const;
/** Main → first-run page: why the app could not open a saved hub (a `{code, message}`), shown above the form. */
export const PROBLEM_CHANNEL = 'first-run:problem' as const;
