// Binds the API handler to a host and port. stop() stops accepting, lets
// in-flight requests finish, then closes idle keep-alive connections.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export class ApiServer {
  private server: Server | undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly handler: (req: IncomingMessage, res: ServerResponse) => void, private readonly host: string, private readonly port: number) {}

  async start(): Promise<void> {
    const server = createServer({ keepAliveTimeout: 5000 }, this.handler);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (!a) throw new Error('api server is not listening');
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  stop(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    this.stopping ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      // Connections that finish their request become idle; close them as they do.
      const timer = setInterval(() => server.closeIdleConnections(), 50);
      server.once('close', () => clearInterval(timer));
    });
    return this.stopping;
  }
}
