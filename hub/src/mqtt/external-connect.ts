// The external broker connected to at start, waiting for one that cannot be reached yet (docs/mqtt.md
// "External broker"): a Mosquitto booting after the hub, or restarting with it, is tried again every
// second up to `externalBroker.waitMs`, as a PostgreSQL server is (server/open-store.ts), instead of the
// start failing at once and a service manager giving up after a few quick restarts. A broker that answers
// and refuses the hub (CONNACK not authorized, bad user or password) or a TLS failure is a configuration
// error: not waited for. stop() ends the wait and the attempt in progress at once.
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { AppError, tlsHint } from '@edgefleet/shared';
import type { LoggerPort } from './ports.js';

/** Node's codes for a broker that is not there (yet): nothing listening, no such name (yet), no route, no answer. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Whether `err` says the broker could not be reached (waited for), not that it refused the hub. */
function brokerUnreachable(err: Error & { code?: unknown }): boolean {
  // MQTT.js's connectTimeout: no CONNACK in time (a black-holed address, a broker still starting).
  return (typeof err.code === 'string' && UNREACHABLE.has(err.code)) || err.message === 'connack timeout';
}

export interface BrokerConnect {
  url: string;
  username: string;
  options: IClientOptions;
  /** 0: no wait, an unreachable broker fails the start at once. */
  waitMs: number;
  logger: LoggerPort;
  retryMs?: number;
}

export class BrokerConnector {
  private pending: MqttClient | null = null;
  private readonly abort = new AbortController();

  constructor(private readonly o: BrokerConnect) {}

  /** The connected client; IO_ERROR naming the broker and the user when refused, or unreachable past waitMs. */
  async connect(): Promise<MqttClient> {
    const { url, username, waitMs, logger } = this.o;
    const retryMs = this.o.retryMs ?? 1000;
    const t0 = Date.now();
    let waiting = false;
    for (;;) {
      try {
        const c = await this.attempt();
        if (waiting) logger.info({ url }, `broker ${url} reached: starting`);
        return c;
      } catch (e) {
        const err = e as Error & { code?: unknown };
        if (this.abort.signal.aborted) throw new AppError('IO_ERROR', `stopped while waiting for the external MQTT broker ${url}`, { cause: err });
        if (!brokerUnreachable(err) || Date.now() + retryMs > t0 + waitMs) {
          // The broker named, and for a certificate what to do (docs/operations.md "TLS").
          const hint = tlsHint(err);
          const waited = waiting ? `; tried again every second for ${Math.round((Date.now() - t0) / 1000)} s (externalBroker.waitMs ${waitMs})` : '';
          throw new AppError('IO_ERROR', `cannot connect to the external MQTT broker ${url} as ${username}: ${err.message}${hint ? ` (${hint})` : ''}${waited}`, { cause: err });
        }
        if (!waiting) logger.warn({ url, err: err.message, waitMs }, `broker ${url} cannot be reached yet: waiting up to ${Math.round(waitMs / 1000)} s (externalBroker.waitMs)`);
        waiting = true;
        await sleep(retryMs, undefined, { signal: this.abort.signal }).catch(() => undefined);
      }
    }
  }

  /** Ends the wait and the attempt in progress (connect() then fails with "stopped while waiting"). */
  stop(): void {
    this.abort.abort();
    this.pending?.end(true);
  }

  /** One connection attempt; a failed one is ended (MQTT.js reconnects by itself only once connected). */
  private attempt(): Promise<MqttClient> {
    if (this.abort.signal.aborted) return Promise.reject(new Error('stopped'));
    return new Promise((resolve, reject) => {
      const c = mqtt.connect(this.o.url, this.o.options);
      this.pending = c;
      const settle = (err?: Error) => {
        c.off('connect', onConnect).off('error', settle).off('close', onClose).off('end', onClose);
        this.pending = null;
        if (!err) return resolve(c);
        c.end(true);
        reject(err);
      };
      const onConnect = () => settle();
      // A close without an error (ended by stop(), or the broker hung up before its CONNACK).
      const onClose = () => settle(Object.assign(new Error('the broker closed the connection before its CONNACK'), { code: 'ECONNRESET' }));
      c.once('connect', onConnect).once('error', settle).once('close', onClose).once('end', onClose);
    });
  }
}
