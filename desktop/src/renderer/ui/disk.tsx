// A device's reported disk space (docs/console.md "Using it"): the free share, in the warning colour under
// 10% (the agent reports again at 10%, 5% and 1%), and "1.2 GiB free of 32 GiB (4%)" in full.
import type { DiskSpace } from '@edgefleet/shared';
import { LOW_DISK_SHARE, diskPercent, diskShare, diskText } from '@edgefleet/shared/browser';

/** The free share, warned under 10%; a dash for an agent that does not report it. */
export function DiskCell({ disk }: { disk: DiskSpace | undefined }) {
  if (!disk) return <span class="muted">—</span>;
  return <span class={diskShare(disk) < LOW_DISK_SHARE ? 'warn' : 'muted'} title={diskText(disk)}>{diskPercent(disk)}</span>;
}
