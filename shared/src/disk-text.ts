// How disk space is said to people (pure: the console renderer, `edgefleet-agent status`): bytes in
// binary units, the free share, "1.2 GiB free of 32 GiB (4%)".

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function formatBytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${UNITS[i]}`;
}

/** The free share, 0 to 1 (an empty filesystem reads as free). */
export function diskShare(d: { free: number; total: number }): number {
  return d.total > 0 ? d.free / d.total : 1;
}

/** Under this share free, a disk is shown as a warning (the agent also reports at 5% and 1%). */
export const LOW_DISK_SHARE = 0.1;

/** The free share in whole percent, rounded down ("4%": a disk is not called fuller than it is). */
export function diskPercent(d: { free: number; total: number }): string {
  return `${Math.floor(diskShare(d) * 100)}%`;
}

export function diskText(d: { free: number; total: number }): string {
  return `${formatBytes(d.free)} free of ${formatBytes(d.total)} (${diskPercent(d)})`;
}
