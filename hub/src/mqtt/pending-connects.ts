// Connections of the embedded broker that have not had their CONNACK yet, per remote address. Until its
// CONNECT is read and answered a connection is nobody's: the per-address attempt limit (connect-guard.ts)
// counts CONNECT packets, so a client that opens sockets and sends nothing held each for aedes'
// connectTimeout (10 s), as many as it could open (docs/mqtt.md "Connection limits"). Past the share a new
// connection is closed on accept; a CONNACK sent (refused or not) or a close gives the place back.
export class PendingConnects {
  private readonly byAddress = new Map<string, number>();
  private readonly pending = new Map<object, string>();

  constructor(readonly perAddress: number) {
    if (!Number.isInteger(perAddress) || perAddress < 1) throw new Error(`connectRateLimit.pendingPerAddress must be a positive integer, got ${perAddress}`);
  }

  /** Takes a place for `conn` from `address`, or false when the address holds its share already. */
  admit(conn: object, address: string): boolean {
    const n = this.byAddress.get(address) ?? 0;
    if (n >= this.perAddress) return false;
    this.byAddress.set(address, n + 1);
    this.pending.set(conn, address);
    return true;
  }

  /** Gives `conn`'s place back (its CONNACK went out, or it closed); a second call does nothing. */
  release(conn: object): void {
    const address = this.pending.get(conn);
    if (address === undefined) return;
    this.pending.delete(conn);
    const left = (this.byAddress.get(address) ?? 1) - 1;
    if (left <= 0) this.byAddress.delete(address);
    else this.byAddress.set(address, left);
  }

  /** Connections waiting for their CONNACK, from `address` or in all. */
  count(address?: string): number {
    return address === undefined ? this.pending.size : this.byAddress.get(address) ?? 0;
  }
}
