// The data capture part of an enrolled agent (docs/agent.md "Data capture"): the capturer (sampling
// and sealing, a PredictionRecorder beside the summaries) and the uploader, joined to the hub link
// as one CaptureLink. Built by agent.ts only when the box is enrolled.
import type { CaptureAck, DesiredCapture } from '@edgefleet/shared';
import type { CaptureLink } from '../sync/client.js';
import type { PredictionRecorder, RecordedTensor } from '../runtime/recorder.js';
import { Capturer, type CapturerDeps } from './capturer.js';
import { CaptureUploader } from './uploader.js';

export class DataCapture implements CaptureLink, PredictionRecorder {
  readonly capturer: Capturer;
  readonly uploader: CaptureUploader;

  private readonly wipeWal: (() => void) | undefined;

  /** `wipeWal`: truncate agent.db's WAL (WalKeeper.truncateSoon) once a capture's last chunk is acked or it is refused. */
  constructor(deps: Omit<CapturerDeps, 'stored'> & { wipeWal?: () => void }) {
    this.wipeWal = deps.wipeWal;
    this.capturer = new Capturer({ ...deps, stored: () => this.uploader.kick(0) });
    this.uploader = new CaptureUploader(this.capturer, deps.deviceId, deps.logger, { uploadsPerSec: deps.config.uploadsPerSec, inFlight: 4, resendAfterMs: 15_000 }, deps.now);
  }

  start(): void {
    this.capturer.start();
  }

  /** Seals what is buffered into agent.db (the caller bounds it with a deadline). */
  async stop(): Promise<void> {
    this.uploader.pause();
    await this.capturer.stop();
  }

  apply(specs: readonly DesiredCapture[]): void {
    this.capturer.apply(specs);
  }

  onAck(ack: CaptureAck): void {
    this.uploader.onAck(ack);
    // Nothing of the capture is left on the box: its chunks were deleted with secure_delete, and the WAL
    // frames written before, which still hold their ciphertext, go too (docs/agent.md "Data capture").
    if (this.capturer.store.finished(ack.captureId)) this.wipeWal?.();
  }

  resume(publish: (payload: string) => Promise<void>): void {
    this.uploader.resume(publish);
  }

  pause(): void {
    this.uploader.pause();
  }

  record(model: string, version: string, feeds: readonly RecordedTensor[], outputs: readonly RecordedTensor[]): void {
    this.capturer.record(model, version, feeds, outputs);
  }

  recordError(): void {}
}
