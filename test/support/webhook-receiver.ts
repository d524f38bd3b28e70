import { IncomingHttpHeaders, Server, createServer } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/** One request a receiver got. */
export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/** What the receiver answers the n-th request (1-based) to a path. */
export type Responder = (
  request: ReceivedWebhook,
  n: number,
) => { status: number; headers?: Record<string, string> } | 'hang-up' | 'stall';

/**
 * A webhook receiver on loopback: records every request (path, headers, exact body) and every
 * TCP connection, and answers per path as `responders` say (200 by default; `hang-up` closes
 * the connection without an answer, `stall` never answers).
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  connections = 0;
  private readonly responders = new Map<string, Responder>();
  private readonly sockets = new Set<Socket>();

  private readonly server: Server;
  port = 0;

  private constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        const request = { path: req.url ?? '/', headers: req.headers, body, at: Date.now() };
        this.received.push(request);
        const n = this.at(request.path).length;
        const answer = this.responders.get(request.path)?.(request, n) ?? { status: 200 };
        if (answer === 'hang-up') {
          req.socket.destroy();
          return;
        }
        if (answer === 'stall') return;
        res.writeHead(answer.status, answer.headers);
        res.end('ok');
      });
    });
    this.server.on('connection', (socket: Socket) => {
      this.connections += 1;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(host = '127.0.0.1'): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, host, resolve));
    receiver.port = (receiver.server.address() as AddressInfo).port;
    return receiver;
  }

  /** `http://127.0.0.1:<port><path>` */
  url(path: string, host = '127.0.0.1'): string {
    return `http://${host}:${this.port}${path}`;
  }

  respond(path: string, responder: Responder): void {
    this.responders.set(path, responder);
  }

  at(path: string): ReceivedWebhook[] {
    return this.received.filter((request) => request.path === path);
  }

  async waitFor(path: string, count: number, timeoutMs = 20000): Promise<ReceivedWebhook[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.at(path).length < count) {
      if (Date.now() > deadline)
        throw new Error(
          `${path}: ${this.at(path).length} of ${count} webhooks within ${timeoutMs} ms`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return this.at(path);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
