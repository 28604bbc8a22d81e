// The grouping `edgefleet devices ls`/`show` and the console's fleet table share (model-versions.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelVersions, modelsOf } from './model-versions.js';
import type { DeviceInfo } from './wire/api-devices.js';

const models: DeviceInfo['models'] = [
  { name: 'm', version: '1.0.0', status: 'installed' },
  { name: 'z', version: '3.0.0', status: 'installed' },
  { name: 'm', version: '2.0.0', status: 'downloading', previous: '1.0.0' },
  { name: 'm', version: '0.9.0', status: 'installed' },
];

test('per model: the active version apart from the others, models in the order first listed', () => {
  assert.deepEqual(modelsOf(models), [
    { name: 'm', active: models[2], others: ['1.0.0', '0.9.0'] },
    { name: 'z', active: undefined, others: ['3.0.0'] },
  ]);
});

test('a device: its active versions and the others model by model (as devices ls and the fleet table say them)', () => {
  assert.deepEqual(modelVersions({ models }), { active: [models[2]], installed: ['m@1.0.0', 'm@0.9.0', 'z@3.0.0'] });
  assert.deepEqual(modelVersions({ models: [] }), { active: [], installed: [] });
});
