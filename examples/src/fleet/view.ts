// A live, readable view of a local fleet: per device its tags, whether it is online,
// the version it runs, its latest deployment's status and progress, the predictions it
// served (counted by the traffic loop) and the summary windows and predictions the hub
// stored from it. fleetSnapshot() gathers it from the hub's REST API; renderFleet()
// lays it out; fleetView() redraws it in place on a TTY and prints plain lines otherwise.
import { TELEMETRY_PAGE, pagePath, readPages, telemetryCursor, type Deployment, type DeploymentDevice, type Rollout, type WindowPage } from '@edgefleet/shared';
import { hubDevices, type Api } from './hub.js';
import type { AgentTraffic } from './traffic.js';

export interface DeviceRow {
  deviceId: string;
  tags: Record<string, string>;
  online: boolean;
  /** The version of `model` the device reports active, if any. */
  version: string | null;
  /** The newest deployment naming this device (not superseded). */
  deployment: { id: number; version: string; status: DeploymentDevice['status']; progress: number | null; reason: string | null } | null;
  /** Predictions the traffic loop got answers for; null when unknown. */
  served: number | null;
  /** Windows and predictions the hub stored from this device. */
  hubWindows: number;
  hubPredictions: number;
}

export interface FleetSnapshot {
  at: string;
  model: string;
  devices: DeviceRow[];
  deployments: Array<Omit<Deployment, 'devices'>>;
  /** The model's latest rollouts (newest first). */
  rollouts: Array<Omit<Rollout, 'devices'>>;
}

/** Remembers where each device's hub windows were read to, so each refresh only reads the new ones. */
class WindowCounter {
  private readonly seen = new Map<string, { after: string | null; windows: number; predictions: number }>();

  async refresh(api: Api, deviceId: string, model: string): Promise<{ windows: number; predictions: number }> {
    let s = this.seen.get(deviceId);
    if (!s) {
      s = { after: null, windows: 0, predictions: 0 };
      this.seen.set(deviceId, s);
    }
    const path = `/devices/${encodeURIComponent(deviceId)}/windows?${new URLSearchParams({ model, limit: String(TELEMETRY_PAGE.maxLimit) })}`;
    const r = await readPages(async (after) => {
      const p = await api<WindowPage>('GET', pagePath(path, after ?? s.after));
      return { rows: p.windows, next: p.next };
    });
    for (const w of r.rows) {
      s.windows++;
      s.predictions += w.count;
    }
    // The next refresh goes on after the last window read (the cursor of any row is its start and seq).
    const last = r.rows[r.rows.length - 1];
    if (last) s.after = telemetryCursor(last.start, last.seq);
    return { windows: s.windows, predictions: s.predictions };
  }
}

export interface SnapshotSource {
  api: Api;
  model: string;
  /** deviceId -> traffic stats, for the SERVED column. */
  served?: (deviceId: string) => AgentTraffic | undefined;
}

/** Builds a snapshot function that keeps its window counts between calls. */
export function fleetSnapshotter(src: SnapshotSource): () => Promise<FleetSnapshot> {
  const counter = new WindowCounter();
  return async () => {
    const [devices, { deployments }, { rollouts }] = await Promise.all([
      hubDevices(src.api), // every page: a fleet over 1,000 devices is more than one answer
      src.api<{ deployments: Array<Omit<Deployment, 'devices'>> }>('GET', '/deployments'),
      src.api<{ rollouts: Array<Omit<Rollout, 'devices'>> }>('GET', '/rollouts'),
    ]);
    // Newest first; details of the newest few are enough to place every device.
    const mine = deployments.filter((d) => d.model === src.model).sort((a, b) => b.id - a.id).slice(0, 5);
    const details = await Promise.all(mine.map((d) => src.api<Deployment>('GET', `/deployments/${d.id}`)));
    const rows: DeviceRow[] = [];
    for (const d of devices.filter((x) => !x.revoked)) {
      let dep: DeviceRow['deployment'] = null;
      for (const full of details) {
        const x = full.devices.find((y) => y.deviceId === d.id && y.status !== 'superseded');
        if (x) {
          dep = { id: full.id, version: full.version, status: x.status, progress: x.progress, reason: x.reason };
          break;
        }
      }
      const hub = await counter.refresh(src.api, d.id, src.model);
      const run = d.models.find((m) => m.name === src.model && m.status === 'active') ?? null;
      rows.push({
        deviceId: d.id, tags: d.tags, online: d.online, version: run?.version ?? null, deployment: dep,
        served: src.served?.(d.id)?.predictions ?? null, hubWindows: hub.windows, hubPredictions: hub.predictions,
      });
    }
    rows.sort((a, b) => a.deviceId.localeCompare(b.deviceId, 'en', { numeric: true }));
    return { at: new Date().toISOString(), model: src.model, devices: rows, deployments, rollouts: rollouts.filter((r) => r.model === src.model).slice(0, 3) };
  };
}

function bar(frac: number, width = 10): string {
  const f = Math.round(Math.max(0, Math.min(1, frac)) * width);
  return `[${'#'.repeat(f)}${'-'.repeat(width - f)}]`;
}

function deploymentCell(d: DeviceRow['deployment']): string {
  if (!d) return '-';
  // Taken off the device (an undeploy): nothing is in progress.
  if (d.status === 'removing' || d.status === 'removed') return `#${d.id} ${d.version} ${d.status}${d.reason ? ` ${d.reason}` : ''}`;
  const frac = d.status === 'active' ? 1 : d.status === 'pending' ? 0 : (d.progress ?? 0);
  const pct = `${String(Math.round(frac * 100)).padStart(3)}%`;
  return `#${d.id} ${d.version} ${d.status.replace('_', ' ')} ${bar(frac)} ${pct}${d.reason && d.status !== 'active' ? ` ${d.reason}` : ''}`;
}

/** `ro-… 1.0.0 -> 2.0.0 completed: canary passed (output_shift 0.05 <= 0.2, ...) -> all passed`; a gate still short of samples: `output_shift 0.8 pending (passes at <= 0.5)` */
export function rolloutLine(r: Omit<Rollout, 'devices'>): string {
  const waves = r.waves.map((w) => {
    const judged = w.gates.filter((g) => g.blocking && g.value !== null && ['model_error_rate', 'latency_p95', 'output_shift'].includes(g.name))
      .map((g) => `${g.name} ${g.value} ${g.verdict === 'fail' ? `> ${g.threshold} FAIL` : g.verdict === 'pending' ? `pending (${g.note ?? `passes at <= ${g.threshold}`})` : `<= ${g.threshold}`}`);
    return `${w.name} ${w.state} ${w.notified}/${w.devices}${judged.length ? ` (${judged.join(', ')})` : ''}`;
  });
  return `  ${r.id} ${r.fromVersion ?? '-'} -> ${r.version} ${r.state.replace('_', ' ')}${r.stateReason && r.state !== 'completed' ? ` — ${r.stateReason}` : ''}\n      ${waves.join(' -> ')}`;
}

function pad(cells: string[][]): string {
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length))) ?? [];
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + '\n';
}

/** The snapshot as text: a header, one row per device, totals, and the latest deployments. */
export function renderFleet(s: FleetSnapshot, title = 'edgefleet local fleet'): string {
  const head = ['DEVICE', 'TAGS', 'ONLINE', 'VERSION', 'DEPLOYMENT', 'SERVED', 'HUB WINDOWS', 'HUB PREDICTIONS'];
  const rows = s.devices.map((d) => [
    d.deviceId, Object.entries(d.tags).map(([k, v]) => `${k}=${v}`).join(',') || '-', d.online ? 'yes' : 'no', d.version ?? '-',
    deploymentCell(d.deployment), d.served === null ? '-' : String(d.served), String(d.hubWindows), String(d.hubPredictions),
  ]);
  const served = s.devices.reduce((n, d) => n + (d.served ?? 0), 0);
  const hubW = s.devices.reduce((n, d) => n + d.hubWindows, 0);
  const hubP = s.devices.reduce((n, d) => n + d.hubPredictions, 0);
  const online = s.devices.filter((d) => d.online).length;
  const versions = new Map<string, number>();
  for (const d of s.devices) versions.set(d.version ?? 'none', (versions.get(d.version ?? 'none') ?? 0) + 1);
  const deps = [...s.deployments].sort((a, b) => b.id - a.id).slice(0, 3).map((d) => {
    const counts = Object.entries(d.counts).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k.replace('_', ' ')}`).join(', ');
    return `  #${d.id} ${d.model} ${d.version} (${d.reason}): ${counts || 'no devices'}`;
  });
  return `${title} — ${s.model} — ${s.at}\n\n${pad([head, ...rows])}\n`
    + `${online}/${s.devices.length} online; versions: ${[...versions].map(([v, n]) => `${v} x${n}`).join(', ')}; `
    + `served ${served} predictions; hub stored ${hubW} windows holding ${hubP} predictions\n`
    + (deps.length ? `deployments:\n${deps.join('\n')}\n` : '')
    + (s.rollouts.length ? `rollouts:\n${s.rollouts.map(rolloutLine).join('\n')}\n` : '');
}

export interface FleetViewOptions extends SnapshotSource {
  out: { write(s: string): unknown; readonly isTTY?: boolean };
  /** Redraw interval on a TTY (default 1 s). */
  intervalMs?: number;
  /** Plain (non-TTY) output: print the table this often (default 5 s). */
  plainEveryMs?: number;
  title?: string;
}

export interface FleetView {
  /** The latest snapshot (null before the first refresh). */
  readonly last: FleetSnapshot | null;
  /** Takes a fresh snapshot now (also shown). */
  refresh(): Promise<FleetSnapshot>;
  /** Stops redrawing; idempotent. */
  stop(): Promise<void>;
}

/** Redraws the fleet table in place on a TTY; otherwise prints it every `plainEveryMs`. Errors show as a line, never stop the view. */
export function fleetView(o: FleetViewOptions): FleetView {
  const snap = fleetSnapshotter(o);
  const tty = o.out.isTTY === true;
  const every = tty ? (o.intervalMs ?? 1000) : (o.plainEveryMs ?? 5000);
  let last: FleetSnapshot | null = null;
  let lines = 0;
  let running: Promise<FleetSnapshot | null> | null = null;
  let stopped = false;

  const show = (text: string) => {
    if (tty) {
      o.out.write(`${lines ? `\x1b[${lines}F` : ''}\x1b[J${text}`);
      lines = text.split('\n').length - 1;
    } else {
      o.out.write(`${text}\n`);
    }
  };
  const tick = (): Promise<FleetSnapshot | null> => {
    running ??= snap().then(
      (s) => {
        last = s;
        if (!stopped) show(`${renderFleet(s, o.title)}${tty ? '(Ctrl-C stops the fleet)\n' : ''}`);
        return s;
      },
      (err: unknown) => {
        if (!stopped) show(`fleet view: cannot read the hub: ${(err as Error).message}\n`);
        return null;
      },
    ).finally(() => { running = null; });
    return running;
  };
  // tick() reports the hub's errors itself; this catches a failing write to `out`.
  const background = () => {
    tick().catch((err: unknown) => process.stderr.write(`fleet view: ${(err as Error).message}\n`));
  };
  background();
  const timer = setInterval(background, every);
  return {
    get last() { return last; },
    async refresh() {
      await running;
      const s = await tick();
      if (!s) throw new Error('fleet view: the hub did not answer');
      return s;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
