// The hub's clock as the console estimates it from its answers (common/clock-offset.ts): api.ts and live.ts
// note each answer's Date, ages (ui/age.tsx) read `hubNow` (docs/console.md "Ages").
import { ClockOffset } from '../common/clock-offset.js';

const offset = new ClockOffset();

/** An answer's Date header, the request sent at `sent` and answered at `got` (this computer's epoch ms). */
export const noteHubDate = (date: string | null, sent: number, got: number): void => offset.note(date, sent, got);

/** The hub's time now (epoch ms), as best known: this computer's until an answer said otherwise. */
export const hubNow = (): number => Date.now() + offset.ms();
