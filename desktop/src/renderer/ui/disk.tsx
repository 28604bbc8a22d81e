// A device's reported disk space (docs/console.md "Fleet"): the free share, in the warning colour under
// 10% (the agent reports again at 10%, 5% and 1%), and "1.2 GiB free of 32 GiB (4%)" in full.
import type { DiskSpace } from '@edgefleet/shared';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function bytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${UNITS[i]}`;
}

const share = (d: DiskSpace): number => (d.total > 0 ? d.free / d.total : 1);
const percent = (d: DiskSpace): string => `${Math.floor(share(d) * 100)}%`;

/** The free share, warned under 10%; a dash for an agent that does not report it. */
export function DiskCell({ disk }: { disk: DiskSpace | undefined }) {
  if (!disk) return <span class="muted">—</span>;
  return <span class={share(disk) < 0.1 ? 'warn' : 'muted'} title={diskText(disk)}>{percent(disk)}</span>;
}

export function diskText(d: DiskSpace): string {
  return `${bytes(d.free)} free of ${bytes(d.total)} (${percent(d)})`;
}
