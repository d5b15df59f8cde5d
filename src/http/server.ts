import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, errorMessage } from '../errors/index.js';
import type { HealthReport } from '../observability/health.js';
import type { Logger } from '../observability/logger.js';
import { PAGE_SCRIPT_SOURCE, renderPage } from './page.js';
import { SseHub } from './sse.js';
import type { StatusSnapshot } from './status-model.js';

/** What the endpoints serve: the seam between HTTP and the service. */
export interface HttpEndpoints {
  metrics(): Promise<{ contentType: string; body: string }>;
  liveness(): HealthReport;
  readiness(): HealthReport;
  snapshot(): StatusSnapshot;
  onChange(listener: () => void): () => void;
}

export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port (see `address`). */
  port: number;
  logger: Logger;
  endpoints: HttpEndpoints;
  /** SSE tuning (tests make it fast). */
  sse?: { throttleMs?: number; maxClients?: number };
}

/**
 * The HTTP endpoints on one port (node:http, no framework):
 *   GET /metrics   Prometheus text format
 *   GET /healthz   liveness, JSON; 503 when failing
 *   GET /readyz    readiness, JSON; 503 when not ready
 *   GET / (or /status)   the status page; GET /status.json its data; GET /events its live updates (SSE)
 * `stop()` is idempotent and ends open event streams, so it never hangs.
 */
export class HttpServer {
  private readonly server: Server;
  private readonly sse: SseHub;
  private stopping: Promise<void> | null = null;
  private bound: AddressInfo | null = null;

  constructor(private readonly o: HttpServerOptions) {
    this.sse = new SseHub({ snapshot: () => o.endpoints.snapshot(), onChange: (l) => o.endpoints.onChange(l), ...o.sse });
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        o.logger.error({ err, url: req.url }, 'HTTP request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      });
    });
    // A scrape that hangs must not hold a socket forever.
    this.server.requestTimeout = 30_000;
  }

  /** Where it listens, once started. */
  get address(): { host: string; port: number } | null {
    return this.bound ? { host: this.bound.address, port: this.bound.port } : null;
  }

  /** Listens; a port in use or an address that is not ours fails with a ConfigError naming `http.host`/`http.port`. */
  async start(): Promise<{ host: string; port: number }> {
    const { host, port } = this.o;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(
          new ConfigError(
            `\`http.port\`/\`http.host\`: cannot listen on ${host}:${port} (${err.code ?? errorMessage(err)}): choose another port, or set http.enabled: false`,
            { cause: err },
          ),
        );
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.bound = this.server.address() as AddressInfo;
    this.server.on('error', (err) => this.o.logger.error({ err }, 'HTTP server error'));
    return this.address as { host: string; port: number };
  }

  stop(): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      this.sse.close();
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      // Keep-alive sockets in the middle of nothing: close them too, so close() returns now.
      setTimeout(() => this.server.closeAllConnections(), 1000).unref();
    });
    return this.stopping;
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const { endpoints } = this.o;
    switch (path) {
      case '/metrics': {
        const { contentType, body } = await endpoints.metrics();
        return send(res, 200, contentType, body);
      }
      case '/healthz':
        return health(res, endpoints.liveness());
      case '/readyz':
        return health(res, endpoints.readiness());
      case '/':
      case '/status':
        return send(res, 200, 'text/html; charset=utf-8', renderPage(endpoints.snapshot()), {
          'content-security-policy': `default-src 'none'; script-src ${PAGE_SCRIPT_SOURCE}; style-src 'unsafe-inline'; connect-src 'self'`,
        });
      case '/status.json':
        return send(res, 200, 'application/json', JSON.stringify(endpoints.snapshot()));
      case '/events':
        this.sse.accept(res);
        return;
      default:
        return send(res, 404, 'text/plain; charset=utf-8', `not found: try /metrics, /healthz, /readyz, / (status page)\n`);
    }
  }
}

function health(res: ServerResponse, report: HealthReport): void {
  const ok = report.status === 'ok' || report.status === 'ready';
  send(res, ok ? 200 : 503, 'application/json', `${JSON.stringify(report, null, 2)}\n`);
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
