// A device's model versions grouped as `edgefleet devices ls`/`devices show` and the console's fleet table show them
// (docs/cli.md "devices", docs/console.md): per model the version the box reported active (GET /devices gives it the
// model's status; every other version it holds reads `installed`) apart from the others it holds. One function for
// both, so a box that runs 3.0.0 after a rollout reads the same in either. Pure: the console renderer imports it.
import type { DeviceInfo } from './wire/api-devices.js';

type Run = DeviceInfo['models'][number];

/** Per model (in the order first listed): its active version, if one is, and the versions of the others it holds. */
export function modelsOf(models: readonly Run[]): Array<{ name: string; active: Run | undefined; others: string[] }> {
  return [...new Set(models.map((m) => m.name))].map((name) => {
    const rows = models.filter((m) => m.name === name);
    const active = rows.find((m) => m.status !== 'installed');
    return { name, active, others: rows.filter((m) => m !== active).map((m) => m.version) };
  });
}

/** Device `d`'s active versions (one per model at most) and the others it holds as `name@version`, model by model. */
export function modelVersions(d: { models: readonly Run[] }): { active: Run[]; installed: string[] } {
  const by = modelsOf(d.models);
  return {
    active: by.flatMap(({ active }) => (active ? [active] : [])),
    installed: by.flatMap(({ name, others }) => others.map((v) => `${name}@${v}`)),
  };
}
