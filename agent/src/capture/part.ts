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

  constructor(deps: Omit<CapturerDeps, 'stored'>) {
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
