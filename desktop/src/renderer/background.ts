// Work started from an event handler or effect that nobody awaits: its failure is logged, never lost
// silently (the lint rule against floating promises applies to the renderer too).
export function background(p: Promise<unknown>): void {
  p.catch((err: unknown) => console.error('edgefleet console:', err));
}
