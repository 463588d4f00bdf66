/**
 * Server-Timing for a page: how long its queries and its rendering took, in the response
 * header (browsers show it in their network panel; the bench script reads it), so a slow page
 * says where its time went.
 */
import type { FastifyReply } from 'fastify';

export class ServerTiming {
  private readonly t0 = performance.now();
  private readonly parts: string[] = [];

  /** Runs `fn`, recording its duration as `name`. */
  async time<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      this.parts.push(`${name};dur=${(performance.now() - t).toFixed(1)}`);
    }
  }

  /** Sets the header (every part, and `total` since construction) on the reply. */
  apply(reply: FastifyReply): FastifyReply {
    const total = `total;dur=${(performance.now() - this.t0).toFixed(1)}`;
    return reply.header('Server-Timing', [...this.parts, total].join(', '));
  }
}
