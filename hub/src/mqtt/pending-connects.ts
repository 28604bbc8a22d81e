// Connections of the embedded broker that have not had their CONNACK yet, per remote address. Until its
// CONNECT is read and answered a connection is nobody's: the per-address attempt limit (connect-guard.ts)
// counts CONNECT packets, so a client that opens sockets and sends nothing held each for aedes'
// connectTimeout (10 s), as many as it could open (docs/mqtt.md "Connection limits"). Past an address's share,
// or past the total for all addresses (many addresses together), a new connection is closed on accept; a CONNACK
// sent (refused or not) or a close gives the place back.
export class PendingConnects {
  private readonly byAddress = new Map<string, number>();
  private readonly pending = new Map<object, string>();

  constructor(readonly perAddress: number, readonly total: number) {
    for (const [name, v] of [['pendingPerAddress', perAddress], ['pendingTotal', total]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`connectRateLimit.${name} must be a positive integer, got ${v}`);
    }
  }

  /** Takes a place for `conn` from `address`; else which share is full: the address's, or all addresses' together. */
  admit(conn: object, address: string): 'address' | 'total' | null {
    const n = this.byAddress.get(address) ?? 0;
    if (n >= this.perAddress) return 'address';
    if (this.pending.size >= this.total) return 'total';
    this.byAddress.set(address, n + 1);
    this.pending.set(conn, address);
    return null;
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
