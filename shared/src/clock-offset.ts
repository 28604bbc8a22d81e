// How far one clock is from another, in words both ends print the same way: the agent before it
// enrolls, the hub when a device's clock is off (docs/operations.md "Clocks that are wrong").

/** "400 days ahead of", "3 min behind", "in step with" for an offset in ms (this clock − the other). */
export function describeClockOffset(ms: number): string {
  const a = Math.abs(ms);
  if (a < 1000) return 'in step with';
  const amount = a >= 86_400_000 ? `${Math.round(a / 86_400_000)} days` : a >= 3_600_000 ? `${Math.round(a / 3_600_000)} h` : a >= 60_000 ? `${Math.round(a / 60_000)} min` : `${Math.round(a / 1000)} s`;
  return `${amount} ${ms > 0 ? 'ahead of' : 'behind'}`;
}
