// A listen refusal the configuration can cure, in words naming the setting (docs/cli.md "Exit codes and
// errors"): a port in use, an address that is not this box's, a port that needs privileges. Used by
// the agent's local API and the hub's HTTP API and broker listeners.
import { AppError } from './errors.js';

/**
 * CONFIG_INVALID naming `settings.port` / `settings.host` (e.g. "api.port", "httpPort (--http-port)"),
 * the value and what was expected; any other error as it is. `program` is "agent" or "hub".
 */
export function listenError(err: NodeJS.ErrnoException, port: number, host: string, settings: { port: string; host: string }, program: string): unknown {
  const bad = (message: string) => new AppError('CONFIG_INVALID', message, { cause: err });
  switch (err.code) {
    case 'EADDRINUSE':
      return bad(`${settings.port} ${port} on ${host} is in use (EADDRINUSE): expected a free port: another ${program} or program listens on ${port}`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return bad(`${settings.host} ${host} is not an address of this box (${err.code}): expected the address of one of its interfaces, 127.0.0.1 (the default) or 0.0.0.0`);
    case 'EACCES':
      return bad(`${settings.port} ${port} on ${host} is not allowed to the ${program} (EACCES): expected a port from 1024 up (lower ones need privileges the ${program} runs without)`);
    default:
      return err;
  }
}
