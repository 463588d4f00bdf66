/**
 * The console's HTTP server (fastify): security headers (a strict CSP: everything from this
 * origin, nothing inline), form and cookie parsing, the static assets, the sign-in guard, then
 * one route module per area. Built without listening, so tests can inject requests or listen
 * on port 0.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { IdentityError } from '../identity/users.js';
import { refuse, registerAuth } from './auth.js';
import type { ConsoleDeps } from './deps.js';
import { oidcRoutes } from './oidc.js';
import { activityRoutes } from './routes/activity.js';
import { approvalsRoutes } from './routes/approvals.js';
import { overviewRoutes } from './routes/overview.js';
import { reviewRoutes } from './routes/review.js';
import { rulesRoutes } from './routes/rules.js';

/** One area of the console: its routes, registered after the guard. */
export type ConsoleRoutes = (app: FastifyInstance, deps: ConsoleDeps) => void | Promise<void>;

/** Every area, in navigation order. */
const AREAS: ConsoleRoutes[] = [overviewRoutes, reviewRoutes, rulesRoutes, approvalsRoutes, activityRoutes];

/** The assets live in the source tree (tsc does not copy them), as the migrations do. */
function assetsDir(): string {
  const here = join(import.meta.dirname, 'assets');
  return existsSync(here) ? here : resolve(import.meta.dirname, '../../src/console/assets');
}

/** A refusal whose message is for the person (a conflict, a missing role, a bad value): 4xx, not 500. */
export class ConsoleRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function buildConsole(deps: ConsoleDeps, extra: ConsoleRoutes[] = []): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, trustProxy: false });
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
        upgradeInsecureRequests: null,
      },
    },
    // Served over plain HTTP on loopback in development; a deployment puts TLS in front.
    strictTransportSecurity: false,
  });
  await app.register(formbody);
  await app.register(cookie);
  await app.register(fastifyStatic, { root: assetsDir(), prefix: '/assets/', maxAge: '1h' });
  app.get('/healthz', async () => ({ ok: true }));

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof ConsoleRefusal) return refuse(req, reply, err.status, err.message);
    if (err instanceof IdentityError) return refuse(req, reply, 403, err.message);
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return refuse(req, reply, status, (err as Error).message);
    deps.log.error({ err, url: req.url }, 'console request failed');
    return refuse(
      req,
      reply,
      500,
      'Something went wrong on our side; nothing was changed. The error is in the console log.',
    );
  });

  registerAuth(app, deps);
  if (deps.oidc) oidcRoutes(app, deps);
  for (const area of [...AREAS, ...extra]) await area(app, deps);
  return app;
}
