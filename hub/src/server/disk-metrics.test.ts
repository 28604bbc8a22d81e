// The hub's data dir disk on /metrics (docs/operations.md, troubleshooting "the hub's disk fills"): a
// hub process's gauges are statfs of its data dir, read at each scrape, so a disk that fills shows at the
// next one. Its data dir on a real tmpfs of 32 MiB (examples' smallDisk; skipped where mount(8) is refused).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeFixture, smallDisk, type SmallDisk } from '@edgefleet/examples';
import { HubConfig } from '../config.js';
import { Hub } from './hub.js';
import { noopLogger } from '../mqtt/ports.js';
import { systemClock } from '../clock.js';

// One describe, so that this file's hooks are its own and it may share a process with others
// (docs/decisions/0145-short-test-files-share-a-process.md).
describe('disk-metrics', () => {
  const disk: SmallDisk | string = smallDisk(32 << 20);
  after(() => {
    if (typeof disk !== 'string') disk.unmount();
  });

  const gauge = (text: string, name: string): number => {
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
    assert.ok(m, `${name} on /metrics`);
    return Number(m[1]);
  };

  test('edgefleet_hub_disk_free_bytes and _total_bytes are the data dir\'s disk at each scrape', { skip: typeof disk === 'string' ? disk : false }, async () => {
    const d = disk as SmallDisk;
    const fx = await makeFixture(join(d.dir, 'fx'));
    const cfg = HubConfig.parse({ dataDir: join(d.dir, 'hub'), httpPort: 0, mqttPort: 0, host: '127.0.0.1', trust: fx.trustPath, hubKey: fx.keys.files.hub.keyPath, logLevel: 'silent' });
    const hub = new Hub(cfg, noopLogger, systemClock);
    try {
      const addr = await hub.start();
      const scrape = async () => (await fetch(`${addr.http}/metrics`)).text();
      const first = await scrape();
      assert.equal(gauge(first, 'edgefleet_hub_disk_total_bytes'), 32 << 20);
      assert.ok(Math.abs(gauge(first, 'edgefleet_hub_disk_free_bytes') - d.available()) < 1 << 20, first.split('\n').filter((l) => l.includes('disk')).join('\n'));
      d.fill(2 << 20);
      const free = gauge(await scrape(), 'edgefleet_hub_disk_free_bytes');
      assert.ok(free <= 2 << 20 && free >= 1 << 20, `the fill shows at the next scrape: ${free} bytes free`);
    } finally {
      await hub.stop();
      d.free();
    }
  });
});
