/** The review area: the queue, cases and decisions (one entry of server.ts's AREAS). */
import type { FastifyInstance } from 'fastify';
import type { ConsoleDeps } from '../deps.js';
import { casesRoutes } from './cases.js';
import { decisionsRoutes } from './decisions.js';
import { queueRoutes } from './queue.js';

export function reviewRoutes(app: FastifyInstance, deps: ConsoleDeps): void {
  queueRoutes(app, deps);
  casesRoutes(app, deps);
  decisionsRoutes(app, deps);
}
