/** /metrics, /healthz (alive) and /readyz (connected, assigned, model and rules loaded). */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface Readiness {
  ready(): { ok: boolean; checks: Record<string, boolean> };
}

export async function startHttp(opts: {
  host: string;
  port: number;
  registry: Registry;
  readiness: Readiness;
}): Promise<Server> {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/metrics')) {
      opts.registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': opts.registry.contentType });
          res.end(body);
        },
        (err: Error) => {
          res.writeHead(500);
          res.end(err.message);
        },
      );
    } else if (url.startsWith('/healthz')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"status":"alive"}');
    } else if (url.startsWith('/readyz')) {
      const r = opts.readiness.ready();
      res.writeHead(r.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: r.ok ? 'ready' : 'not ready', checks: r.checks }));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return server;
}

/**
 * startHttp, or null when `port` is 0 (off); ready when every named check of `checks()` holds
 * (each reported by /readyz).
 */
export async function startHealthHttp(o: {
  host: string;
  port: number;
  registry: Registry;
  checks: () => Record<string, boolean>;
}): Promise<Server | null> {
  if (o.port === 0) return null;
  const ready = () => {
    const checks = o.checks();
    return { ok: Object.values(checks).every(Boolean), checks };
  };
  return startHttp({ host: o.host, port: o.port, registry: o.registry, readiness: { ready } });
}
