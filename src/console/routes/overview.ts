/**
 * The overview page (`/`): the last hour and day of decisions, the review queue against its SLA,
 * top rules, scores and the engine's own state; `/overview/fragment` is the part that the page's
 * data-refresh (console.js) fetches again every 10 s.
 */
import type { FastifyInstance } from 'fastify';
import { queueCounts } from '../../cases/queue.js';
import { fetchEngineInfo } from '../../observability/engine-info.js';
import { overviewStats } from '../../sinks/audit/overview-stats.js';
import type { ConsoleDeps } from '../deps.js';
import { html, type Html } from '../html.js';
import { page } from '../layout.js';
import { overviewFragment } from './overview-view.js';

const REFRESH_MS = 10_000;
/**
 * The figures scan the last day of the audit trail; every open overview refreshes every 10 s.
 * One computation at a time, reused for this long, bounds the database's work whatever the
 * number of people watching.
 */
const REUSE_MS = 5_000;

async function fragment(deps: ConsoleDeps): Promise<Html> {
  const url = deps.settings.engineMetricsUrl;
  const slaMs = deps.settings.reviewSlaMs;
  const [stats, queue, engine] = await Promise.all([
    overviewStats(deps.pool),
    queueCounts(deps.pool, slaMs),
    fetchEngineInfo(url),
  ]);
  return overviewFragment(stats, { ...queue, slaMs }, engine, url);
}

/** `compute` shared by concurrent callers and reused for `reuseMs` after it settles; a failure is not kept. */
export function sharedFor<T>(reuseMs: number, compute: () => Promise<T>, now = Date.now): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | null = null;
  return () => {
    if (last && now() - last.at < reuseMs) return last.value;
    const value = compute();
    const entry = { at: Number.POSITIVE_INFINITY, value };
    last = entry;
    value.then(
      () => {
        entry.at = now();
      },
      () => {
        if (last === entry) last = null;
      },
    );
    return value;
  };
}

export function overviewRoutes(app: FastifyInstance, deps: ConsoleDeps): void {
  const current = sharedFor(REUSE_MS, () => fragment(deps));
  app.get('/', async (req, reply) => {
    const body = html`<div id="overview" data-refresh="/overview/fragment" data-every="${REFRESH_MS}">
      ${await current()}
    </div>`;
    return reply.type('text/html').send(page({ title: 'Overview', session: req.auth, active: 'overview', body }).value);
  });
  app.get('/overview/fragment', async (_req, reply) =>
    reply
      .type('text/html')
      .header('cache-control', 'no-store')
      .send((await current()).value),
  );
}
