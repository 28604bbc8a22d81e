// What the embedded broker checks around CONNECT besides the secret (docs/mqtt.md "Connection
// limits" and "Credentials in use twice"): attempts per address (flood guard), failed
// authentications per device id and per address (cool-down locks), and sessions of one device
// taken over repeatedly (the same credentials in use by two connections).
import { ConnectRateLimiter, FailureLimiter } from './rate-limit.js';
import { DEFAULT_TAKEOVER_WATCH, TakeoverWatch, type CredentialsInUseTwice, type TakeoverWatchOptions } from './takeovers.js';
import type { ClockPort, LoggerPort, MetricsPort } from './ports.js';

export interface ConnectLimits {
  /** All CONNECT attempts per remote address per minute (flood guard; a NAT shares it). */
  perAddressPerMinute: number;
  /** Failed authentications per remote address per minute before the address is locked. Default 600. */
  failuresPerAddressPerMinute?: number;
  /** Failed authentications per device id per minute before the id is locked. Default 10. */
  failuresPerIdPerMinute?: number;
  /** How long a locked id or address stays locked. Default 60 s. */
  coolDownMs?: number;
  /** Device ids (and addresses) tracked for failures at most. Default 100,000. */
  maxTracked?: number;
  /**
   * Connections from one address still waiting for their CONNACK (pending-connects.ts). Default
   * perAddressPerMinute: no more unanswered sockets than CONNECTs the address may send in a minute, so a
   * NAT whose limit was raised for its devices' reconnect storm is not refused by this one.
   */
  pendingPerAddress?: number;
  /**
   * Connections from all addresses still waiting for their CONNACK (pending-connects.ts). Default 10,000: what many
   * addresses together can make the broker hold before it answers; a reconnect storm of more devices than this is
   * admitted as fast as CONNACKs go out, the rest closed on accept and retried by their clients.
   */
  pendingTotal?: number;
}

export const CONNECT_LIMIT_DEFAULTS = { failuresPerAddressPerMinute: 600, failuresPerIdPerMinute: 10, coolDownMs: 60_000, maxTracked: 100_000, pendingTotal: 10_000 };

export interface ConnectGuardDeps {
  limits: ConnectLimits;
  takeovers?: Partial<TakeoverWatchOptions>;
  /** Called once per report (the hub writes the audit entry). Must not throw; errors are logged. */
  onCredentialsInUseTwice?: (deviceId: string, info: CredentialsInUseTwice) => void;
  metrics: MetricsPort;
  logger: LoggerPort;
  clock: ClockPort;
}

export class ConnectGuard {
  private readonly attempts: ConnectRateLimiter;
  private readonly idFailures: FailureLimiter;
  private readonly addressFailures: FailureLimiter;
  private readonly watch: TakeoverWatch;
  readonly limits: Required<ConnectLimits>;

  constructor(private readonly deps: ConnectGuardDeps) {
    this.limits = { ...CONNECT_LIMIT_DEFAULTS, ...deps.limits, pendingPerAddress: deps.limits.pendingPerAddress ?? deps.limits.perAddressPerMinute };
    const l = this.limits;
    this.attempts = new ConnectRateLimiter(l.perAddressPerMinute, deps.clock, l.maxTracked);
    this.idFailures = new FailureLimiter({ perMinute: l.failuresPerIdPerMinute, coolDownMs: l.coolDownMs, maxKeys: l.maxTracked, name: 'connectRateLimit.failuresPerIdPerMinute' }, deps.clock);
    this.addressFailures = new FailureLimiter({ perMinute: l.failuresPerAddressPerMinute, coolDownMs: l.coolDownMs, maxKeys: l.maxTracked, name: 'connectRateLimit.failuresPerAddressPerMinute' }, deps.clock);
    this.watch = new TakeoverWatch({ ...DEFAULT_TAKEOVER_WATCH, ...deps.takeovers }, deps.clock);
  }

  /** Before CONNECT is read: null when the address may try, else why not. */
  admitAddress(address: string): string | null {
    if (!this.attempts.allow(address)) return `too many connection attempts from ${address}: at most ${this.limits.perAddressPerMinute} a minute`;
    const until = this.addressFailures.lockedUntil(address);
    if (until !== null) return `too many failed authentications from ${address}: locked until ${new Date(until).toISOString()}`;
    return null;
  }

  /** Before the secret is checked: null when the id may try, else why not (the id is locked). */
  admitId(deviceId: string): string | null {
    const until = this.idFailures.lockedUntil(deviceId);
    if (until === null) return null;
    return `device ${deviceId}: too many failed authentications, try again after ${new Date(until).toISOString()}`;
  }

  /** One failed authentication (bad secret, unknown, revoked, bad CONNECT) of `deviceId` from `address`. */
  failed(deviceId: string | null, address: string): void {
    if (deviceId !== null && this.idFailures.fail(deviceId)) {
      this.deps.metrics.inc('edgefleet_mqtt_locked_total', { scope: 'device' });
      this.deps.logger.warn({ deviceId, address, perMinute: this.limits.failuresPerIdPerMinute, coolDownMs: this.limits.coolDownMs }, 'mqtt: device id locked after too many failed authentications');
    }
    if (this.addressFailures.fail(address)) {
      this.deps.metrics.inc('edgefleet_mqtt_locked_total', { scope: 'address' });
      this.deps.logger.warn({ address, perMinute: this.limits.failuresPerAddressPerMinute, coolDownMs: this.limits.coolDownMs }, 'mqtt: address locked after too many failed authentications');
    }
  }

  /** A successful CONNECT took over the device's existing session. */
  takeover(deviceId: string, address: string): void {
    const report = this.watch.takeover(deviceId);
    this.deps.logger.debug({ deviceId, address }, 'mqtt: session taken over by a new connection');
    if (!report) return;
    this.deps.metrics.inc('edgefleet_mqtt_credentials_in_use_twice_total');
    this.deps.logger.warn({ deviceId, address, takeovers: report.takeovers }, 'mqtt: credentials in use twice (connections with one device\'s credentials keep taking each other over)');
    try {
      this.deps.onCredentialsInUseTwice?.(deviceId, report);
    } catch (err) {
      this.deps.logger.error({ deviceId, err: String(err) }, 'could not record credentials in use twice');
    }
  }

  credentialsInUseTwice(deviceId: string): CredentialsInUseTwice | null {
    return this.watch.last(deviceId);
  }
}
