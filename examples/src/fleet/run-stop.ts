// What `npm start` (start.ts) and `npm run example:loop` (loop/run.ts) share around their story: the
// stop signal noted for their waits, the fleet's processes killed if this process dies without the
// orderly stop, and that stop's last steps (the agents, then the hub; the data dir, data-dir.ts).
import { rmSync } from 'node:fs';
import type { AgentHandle } from './agents.js';
import type { HubHandle } from './hub.js';
import type { RunningProcess } from './process.js';

/** What settled `stopSignal` (the signal's name, or its error as text) once it did; null before. */
export function stopNoted(stopSignal: Promise<string>): () => string | null {
  let why: string | null = null;
  stopSignal.then((sig) => { why = sig; }, (err: unknown) => { why = String(err); });
  return () => why;
}

/**
 * Kills `procs` (detached children; the array may grow) if this process exits without the orderly
 * stop. Returns the call that takes the hook back, once that stop is done.
 */
export function killOnExit(procs: readonly RunningProcess[]): () => void {
  const onExit = () => { for (const p of procs) p.kill(); };
  process.on('exit', onExit);
  return () => { process.off('exit', onExit); };
}

/** Stops the agents, then the hub; their exit codes (`hubCode` undefined when no hub was started). */
export async function stopAgentsAndHub(agents: readonly AgentHandle[], hub: HubHandle | undefined): Promise<{ codes: Array<number | null>; hubCode: number | null | undefined }> {
  const codes = await Promise.all(agents.map(async (a) => { await a.stop(); return (await a.process.exited).code; }));
  await hub?.stop();
  const hubCode = hub ? (await hub.process.exited).code : undefined;
  return { codes, hubCode };
}

/** At stop: removes the data dir when this run took it (`own`), unless `keep` (--keep-data), which says so. */
export function releaseDataDir(dir: string, own: boolean, keep: boolean, say: (line: string) => void): void {
  if (own && !keep) rmSync(dir, { recursive: true, force: true });
  else if (own) say(`data kept in ${dir}`);
}
