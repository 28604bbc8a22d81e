// The embedded broker's CONNECT checks (docs/mqtt.md "Identity and access control", "Connection
// limits", "Credentials in use twice"): address limits before CONNECT is read; then credentials,
// client id = username, the last will, the per-id lock, and the secret; a successful CONNECT that
// takes over the device's current session is counted (connect-guard.ts).
import type net from 'node:net';
import type { Aedes, AuthenticateError, Client } from 'aedes';
import { DeviceId } from '@edgefleet/shared';
import { checkDeviceWill } from './acl.js';
import { clip } from './refusals.js';
import type { ConnectGuard } from './connect-guard.js';
import type { DeviceAuthPort, LoggerPort } from './ports.js';

// CONNACK return codes, MQTT 3.1.1 section 3.2.2.3.
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;

export interface ConnectHookDeps {
  guard: ConnectGuard;
  devices: DeviceAuthPort;
  logger: LoggerPort;
  /** Counts and logs a refusal of `who`, a device id or an address (refusals.ts). */
  refuse(reason: string, who: string, fields: Record<string, unknown>): void;
  maxPayloadBytes: number;
  /** aedes' connected clients by id. */
  clients(): Record<string, Client | undefined>;
}

function authError(code: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code }) as AuthenticateError;
}

export function remoteAddress(client: Client): string {
  return (client.conn as net.Socket).remoteAddress ?? 'unknown';
}

export function installConnectHooks(b: Aedes, d: ConnectHookDeps): void {
  b.preConnect = (client, _packet, done) => {
    const addr = remoteAddress(client);
    const why = d.guard.admitAddress(addr);
    if (why) {
      d.refuse('rate_limited', addr, { address: addr, why });
      done(new Error(why), false);
      return;
    }
    done(null, true);
  };
  b.authenticate = (client, username, password, done) => {
    const addr = remoteAddress(client);
    if (!username || !password) {
      d.guard.failed(null, addr);
      d.refuse('no_credentials', addr, { clientId: client.id, address: addr });
      done(authError(BAD_USERNAME_OR_PASSWORD, 'username (device id) and password (device secret) are required'), false);
      return;
    }
    // Not a device id (at most 128 characters): no device has it, and it is not tracked as an id (a
    // 65,000-character username per failure held 6 GB at the 100,000 ids connect-guard.ts tracks).
    if (!DeviceId.safeParse(username).success) {
      d.guard.failed(null, addr);
      d.refuse('bad_username', addr, { username, address: addr });
      done(authError(BAD_USERNAME_OR_PASSWORD, `username ${clip(username)} is not a device id: expected letters, digits, ".", "_" or "-" (at most 128)`), false);
      return;
    }
    if (client.id !== username) {
      d.guard.failed(null, addr);
      d.refuse('client_id_mismatch', username, { clientId: client.id, username, address: addr });
      done(authError(IDENTIFIER_REJECTED, `client id ${clip(client.id)} must equal the username ${username}`), false);
      return;
    }
    const will = (client as unknown as { _will?: { topic: string; payload: Buffer } | null })._will;
    let willReason: string | null;
    try {
      willReason = checkDeviceWill(username, will, d.maxPayloadBytes);
    } catch {
      willReason = 'invalid device id';
    }
    if (willReason) {
      d.guard.failed(null, addr);
      d.refuse('will_refused', username, { deviceId: username, address: addr, why: willReason });
      done(authError(NOT_AUTHORIZED, willReason), false);
      return;
    }
    // A locked id is refused before its secret is checked: no more guesses, from any address.
    const locked = d.guard.admitId(username);
    if (locked) {
      d.refuse('id_locked', username, { deviceId: username, address: addr });
      done(authError(SERVER_UNAVAILABLE, locked), false);
      return;
    }
    d.devices.authenticate(username, password.toString('utf8')).then(
      (result) => {
        if (result === 'ok') {
          // aedes closes the session's current connection for this one (a takeover).
          const current = d.clients()[username];
          if (current && current !== client) d.guard.takeover(username, addr);
          return done(null, true);
        }
        d.guard.failed(username, addr);
        d.refuse(`auth_${result}`, username, { deviceId: username, address: addr });
        done(authError(result === 'revoked' ? NOT_AUTHORIZED : BAD_USERNAME_OR_PASSWORD, `device ${username}: ${result}`), false);
      },
      (err: unknown) => {
        d.logger.error({ deviceId: username, err: String(err) }, 'device authentication failed');
        done(authError(SERVER_UNAVAILABLE, 'authentication unavailable'), false);
      },
    );
  };
}
