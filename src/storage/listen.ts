/**
 * A PostgreSQL LISTEN that comes back: a dedicated connection listening on one channel, reconnected
 * with a capped backoff when it is lost (the caller polls meanwhile), and told again when it is back
 * (whatever happened while it was not listening). For the engine's hot reloads (model versions).
 */
import pg from 'pg';
import type { Logger } from 'pino';
import type { EngineConfig } from '../config/config.js';
import { pgSsl } from './pool.js';

export interface Listener {
  stop(): Promise<void>;
}

/**
 * LISTENs on `channel`; `onNotify` runs on every notification and after every (re)connection.
 * Resolves once the first attempt is over (listening, or retrying in the background); never rejects.
 */
export async function listenWithRetry(
  postgres: EngineConfig['postgres'],
  o: { channel: string; applicationName: string; log: Logger; onNotify: () => void },
): Promise<Listener> {
  if (!/^[a-z_][a-z0-9_]*$/.test(o.channel)) throw new Error(`bad LISTEN channel '${o.channel}'`);
  let stopped = false;
  let attempts = 0;
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;

  const connect = async (): Promise<void> => {
    if (stopped) return;
    const c = new pg.Client({
      connectionString: postgres.url,
      ...pgSsl(postgres),
      application_name: o.applicationName,
      connectionTimeoutMillis: 3_000,
      keepAlive: true,
    });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (client === c) client = null;
      c.end().catch(() => undefined);
      if (stopped) return;
      if (err) o.log.debug({ err, channel: o.channel }, 'LISTEN connection lost; polling meanwhile');
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempts++, 6));
      retry = setTimeout(() => void connect(), delay);
      retry.unref();
    };
    c.on('error', onLost);
    c.on('end', () => onLost());
    c.on('notification', (n) => {
      if (n.channel === o.channel) o.onNotify();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${o.channel}`);
    } catch (err) {
      onLost(err as Error);
      return;
    }
    if (stopped) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    attempts = 0;
    o.onNotify();
  };
  await connect();

  return {
    async stop() {
      stopped = true;
      if (retry) clearTimeout(retry);
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}
