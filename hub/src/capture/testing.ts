// The capture part's API tests' hub (purge.test.ts, fetch-audit.test.ts): the harness (a real store on
// the backend given) with the deployments and capture parts on a link that publishes nowhere, model pump
// 1.0.0 registered, device `a`, and helpers to start a capture on it and make its chunks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeKeys } from '@edgefleet/examples';
import { CAPTURE_CHUNK_SCHEMA, newCaptureKeyFile, sealRows, type Capture, type CaptureChunk } from '@edgefleet/shared';
import type { FleetLink } from '../mqtt/ports.js';
import { RecordingLogger } from '../mqtt/testing/devices.js';
import { ManualClock, makeHarness, type Harness } from '../testing/harness.js';
import { makeParts } from '../testing/parts.js';
import { registerVersion } from '../rollups/testing.js';
import { CaptureService, type CaptureOptions } from './service.js';

export interface CaptureHub {
  h: Harness;
  captures: CaptureService;
  clock: ManualClock;
  /** The capture part's logger (its refusal lines). */
  logger: RecordingLogger;
  /** POST /captures of pump on device a (as an operator). */
  start(): Promise<Capture>;
  /** Device a's chunk `seq` of the capture: one row of `row`, sealed to the capture key. */
  chunk(captureId: number, seq: number, row?: string): Promise<CaptureChunk>;
  close(): void;
}

export function makeCaptureHub(database: string | undefined, options: Partial<CaptureOptions>): CaptureHub {
  const dir = mkdtempSync(join(tmpdir(), 'ef-capture-'));
  const keys = makeKeys(join(dir, 'keys'));
  const clock = new ManualClock();
  const key = newCaptureKeyFile();
  const link = { publish: () => Promise.resolve(), on: () => () => {} } as unknown as FleetLink;
  let captures: CaptureService | undefined;
  const logger = new RecordingLogger();
  const h = makeHarness({
    database,
    parts: (store) => {
      const parts = makeParts({ store, link, hubKey: keys.hub, clock, logger: new RecordingLogger(), desiredCapture: (id) => captures!.desiredFor(id) });
      captures = new CaptureService({ store, link, deployments: parts.deployments, clock, logger, options: { publicKey: key.public, ...options } });
      return { deployments: parts.deployments, captures };
    },
  });
  registerVersion(h.store.db, 'pump', '1.0.0', {});
  h.store.devices.create('a', 'secret-a-0123456789abcdef0123', {}, null, clock.now());
  const request = { model: 'pump', target: { devices: ['a'] }, rate: 1, maxRows: 1000, durationSec: 600, reason: 'retrain on summer data' };
  return {
    h, captures: captures!, clock, logger,
    start: async () => (await (await h.req('POST', '/api/v1/captures', { role: 'operator', json: request })).json()) as Capture,
    chunk: async (captureId, seq, row = 'y'.repeat(600)) => ({
      schema: CAPTURE_CHUNK_SCHEMA, deviceId: 'a', seq, rows: 1, captureId, sealed: await sealRows(Buffer.from(`${row}\n`), key.public),
    }),
    close: () => {
      h.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
