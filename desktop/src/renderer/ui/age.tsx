// How long ago something happened, as an operator judges staleness by it (a device's last contact or report,
// when an alert fired): "3m ago" by the hub's clock (hub-clock.ts), the exact time in UTC as its title. Every
// age on the page renders again each AGO_REFRESH_MS from one timer, so it stays true while nothing else
// changes (docs/console.md "Ages").
import { signal } from '@preact/signals';
import { hubNow } from '../hub-clock.js';
import { AGO_REFRESH_MS, ago, time } from './states.js';

const tick = signal(0);
let timer: ReturnType<typeof setInterval> | null = null;

export function Age({ at }: { at: string | null | undefined }) {
  timer ??= setInterval(() => { tick.value++; }, AGO_REFRESH_MS);
  void tick.value; // subscribes this age to the timer
  return <time class="age" dateTime={at ?? undefined} title={at ? time(at) : undefined}>{ago(at, hubNow())}</time>;
}
