/** The overview page (`/`). */
import type { FastifyInstance } from 'fastify';
import type { ConsoleDeps } from '../deps.js';
import { html } from '../html.js';
import { page } from '../layout.js';

export function overviewRoutes(app: FastifyInstance, _deps: ConsoleDeps): void {
  app.get('/', async (req, reply) =>
    reply
      .type('text/html')
      .send(
        page({ title: 'Overview', session: req.auth, active: 'overview', body: html`<p class="muted">Signed in.</p>` })
          .value,
      ),
  );
}
